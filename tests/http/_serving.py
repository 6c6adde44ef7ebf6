"""A uvicorn server run in a thread of the test process, for tests over a real socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn


@contextmanager
def serving(
    server: uvicorn.Server, sockets: list[socket.socket] | None = None, *, timeout: float = 30
) -> Iterator[None]:
    """``server`` accepting (on ``sockets``, else on its configured port) until the block ends."""
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout)
