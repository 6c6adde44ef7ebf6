"""No secret in any log line: a daemon with a bearer token and a webhook secret, doing its
work and failing in the ways that produce messages (a forged webhook, refused credentials)."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from connectors.webhooks import WebhookOptions, sign
from store import Store
from syncd.daemon import Daemon, DaemonOptions
from tests.connectors.rest.server import TOKEN, Server

WEBHOOK_SECRET = "whsec-never-log-me-0123456789"

CONFIG = """
server: {listen: "127.0.0.1:%(port)d"}
connectors:
  shop:
    type: rest
    base_url: "%(url)s"
    auth: {type: bearer, token: "${SHOP_TOKEN}"}
    webhook: {secret: "${SHOP_WEBHOOK_SECRET}", signature: hmac-sha256-hex, header: X-Signature}
    objects:
      customers:
        path: /api/cursor/customers
        records_path: data
        paging: {type: cursor, param: cursor, next_path: meta.next}
        updated_since_param: updated_since
        create: {method: POST, path: /api/customers}
        update: {method: PATCH, path: "/api/customers/{id}"}
syncs:
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    schedule: {every: 0.3}
    match: {crm: email, external: email}
    fields:
      - {crm: email, external: email, transform: lowercase}
      - {crm: firstname, external: first_name}
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_token_or_webhook_secret_in_any_log_line(
    db_url: str, store: Store, api: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.state.auth = "bearer"
    api.state.add(email="ada@x.io", first_name="Ada")
    port = _port()
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG % {"port": port, "url": api.url})
    monkeypatch.setenv("SHOP_TOKEN", TOKEN)
    monkeypatch.setenv("SHOP_WEBHOOK_SECRET", WEBHOOK_SECRET)
    try:
        with capture_logs() as events:
            daemon = Daemon(
                path,
                db_url=db_url,
                options=DaemonOptions(listen=f"127.0.0.1:{port}", lease_seconds=5),
            )
            daemon.start()
            try:
                daemon.wait_until_serving()
                assert daemon.when(lambda: store.count_links("shop-customers") == 1, 10)
                base = f"http://127.0.0.1:{port}/webhooks/shop"
                body = json.dumps({"object": "customers", "id": "1"}).encode()
                forged = httpx.post(base, content=body, headers={"X-Signature": "ab" * 32})
                assert forged.status_code == 401
                options = WebhookOptions.model_validate(
                    {"secret": WEBHOOK_SECRET, "header": "X-Signature"}
                )
                good = sign(options, method="POST", url=base, body=body, now=datetime.now(UTC))
                assert httpx.post(base, content=body, headers=good).status_code == 200
                # The token stops working: the sync pauses, and says so in the log.
                api.state.auth = "oauth2"
                assert daemon.when(lambda: store.sync_state("shop-customers").paused, 10)
            finally:
                daemon.stop()
    finally:
        structlog.reset_defaults()
    text = "\n".join(json.dumps(e, default=str) for e in events)
    assert "webhook_refused" in text and "sync_paused" in text  # the lines that could leak
    assert TOKEN not in text
    assert WEBHOOK_SECRET not in text
    # Sync lines carry the sync and run they belong to.
    finished = [e for e in events if e.get("event") == "sync_finished"]
    assert finished and all(e.get("sync") == "shop-customers" and e.get("run") for e in finished)
