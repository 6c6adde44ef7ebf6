"""The API with a read-write token ready: called in-process, on a real socket when asked.

``api.client`` hands requests to the application directly (``tests/_asgi.py``): no server,
no socket. ``api.url`` mounts the same application on one of the session's real uvicorn
servers (``tests/_live.py``) the first time a test asks for it, for the tests where the
socket is the point: the guard's raw requests, HubSpot's own clients, concurrent clients.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.types import ASGIApp

from store import Store
from syncd.api import ApiSettings, create_api
from tests._asgi import asgi_client
from tests._live import LiveServers, serve

__all__ = ["Api", "make_token", "running_api", "serve"]


@dataclass
class Api:
    """The API under test: an in-process client carrying a read-write token, and the store."""

    client: httpx.Client
    store: Store
    token: str
    app: ASGIApp
    servers: LiveServers
    _url: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The base URL of a real server for this test's application (mounted on first use)."""
        if self._url is None:
            self._url = self.servers.mount(self.app)
        return self._url

    def close(self) -> None:
        self.client.close()
        if self._url is not None:
            self.servers.unmount(self._url)
            self._url = None


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
def running_api(
    store: Store, settings: ApiSettings, servers: LiveServers | None = None
) -> Iterator[Api]:
    """The API on ``store`` until the block ends, with a read-write token.

    ``api.url`` is served by one of ``servers`` (the session's ``live_servers``), or, without
    them, by a server of the block's own, stopped at its end.
    """
    own = servers is None
    lender = LiveServers() if servers is None else servers
    app = create_api(store, settings)
    token = make_token(store)
    client = asgi_client(app, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    running = Api(client, store, token, app, lender)
    try:
        yield running
    finally:
        running.close()
        if own:
            lender.close()


@pytest.fixture
def api(store: Store, api_settings: ApiSettings, live_servers: LiveServers) -> Iterator[Api]:
    with running_api(store, api_settings, live_servers) as running:
        yield running
