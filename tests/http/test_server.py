"""The webhook route behind a real uvicorn server on 127.0.0.1, over a real socket."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from connectors.webhooks import WebhookOptions, sign
from store import Store
from syncd.http import create_app
from tests._live import serving
from tests.http._fakes import body, hook_config, register_hook


@pytest.fixture
def server(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    register_hook(monkeypatch)
    config = hook_config(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(config, store)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on", ws="none")
    )
    with serving(server, timeout=10):
        yield f"http://127.0.0.1:{port}"


def test_a_signed_webhook_over_a_real_socket_is_stored(
    server: str, store: Store, tmp_path: Path
) -> None:
    config = hook_config(tmp_path)
    options = getattr(config.connectors["shop"].options, "webhook", None)
    assert isinstance(options, WebhookOptions)
    payload = body({"object": "customers", "id": "c1"}, {"object": "customers", "id": "c2"})
    url = f"{server}/webhooks/shop"
    headers = {
        **sign(options, method="POST", url=url, body=payload, now=datetime.now(UTC)),
        "X-Delivery": "real-1",
    }
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{server}/healthz").json() == {"status": "ok"}
        first = client.post(url, content=payload, headers=headers)
        again = client.post(url, content=payload, headers=headers)
        forged = client.post(url, content=payload, headers={"X-Signature": "00" * 32})
        huge = client.post(url, content=b"x" * 2_000_000, headers=headers)
    assert first.status_code == 200
    assert first.json() == {"received": 2, "new": 2, "ignored": 0}
    assert again.json()["new"] == 0
    assert forged.status_code == 401
    assert huge.status_code == 413
    assert store.inbox_depth("shop-customers") == 2
