"""A REST system's webhook, all the way: signed POST -> inbox -> worker -> CRM, exactly once.

The API of our own holds the customer; its webhook carries only the id (a thin event), so the
worker fetches the record in one batched call before applying it through the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.load import load_config
from config.models import Config
from connectors.rest import RestConnector
from connectors.webhooks import WebhookOptions, sign
from store import Store
from syncd.engine import build_spec
from syncd.engine.events import drain_inbox
from syncd.http.app import create_app
from tests.connectors.rest.server import TOKEN, Server
from tests.http._client import AsgiClient

SECRET = "whsec-0123456789abcdef"

CONFIG = """
connectors:
  shop:
    type: rest
    base_url: "${SHOP_URL}"
    auth: {type: bearer, token: "${SHOP_TOKEN}"}
    webhook:
      secret: "${SHOP_WEBHOOK_SECRET}"
      signature: hmac-sha256-hex
      header: X-Signature
      delivery_id_header: X-Delivery
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
    match: {crm: email, external: email}
    fields:
      - {crm: email, external: email, transform: lowercase}
      - {crm: firstname, external: first_name}
"""


@pytest.fixture
def config(api: Server, tmp_path: Path) -> Config:
    api.state.auth = "bearer"
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG)
    env = {"SHOP_URL": api.url, "SHOP_TOKEN": TOKEN, "SHOP_WEBHOOK_SECRET": SECRET}
    return load_config(path, env=env)


@pytest.fixture
def connector(config: Config) -> Iterator[RestConnector]:
    from syncd.engine import build_connector

    built = build_connector(config, "shop")
    assert isinstance(built, RestConnector)
    yield built
    built.close()


def _post(client: AsgiClient, body: bytes, delivery: str) -> int:
    options = WebhookOptions.model_validate({"secret": SECRET, "header": "X-Signature"})
    now = datetime.now(UTC)
    headers = sign(options, method="POST", url="/webhooks/shop", body=body, now=now)
    headers |= {"X-Delivery": delivery, "Content-Type": "application/json"}
    return client.post("/webhooks/shop", content=body, headers=headers).status_code


def test_a_signed_thin_event_is_applied_once(
    config: Config, connector: RestConnector, store: Store, api: Server
) -> None:
    cy = api.state.add(email="Cy@x.io", first_name="Cy")
    client = AsgiClient(create_app(config, store, connectors={"shop": connector}))
    body = json.dumps({"object": "customers", "id": str(cy["id"])}).encode()

    assert _post(client, body, "d-1") == 200
    assert _post(client, body, "d-1") == 200  # the sender retried: acknowledged, not stored
    assert store.inbox_depth("shop-customers") == 1

    spec = build_spec(config, config.syncs["shop-customers"])
    summary = drain_inbox(spec, connector, store)
    assert summary.get("inbound.created") == 1
    assert store.find_record("contacts", "email", "cy@x.io").properties["firstname"] == "Cy"
    assert store.inbox_depth("shop-customers") == 0
    assert drain_inbox(spec, connector, store).crm_writes == 0

    # A forged one stores nothing.
    bad = client.post(
        "/webhooks/shop", content=body, headers={"X-Signature": "00" * 32, "X-Delivery": "d-2"}
    )
    assert bad.status_code == 401
    assert store.inbox_depth("shop-customers") == 0
