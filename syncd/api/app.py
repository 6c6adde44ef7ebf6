"""The HubSpot-compatible CRM API as one FastAPI application over the store.

FastAPI because the request models that validate bodies before anything is written are also
what ``/openapi.json`` is generated from, so the published document cannot drift from what the
server accepts. The guard middleware answers 401/403/413/429 before routing, so a request
without a valid token touches nothing.
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from store import Store
from syncd.api import associations, objects, properties, schemas
from syncd.api.context import STORE_STATE, ApiSettings
from syncd.api.correlation import CorrelationId
from syncd.api.errors import install_error_handlers
from syncd.api.guard import ApiGuard

__all__ = ["API_PREFIXES", "ApiApp", "build_routes", "create_api"]

# The paths the guard protects; everything else (webhooks, health) is not the API's.
API_PREFIXES = ("/crm/", "/crm-object-schemas/")


class ApiApp:
    """The API over one store: the guard and the correlation id in front of the routes.

    The routes are one FastAPI application per process (``_routes``), shared by every
    ``ApiApp``: FastAPI builds each route's validators (a few hundred pydantic adapters) on
    an application's first request, about a second of CPU, which a test suite that makes an
    API per test paid per test. The store travels in the request's state instead of in the
    application's (``api_store``).
    """

    def __init__(
        self, store: Store, settings: ApiSettings, routes_app: FastAPI | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.routes_app = routes_app or _routes()
        self.router = self.routes_app.router
        guarded = ApiGuard(
            _WithStore(self.routes_app, store),
            store=store,
            settings=settings,
            prefixes=API_PREFIXES,
            routes=self.router.routes,
        )
        self._app: ASGIApp = CorrelationId(guarded)  # outermost: the guard's refusals carry it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    @property
    def routes(self) -> list[BaseRoute]:
        return self.router.routes

    def openapi(self) -> dict[str, Any]:
        return self.routes_app.openapi()


class _WithStore:
    """Puts the API's store in each request's state, where ``api_store`` finds it."""

    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("state", {})[STORE_STATE] = self.store
        await self.app(scope, receive, send)


def create_api(store: Store, settings: ApiSettings | None = None) -> ApiApp:
    """The API application; the daemon mounts its routes beside webhooks and health."""
    return ApiApp(store, settings or ApiSettings())


def build_routes(*extra: APIRouter) -> FastAPI:
    """Every route of the API (and ``extra`` routers after them) with its error handlers.

    ``create_api`` builds it once per process; the guard's tests add probe routes.
    """
    app = FastAPI(
        title="syncd CRM API",
        version="3",
        description="HubSpot-compatible CRM API over the syncd record store.",
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in (objects.router, properties.router, schemas.router, associations.router, *extra):
        app.include_router(router)

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


_routes = functools.cache(build_routes)


def _drop_unused_validation_responses(document: dict[str, Any]) -> None:
    """FastAPI documents a 422 for every body; we answer 400 in HubSpot's shape instead."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
