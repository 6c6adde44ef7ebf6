"""The starlette application the daemon serves: webhook receivers and a health check.

Built from the loaded configuration and an open store; connectors are the ones the daemon
already holds (``connectors=``) or are built from the configuration on first use and closed
when the application shuts down.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from config.models import Config
from connectors.base import Connector
from store import Store
from store.types import utcnow
from syncd.http.webhooks import WebhookReceiver

__all__ = ["create_app"]


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
) -> Starlette:
    """``POST /webhooks/{connector}``, ``GET /healthz``, and for the daemon ``/readyz`` and
    ``/metrics``.

    ``clock`` is what signature timestamps are checked against (tests move it);
    ``observe_webhook(connector, seconds, status)`` times each webhook to its answer;
    ``metrics()`` renders the Prometheus exposition; ``not_ready()`` says why the daemon
    cannot serve (None when it can).
    """
    receiver = WebhookReceiver(config, store, connectors=connectors, clock=clock)

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

    return Starlette(
        routes=[
            Route("/webhooks/{connector}", webhook, methods=["POST"]),
            Route("/healthz", _healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_route, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
