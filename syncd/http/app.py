"""The starlette application the daemon serves: webhook receivers, health, the CRM API and
the operators' console (``/console``, ``syncd.console``).

Built from the loaded configuration and an open store; connectors are the ones the daemon
already holds (``connectors=``) or are built from the configuration on first use and closed
when the application shuts down. The HubSpot-compatible API (``syncd.api``) is mounted last
and only for its own paths, so every other path keeps its own answers (a GET on a webhook is
still a 405, an unknown path a plain 404).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match, Mount, Route
from starlette.types import Scope

from config.models import ApiConfig, Config
from connectors.base import Connector
from store import Store, utcnow
from syncd.api import API_PREFIXES, ApiSettings, create_api
from syncd.console import Console, create_console
from syncd.http.webhooks import CurrentState, WebhookReceiver

__all__ = ["api_settings", "create_app"]

_API_PATHS = (*API_PREFIXES, "/openapi.json")


def api_settings(config: ApiConfig) -> ApiSettings:
    """The ``api:`` section as the API's settings (``config`` may not import ``syncd``)."""
    return ApiSettings(
        enabled=config.enabled,
        rate_limit_max=config.rate_limit.max,
        rate_limit_interval_ms=config.rate_limit.interval_ms,
        max_body_bytes=config.max_body_bytes,
    )


class _ApiMount(Mount):
    """The API at the root, claiming only its own paths (``/crm/...``, ``/openapi.json``)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and (path.startswith(API_PREFIXES) or path in _API_PATHS):
            return super().matches(scope)
        return Match.NONE, {}


async def _to_console(_request: Request) -> Response:
    return RedirectResponse("/console/", status_code=307)


async def _healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(
    config: Config,
    store: Store,
    *,
    connectors: Mapping[str, Connector] | None = None,
    clock: Callable[[], datetime] = utcnow,
    observe_webhook: Callable[[str, float, int], None] | None = None,
    metrics: Callable[[], tuple[bytes, str]] | None = None,
    not_ready: Callable[[], str | None] | None = None,
    current: CurrentState | None = None,
) -> Starlette:
    """``POST /webhooks/{connector}``, ``GET /healthz``, and for the daemon ``/readyz`` and
    ``/metrics``.

    The API is served too when ``config.api.enabled``.
    ``clock`` is what signature timestamps are checked against (tests move it);
    ``observe_webhook(connector, seconds, status)`` times each webhook to its answer;
    ``metrics()`` renders the Prometheus exposition; ``not_ready()`` says why the daemon
    cannot serve (None when it can); ``current()`` returns the configuration and connectors
    in force now (the daemon's, replaced by a reload), read by every webhook request.
    """
    receiver = WebhookReceiver(config, store, connectors=connectors, clock=clock, current=current)

    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        answer = await receiver.receive(request)
        if observe_webhook is not None:
            name = str(request.path_params["connector"])[:200]
            observe_webhook(name, time.perf_counter() - started, answer.status_code)
        return answer

    async def readyz(_request: Request) -> JSONResponse:
        reason = await run_in_threadpool(not_ready) if not_ready is not None else None
        if reason:
            return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_route(_request: Request) -> Response:
        if metrics is None:
            return JSONResponse({"error": "metrics are not enabled"}, status_code=404)
        body, content_type = await run_in_threadpool(metrics)
        return Response(body, media_type=content_type)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            receiver.close()

    routes: list[Route | Mount] = [
        Route("/webhooks/{connector}", webhook, methods=["POST"]),
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
    ]
    if config.api.enabled and config.console.enabled:
        # The console signs in with the API's tokens: off with the API, or on its own.
        console = Console(
            store,
            (lambda: current()[0]) if current is not None else (lambda: config),
            session_hours=config.console.session_hours,
        )
        routes.append(Route("/console", _to_console, methods=["GET", "HEAD"]))
        routes.append(Mount("/console", app=create_console(console)))
    if config.api.enabled:
        routes.append(_ApiMount("/", app=create_api(store, api_settings(config.api))))
    return Starlette(routes=routes, lifespan=lifespan)
