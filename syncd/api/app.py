"""The HubSpot-compatible CRM API as one FastAPI application over the store.

FastAPI because the request models that validate bodies before anything is written are also
what ``/openapi.json`` is generated from, so the published document cannot drift from what the
server accepts. The guard middleware answers 401/403/413/429 before routing, so a request
without a valid token touches nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from store import Store
from syncd.api import associations, objects, properties, schemas
from syncd.api.context import ApiSettings
from syncd.api.correlation import CorrelationId
from syncd.api.errors import install_error_handlers
from syncd.api.guard import ApiGuard

__all__ = ["API_PREFIXES", "create_api"]

# The paths the guard protects; everything else (webhooks, health) is not the API's.
API_PREFIXES = ("/crm/", "/crm-object-schemas/")


def create_api(store: Store, settings: ApiSettings | None = None) -> FastAPI:
    """The API application; the daemon mounts its routes beside webhooks and health."""
    settings = settings or ApiSettings()
    app = FastAPI(
        title="syncd CRM API",
        version="3",
        description="HubSpot-compatible CRM API over the syncd record store.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.api_settings = settings
    install_error_handlers(app)
    for module in (objects, properties, schemas, associations):
        app.include_router(module.router)
    app.add_middleware(
        ApiGuard, store=store, settings=settings, prefixes=API_PREFIXES, routes=app.router.routes
    )
    app.add_middleware(CorrelationId)  # added last: outermost, so the guard's refusals carry it

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = document.setdefault("components", {})
            components.setdefault("securitySchemes", {})["bearer"] = {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from `syncd tokens create NAME`.",
            }
            document["security"] = [{"bearer": []}]
            _drop_unused_validation_responses(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _drop_unused_validation_responses(document: dict[str, Any]) -> None:
    """FastAPI documents a 422 for every body; we answer 400 in HubSpot's shape instead."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
