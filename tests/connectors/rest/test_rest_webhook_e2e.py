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
from syncd.engine import build_spec, run_sync
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


def _fat(record: dict[str, object]) -> bytes:
    """A webhook carrying the record as the system held it at the time of the event."""
    return json.dumps(
        {"object": "customers", "id": str(record["id"]), "record": dict(record)}
    ).encode()


def _firstname(store: Store, email: str) -> str | None:
    return store.find_record("contacts", "email", email).properties.get("firstname")


def test_a_replayed_or_late_event_never_rolls_a_value_back(
    config: Config, connector: RestConnector, store: Store, api: Server
) -> None:
    """A signed body sent again under a new delivery id (the id header is not signed), and
    deliveries arriving out of order: an event older than what the link saw only makes the
    worker fetch the current record; the newest value stays, and a poll finds nothing to do."""
    client = AsgiClient(create_app(config, store, connectors={"shop": connector}))
    spec = build_spec(config, config.syncs["shop-customers"])
    cy = api.state.add(email="cy@x.io", first_name="One")
    one = _fat(cy)
    two = _fat(api.state.edit(str(cy["id"]), first_name="Two"))

    assert _post(client, two, "d-2") == 200
    drain_inbox(spec, connector, store)
    assert _firstname(store, "cy@x.io") == "Two"

    # The replay: the first body again, signed (a captured request), under a new delivery id.
    assert _post(client, one, "d-1-replayed") == 200
    replayed = drain_inbox(spec, connector, store)
    assert _firstname(store, "cy@x.io") == "Two"
    assert replayed.get("webhook.out_of_date") == 1
    assert replayed.crm_writes == 0

    # Out of order in one batch: the later state arrives first.
    three = _fat(api.state.edit(str(cy["id"]), first_name="Three"))
    four = _fat(api.state.edit(str(cy["id"]), first_name="Four"))
    assert _post(client, four, "d-4") == 200
    assert _post(client, three, "d-3") == 200
    drain_inbox(spec, connector, store)
    assert _firstname(store, "cy@x.io") == "Four"

    # And across batches: the older one after the newer one was applied.
    assert _post(client, three, "d-3-late") == 200
    assert drain_inbox(spec, connector, store).crm_writes == 0
    assert _firstname(store, "cy@x.io") == "Four"
    assert store.inbox_depth("shop-customers") == 0

    # Nothing left for polling to repair: a pass reads the same state and writes nothing.
    assert run_sync(spec, connector, store).crm_writes == 0
    assert _firstname(store, "cy@x.io") == "Four"


def test_a_poll_applies_a_value_the_link_saw_the_time_of_but_not_the_value(
    config: Config, connector: RestConnector, store: Store, api: Server
) -> None:
    """Two edits within one tick of the sender's clock: the event carried the first value at
    the same update time as the second. Applied (it is not older); the poll that reads the
    record at that time sees a value that differs from the base and repairs it, rather than
    skipping a record whose time the link has seen."""
    client = AsgiClient(create_app(config, store, connectors={"shop": connector}))
    spec = build_spec(config, config.syncs["shop-customers"])
    cy = api.state.add(email="cy@x.io", first_name="One")
    assert run_sync(spec, connector, store).get("inbound.created") == 1
    first = api.state.edit(str(cy["id"]), first_name="Five")
    with api.state.lock:  # the second edit keeps the first's update time
        api.state.customers[str(cy["id"])]["first_name"] = "Six"
    assert _post(client, _fat(first), "d-5") == 200
    drain_inbox(spec, connector, store)
    assert _firstname(store, "cy@x.io") == "Five"

    repaired = run_sync(spec, connector, store)
    assert _firstname(store, "cy@x.io") == "Six"
    assert repaired.get("inbound.updated") == 1
