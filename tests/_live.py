"""Real uvicorn servers on 127.0.0.1, started once per test session and lent to tests.

Some tests need a real socket: the guard reading raw bytes, HubSpot's own Python client,
fifty concurrent clients, the HubSpot connector talking to syncd's API as to HubSpot. Starting
uvicorn for each of them cost about a third of a second per test (start, and a stop that waits
for the server's tick); here a server is started the first time it is needed and then kept.
A test *mounts* its application and gets the server's URL; at its end it gives the server
back, and the next test mounts its own application on it. Two applications mounted at once
(a test with two peers) get two servers.

The servers answer the lifespan protocol themselves: applications mounted here must not need
their lifespan (the API's do not). Applications that do, like the daemon's, use ``serve``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["LiveServers", "serve", "serving", "start"]


def serve(app: object) -> tuple[uvicorn.Server, threading.Thread, str]:
    """A uvicorn server for ``app`` alone, on a free port, started on a daemon thread."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            ws="none",
            access_log=False,
        )
    )
    return server, start(server), f"http://127.0.0.1:{port}"


def start(
    server: uvicorn.Server, sockets: list[socket.socket] | None = None, *, timeout: float = 10
) -> threading.Thread:
    """Run ``server`` on a daemon thread (on ``sockets``, else on its configured port) and
    return once it accepts."""
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return thread


@contextmanager
def serving(
    server: uvicorn.Server, sockets: list[socket.socket] | None = None, *, timeout: float = 10
) -> Iterator[None]:
    """``server`` accepting until the block ends (``start``, then stopped)."""
    thread = start(server, sockets, timeout=timeout)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout)


class _Slot:
    """One running server and the application it currently hands requests to."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.server, self.thread, self.url = serve(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].removeprefix("lifespan.")
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        app = self.app
        if app is None:  # a request left over from a test that has ended
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"no application mounted"})
            return
        await app(scope, receive, send)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class LiveServers:
    """The session's servers: ``mount`` lends one to an application, ``unmount`` takes it back."""

    _free: list[_Slot] = field(default_factory=list)
    _lent: dict[str, _Slot] = field(default_factory=dict)

    def mount(self, app: ASGIApp) -> str:
        """Serve ``app`` until ``unmount``; returns the base URL, ``http://127.0.0.1:PORT``."""
        slot = self._free.pop() if self._free else _Slot()
        slot.app = app
        self._lent[slot.url] = slot
        return slot.url

    def unmount(self, url: str) -> None:
        slot = self._lent.pop(url)
        slot.app = None
        self._free.append(slot)

    def close(self) -> None:
        for slot in [*self._free, *self._lent.values()]:
            slot.stop()
        self._free.clear()
        self._lent.clear()
