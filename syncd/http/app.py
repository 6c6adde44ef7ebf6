"""The starlette application the daemon serves: webhook receivers and a health check.

Built from the loaded configuration and an open store; connectors are the ones the daemon
already holds (``connectors=``) or are built from the configuration on first use and closed
when the application shuts down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
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
) -> Starlette:
    """``POST /webhooks/{connector}`` and ``GET /healthz``.

    ``clock`` is what signature timestamps are checked against (tests move it).
    """
    receiver = WebhookReceiver(config, store, connectors=connectors, clock=clock)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            receiver.close()

    return Starlette(
        routes=[
            Route("/webhooks/{connector}", receiver.receive, methods=["POST"]),
            Route("/healthz", _healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
