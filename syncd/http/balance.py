"""Even keep-alive connections out across the HTTP processes (``server.workers`` > 1).

The kernel hands a new connection to whichever process accepts first, and a process accepts
every connection waiting when it wakes. Clients that open their connections together (an
integration starting its pool, a load balancer) therefore land unevenly, and keep-alive keeps
them there: under the 50-client API load, one process held 32 connections and the other 18,
so the first one's clients waited twice as long (median 240 ms against 115) while the second
one's core sat partly idle.

Each process writes how many connections it holds into shared memory (``ConnectionCounts``).
A process holding more than its share answers one request with ``Connection: close`` (at
most one per ``HAND_OVER_PAUSE``): the client reconnects, and the connection usually goes to
a less busy process, the one waiting in ``accept``. Every HTTP client reconnects after
``Connection: close``; the answer itself is complete, so nothing is lost or repeated.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HAND_OVER_PAUSE",
    "ConnectionCounts",
    "ConnectionSeat",
    "HandOverExtraConnections",
    "over_share",
]

#: Seconds between two hand-overs by one process: time for the client to reconnect and for
#: the counts to show where it went, so one imbalance is not answered twice.
HAND_OVER_PAUSE = 0.1

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def over_share(own: int, counts: list[int]) -> bool:
    """Whether a process holding ``own`` connections, where every process's count (its own
    included) is ``counts``, holds more than its share and should hand one over."""
    if len(counts) < 2:
        return False
    return own > math.ceil(sum(counts) / len(counts))


class ConnectionCounts:
    """Open connections per HTTP process, in memory the processes share. Made by the process
    that starts the others and handed to them when they start (it pickles only then)."""

    def __init__(self, processes: int) -> None:
        self._counts = multiprocessing.get_context("spawn").RawArray("i", processes)

    def seat(self, index: int) -> ConnectionSeat:
        """The process ``index``'s place (0 is the one that starts the others)."""
        return ConnectionSeat(self._counts, index)


@dataclass(frozen=True)
class ConnectionSeat:
    """One process's slot in the shared counts: it writes its own and reads all of them."""

    counts: Any  # a multiprocessing RawArray of int
    index: int

    def publish(self, own: int) -> list[int]:
        """Write this process's count; every process's count as last written."""
        self.counts[self.index] = own
        return list(self.counts)


class HandOverExtraConnections:
    """ASGI middleware: answers one request with ``Connection: close`` when this process holds
    more than its share of the connections (see the module's docstring)."""

    def __init__(
        self,
        app: App,
        seat: ConnectionSeat,
        open_connections: Callable[[], int],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self._seat = seat
        self._open_connections = open_connections
        self._clock = clock
        self._last_hand_over = -math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._hand_over_now():
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)

    def _hand_over_now(self) -> bool:
        own = self._open_connections()
        counts = self._seat.publish(own)
        now = self._clock()
        if now - self._last_hand_over < HAND_OVER_PAUSE or not over_share(own, counts):
            return False
        self._last_hand_over = now
        return True
