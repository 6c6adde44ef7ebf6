"""``server.threads``: how many requests one HTTP process runs at once (``syncd.http.threads``).

A real uvicorn server on 127.0.0.1 made by ``make_server``, a synchronous route (as the API's
are) that records how many of it run at the same moment, and more concurrent clients than
threads: the rest wait, and every one is answered.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from syncd.http.workers import bind, make_server
from tests._live import serving


class _Gauge:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def work(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)  # a request's database round trips
        with self.lock:
            self.now -= 1


def _serve(gauge: _Gauge, threads: int) -> Iterator[str]:
    async def route(_request: Request) -> PlainTextResponse:
        await run_in_threadpool(gauge.work)
        return PlainTextResponse("done")

    app = Starlette(routes=[Route("/", route)])
    sock = bind("127.0.0.1", 0)
    server = make_server(app, threads=threads, log_config=None, access_log=False, ws="none")
    with sock, serving(server, [sock], timeout=30):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def _many(url: str, clients: int) -> list[str]:
    async def one() -> str:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            answer = await http.get("/")
            assert answer.status_code == 200
            return answer.text

    return await asyncio.gather(*(one() for _ in range(clients)))


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_no_more_requests_run_at_once_than_threads_and_the_rest_wait(threads: int) -> None:
    gauge = _Gauge()
    for url in _serve(gauge, threads):
        answers = asyncio.run(_many(url, 12))
        assert answers == ["done"] * 12  # nobody turned away
    assert gauge.most == threads
