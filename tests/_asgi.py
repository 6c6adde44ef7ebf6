"""A synchronous httpx transport that calls an ASGI application in-process.

Most API tests are about what the application answers, not about sockets: going through
uvicorn cost a server start and stop per test and two event loops and a TCP round trip per
request. This transport hands the request to the application directly, on an event loop of
its own in the calling thread, so tests keep their synchronous ``httpx.Client`` and their
assertions. Starlette's ``TestClient`` would do the same, but it warns that its httpx backend
is deprecated, and the suite turns warnings into errors.

Where the socket is the point (the guard reading raw bytes, HubSpot's own client, many
concurrent clients), tests use a real server instead: see ``tests/_live.py``.
"""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import ASGIApp

__all__ = ["AsgiTransport", "asgi_client"]


class AsgiTransport(httpx.BaseTransport):
    """Sends each request to ``app`` and reads the whole answer before returning it.

    Exceptions the application raises become a 500 answer, as behind a real server.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._runner = asyncio.Runner()
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> tuple[int, httpx.Headers, bytes]:
            # The async transport needs an async body: the same bytes, in a new request.
            forwarded = httpx.Request(
                request.method,
                request.url,
                headers=request.headers,
                content=body,
                extensions=request.extensions,
            )
            answer = await self._inner.handle_async_request(forwarded)
            assert isinstance(answer.stream, httpx.AsyncByteStream)
            raw = b"".join([chunk async for chunk in answer.stream])
            return answer.status_code, answer.headers, raw

        status, headers, raw = self._runner.run(send())
        # The raw (still encoded) bytes: the client decodes them as it would off a socket.
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(raw))

    def close(self) -> None:
        self._runner.close()


def asgi_client(app: ASGIApp, **options: object) -> httpx.Client:
    """An ``httpx.Client`` whose requests go to ``app`` in-process (base URL testserver)."""
    return httpx.Client(
        transport=AsgiTransport(app),
        base_url="http://testserver",
        **options,  # type: ignore[arg-type]
    )
