"""The API behind a real uvicorn server on 127.0.0.1, with a read-write token ready."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from store import Store
from syncd.api import ApiSettings, create_api


@dataclass
class Api:
    """A running API: its base URL, a client carrying a read-write token, and the store."""

    url: str
    client: httpx.Client
    store: Store
    token: str


def serve(app: object) -> tuple[uvicorn.Server, threading.Thread, str]:
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
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def make_token(store: Store, name: str = "tester", scopes: tuple[str, ...] = ("write",)) -> str:
    create = getattr(store, "create_api_token", None)
    if create is None:  # tokens not built yet: the placeholder guard trusts any token
        return name
    _info, secret = create(name, scopes)
    return str(secret)


@pytest.fixture
def api_settings() -> ApiSettings:
    return ApiSettings()


@contextmanager
def running_api(store: Store, settings: ApiSettings) -> Iterator[Api]:
    """The API on ``store`` served on 127.0.0.1 until the block ends, with a read-write token."""
    server, thread, url = serve(create_api(store, settings))
    token = make_token(store)
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    try:
        yield Api(url, client, store, token)
    finally:
        client.close()
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def api(store: Store, api_settings: ApiSettings) -> Iterator[Api]:
    with running_api(store, api_settings) as running:
        yield running
