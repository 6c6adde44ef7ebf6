"""Keep-alive connections evened out across the HTTP processes (``syncd.http.balance``).

The decision is pure (``over_share``) and the middleware is driven as ASGI here; the real
thing, connections that all landed on one process moving to the other one, is
``test_connections_that_landed_on_one_process_spread_to_the_other`` (two processes on one
socket, real uvicorn, real keep-alive clients).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from syncd.http.balance import (
    HAND_OVER_PAUSE,
    ConnectionCounts,
    HandOverExtraConnections,
    over_share,
)
from syncd.http.workers import ServerWorkers, bind, make_server, serve_on
from tests._live import serving


@pytest.mark.parametrize(
    ("own", "counts", "expected"),
    [
        (26, [26, 24], True),  # 50 over two: a share of 25 each
        (27, [27, 23], True),
        (32, [32, 18], True),
        (25, [25, 25], False),
        (26, [26, 25], False),  # 51: a share of 26
        (5, [5], False),  # one process has nothing to hand over to
        (1, [1, 0], False),
        (2, [2, 0], True),
        (0, [0, 0, 0], False),
        (9, [9, 0, 3], True),
    ],
)
def test_a_process_hands_over_only_what_is_beyond_its_share(
    own: int, counts: list[int], expected: bool
) -> None:
    assert over_share(own, counts) is expected


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"Connection", b"keep-alive")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _call(app: Any, kind: str = "http") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app({"type": kind, "headers": []}, receive, send)
    return sent


def _connection_header(sent: list[dict[str, Any]]) -> list[bytes]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    return [v for k, v in start["headers"] if k.lower() == b"connection"]


def test_a_process_over_its_share_asks_one_client_to_reconnect_then_waits() -> None:
    asyncio.run(_over_its_share())


async def _over_its_share() -> None:
    counts = ConnectionCounts(2)
    other, clock = counts.seat(1), _Clock()
    other.publish(18)
    held = {"n": 32}
    app = HandOverExtraConnections(_answer, counts.seat(0), lambda: held["n"], clock=clock)

    first = await _call(app)
    assert _connection_header(first) == [b"close"]  # its own keep-alive header replaced
    assert [m["body"] for m in first if m["type"] == "http.response.body"] == [b"ok"]
    # Within the pause the count has not caught up yet: no second hand-over for it.
    clock.now += HAND_OVER_PAUSE / 2
    assert _connection_header(await _call(app)) == [b"keep-alive"]
    clock.now += HAND_OVER_PAUSE
    assert _connection_header(await _call(app)) == [b"close"]
    # Once even, nobody is asked to go.
    held["n"] = 25
    other.publish(25)
    clock.now += 1
    assert _connection_header(await _call(app)) == [b"keep-alive"]
    assert list(counts.seat(1).publish(25)) == [25, 25]  # what each process last wrote


def test_a_process_within_its_share_and_non_http_scopes_pass_untouched() -> None:
    asyncio.run(_within_its_share())


async def _within_its_share() -> None:
    counts = ConnectionCounts(2)
    counts.seat(1).publish(30)
    app = HandOverExtraConnections(_answer, counts.seat(0), lambda: 20)
    assert _connection_header(await _call(app)) == [b"keep-alive"]
    seen: list[str] = []

    async def lifespan_app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    lonely = HandOverExtraConnections(lifespan_app, counts.seat(0), lambda: 99)
    await _call(lonely, "lifespan")
    assert seen == ["lifespan"]


# ------------------------------------------------------------- two real processes


async def _pid_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})


def _serve_pid(sock: Any, started: Any, seat: Any) -> None:
    serve_on(_pid_app, [sock], started, seat)


def test_connections_that_landed_on_one_process_spread_to_the_other() -> None:
    sock = bind("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    workers = ServerWorkers(sock, 1, _serve_pid)
    server = make_server(
        _pid_app, workers.counts.seat(0), log_config=None, access_log=False, ws="none"
    )
    clients = [httpx.Client(base_url=url, timeout=30) for _ in range(20)]
    try:
        with sock, serving(server, [sock], timeout=30):
            # Every connection opened while this process serves alone: all of them its own.
            first = {client.get("/").text for client in clients}
            assert first == {str(os.getpid())}
            workers.start()
            assert workers.wait_started(60), "the second process did not start"
            answered: Counter[str] = Counter()
            for _ in range(200):  # rounds over every kept connection (it ends once even)
                answered = Counter(client.get("/").text for client in clients)
                if len(answered) == 2 and max(answered.values()) <= 11:
                    break
                time.sleep(HAND_OVER_PAUSE / 2)
            # Both processes serve now, about half each (a share is ceil(20 / 2) = 10).
            assert set(answered) == {str(os.getpid()), *map(str, workers.pids)}, answered
            assert max(answered.values()) <= 11, answered
    finally:
        for client in clients:
            client.close()
        workers.stop()
