"""One correlation id per API request, in the ``X-HubSpot-Correlation-Id`` header and in any
error body, so a user quoting either finds the same line in the server log.

HubSpot sends the header on every answer and client code (and HubSpot's support) asks for it;
the id is made here, outermost, so refusals from the guard and the 500 handler carry it too.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HEADER", "CorrelationId", "correlation_id"]

HEADER = "X-HubSpot-Correlation-Id"

_current: ContextVar[str | None] = ContextVar("syncd_api_correlation_id", default=None)


def correlation_id() -> str:
    """The current request's id; a fresh one outside a request (a body built in a test)."""
    return _current.get() or str(uuid.uuid4())


class CorrelationId:
    """ASGI middleware: a new id per HTTP request, set before anything below runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = str(uuid.uuid4())
        # Left set after the call on purpose: Starlette's 500 handler runs outside this
        # middleware, in the same task, and must report the same id.
        _current.set(value)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[HEADER] = value
            await send(message)

        await self.app(scope, receive, send_with_id)
