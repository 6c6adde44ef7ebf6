"""Errors in HubSpot's body shape, with HubSpot's status codes.

HubSpot's clients decode a response by its status code and read ``category`` and
``errors[].code`` to decide what to do, so every refusal the API makes goes through
``ApiError`` or one of the store errors mapped here; nothing else reaches a client as a 500
except a real defect (logged with its correlation id, never with the request body).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from store import SearchError
from store.errors import (
    BatchError,
    DuplicateError,
    NotFoundError,
    SchemaError,
    StoreError,
    ValidationError,
)
from syncd.api.correlation import HEADER, correlation_id
from syncd.errors import SyncdError

__all__ = [
    "ApiError",
    "error_body",
    "error_detail",
    "error_from_exception",
    "install_error_handlers",
    "validation_code",
]

log = structlog.get_logger("syncd.api")


class ApiError(Exception):
    """A refusal to answer with ``status`` and HubSpot's ``category`` (``VALIDATION_ERROR``...)."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = extra

    def response(self) -> JSONResponse:
        body = error_body(self.message, self.category, errors=self.errors, **self.extra)
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def error_body(
    message: str, category: str, *, errors: Sequence[Mapping[str, Any]] = (), **extra: Any
) -> dict[str, Any]:
    """HubSpot's error document: ``status``, ``message``, ``correlationId``, ``category``..."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
    }
    if errors:
        body["errors"] = list(errors)
    body.update(extra)
    return body


def error_detail(
    message: str,
    code: str,
    *,
    property_name: str | None = None,
    where: str | None = None,
    **context: list[str],
) -> dict[str, Any]:
    """One entry of ``errors[]``: a message, a code, the property or input it is about."""
    entry: dict[str, Any] = {"message": message, "code": code}
    if where is not None:
        entry["in"] = where
    ctx: dict[str, list[str]] = dict(context)
    if property_name is not None:
        ctx["propertyName"] = [property_name]
    if ctx:
        entry["context"] = ctx
    return entry


def validation_code(error: ValidationError) -> str:
    """HubSpot's ``errors[].code`` for a value the store refused, from the rule it broke."""
    rule = error.rule.lower()
    if "option" in rule or "one of" in rule:
        return "INVALID_OPTION"
    if "email" in rule:
        return "INVALID_EMAIL"
    if "number" in rule or "decimal" in rule or "integer" in rule:
        return "INVALID_INTEGER"
    if "date" in rule:
        return "INVALID_DATE"
    if "read-only" in rule or "read only" in rule:
        return "READ_ONLY_VALUE"
    return "INVALID_VALUE"


def error_from_exception(exc: Exception, *, object_label: str = "Object") -> ApiError | None:
    """The ``ApiError`` a store error means to a HubSpot client; None for a defect."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, DuplicateError):
        return ApiError(
            409,
            f"{object_label} already exists. Existing ID: {exc.existing_id}",
            "CONFLICT",
        )
    if isinstance(exc, ValidationError):
        return ApiError(
            400,
            f"Property values were not valid: {exc.message}",
            "VALIDATION_ERROR",
            errors=[
                error_detail(exc.message, validation_code(exc), property_name=exc.property_name)
            ],
        )
    if isinstance(exc, NotFoundError):
        prop = exc.data.get("property")
        if prop is not None:
            return ApiError(
                400,
                f"Property values were not valid: {exc.message}",
                "VALIDATION_ERROR",
                errors=[error_detail(exc.message, "PROPERTY_DOESNT_EXIST", property_name=prop)],
            )
        return ApiError(404, exc.message, "OBJECT_NOT_FOUND")
    if isinstance(exc, SearchError):
        return ApiError(
            400,
            exc.message,
            "VALIDATION_ERROR",
            errors=[error_detail(exc.problem, "INVALID_SEARCH", path=[exc.path])],
        )
    if isinstance(exc, BatchError):
        details = []
        for index, error in exc.failures:
            mapped = error_from_exception(error, object_label=object_label)
            message = mapped.message if mapped else str(error)
            details.append(error_detail(message, "INVALID_INPUT", index=[str(index)]))
        return ApiError(400, exc.message, "VALIDATION_ERROR", errors=details)
    if isinstance(exc, SchemaError):
        if "already" in exc.message:
            return ApiError(409, exc.message, "CONFLICT")
        # HubSpot's 400s always list what was wrong; clients read errors[0].message.
        return ApiError(
            400,
            exc.message,
            "VALIDATION_ERROR",
            errors=[error_detail(exc.message, "INVALID_INPUT")],
        )
    if isinstance(exc, StoreError | SyncdError):
        return ApiError(400, exc.message, "VALIDATION_ERROR")
    return None


def _request_validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = []
    for problem in exc.errors()[:50]:
        where = ".".join(str(p) for p in problem.get("loc", ()))
        details.append(
            error_detail(f"{where}: {problem.get('msg', 'invalid')}", "INVALID_INPUT", where=where)
        )
    first = details[0]["message"] if details else "the request is not valid"
    return ApiError(
        400, f"Invalid input JSON: {first}", "VALIDATION_ERROR", errors=details
    ).response()


def _http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    category = {404: "OBJECT_NOT_FOUND", 405: "VALIDATION_ERROR"}.get(exc.status_code, "ERROR")
    return ApiError(
        exc.status_code, str(exc.detail), category, headers=dict(exc.headers or {})
    ).response()


def _known(_request: Request, exc: Exception) -> Response:
    mapped = error_from_exception(exc)
    if mapped is None:  # pragma: no cover - handlers are only registered for mapped types
        raise exc
    return mapped.response()


def _defect(request: Request, exc: Exception) -> Response:
    body = error_body("internal error; the server log has the details", "INTERNAL_ERROR")
    log.error(
        "api.internal_error",
        correlation_id=body["correlationId"],
        method=request.method,
        path=request.url.path,
        error=type(exc).__name__,
        exc_info=exc,
    )
    # Starlette answers a defect outside the middleware stack: the header is set here.
    return JSONResponse(body, status_code=500, headers={HEADER: body["correlationId"]})


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal in HubSpot's shape; a defect as a 500 with a correlation id."""
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(ApiError, _known)
    app.add_exception_handler(SyncdError, _known)
    app.add_exception_handler(Exception, _defect)
