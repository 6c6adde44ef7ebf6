"""How many requests of one HTTP process run in threads at once.

The API's routes and the store are synchronous, so each request runs in a thread of anyio's
pool, which lets 40 run at once by default. They share one GIL: with 25 keep-alive clients on
a process, 25 threads took turns at it, every database answer meant waiting behind the others'
5 ms slices for the GIL again, and the slowest answers paid that wait at each of their
statements. With a few threads, requests wait their turn in arrival order instead, and each
runs nearly uninterrupted once started. Under the 50-client API load (``bench/api_load.py``,
interleaved runs of 20 s on the 2-core machine, each pair run side by side):

- PostgreSQL, two processes: 4 threads answered 220-232 requests/s with a p99 of 359-394 ms
  where 40 answered 156-172/s with a p99 of 705-753 ms; later, 2 threads 252-287/s
  (293-366 ms) beside 4 threads' 259-317/s (260-300 ms).
- SQLite, one process: 2 threads answered 291-303/s with a p99 of 215-219 ms, 4 threads
  241-261/s (246-268 ms), 40 threads 253-263/s (407-413 ms). With two processes, 2 threads
  answered 530-554/s (p99 166-173 ms) and 4 threads 433-452/s (441-555 ms): their writers
  queue on SQLite's lock across processes.

Two threads still overlap one request's database round trips with another's Python; a store
far away on the network (each statement waiting a round trip) may want more
(``server.threads``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread

from config.models import DEFAULT_SERVER_THREADS

__all__ = ["REQUEST_THREADS", "RequestThreads"]

#: Requests of one process running at once (the rest wait in arrival order).
REQUEST_THREADS = DEFAULT_SERVER_THREADS

Scope = MutableMapping[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]


class RequestThreads:
    """ASGI middleware: sets the event loop's thread limit to ``threads`` on its first call
    (the limit belongs to the running loop, so it cannot be set before the server starts)."""

    def __init__(self, app: App, threads: int = REQUEST_THREADS) -> None:
        self.app = app
        self._threads = threads
        self._set = False

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not self._set:
            anyio.to_thread.current_default_thread_limiter().total_tokens = self._threads
            self._set = True
        await self.app(scope, receive, send)
