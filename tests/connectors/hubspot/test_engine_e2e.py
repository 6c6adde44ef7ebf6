"""End to end: a YAML ``type: hubspot`` sync against a stateful fake of HubSpot's contacts API.

The store runs on SQLite and PostgreSQL (the ``store`` fixture); HubSpot is the in-memory
fake behind respx. Whole passes run both ways, then idle passes must write nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import respx

from config.load import load_config
from connectors.hubspot import HubSpotConnector
from store import ChangeSource, SourceType, Store
from syncd.engine import RunSummary, SyncSpec, build_connector, build_spec, run_sync

from .fake import BASE, FakeHubSpot

UI = ChangeSource(SourceType.CRM_UI, "test-user")

CONFIG = """
store: {url: "sqlite:///unused.db"}
connectors:
  hubspot:
    type: hubspot
    access_token: "${HUBSPOT_TOKEN}"
    objects:
      contacts:
        object_type: contacts
        properties: [email, firstname, lastname]
        id_property: email
syncs:
  hubspot-contacts:
    connector: hubspot
    external_object: contacts
    crm_object: contacts
    match: {crm: email, external: email}
    conflict: crm_wins
    fields:
      - {crm: email, external: email, transform: lowercase}
      - {crm: firstname, external: firstname}
      - {crm: lastname, external: lastname}
"""


@pytest.fixture
def hub(store: Store, tmp_path: Path) -> Iterator[tuple[FakeHubSpot, SyncSpec, HubSpotConnector]]:
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG)
    config = load_config(path, env={"HUBSPOT_TOKEN": "pat-na1-e2e-token"})
    spec = build_spec(config, config.syncs["hubspot-contacts"])
    fake = FakeHubSpot()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        fake.install(router)
        connector = build_connector(config, "hubspot")
        assert isinstance(connector, HubSpotConnector)
        try:
            yield fake, spec, connector
        finally:
            connector.close()


def _run(store: Store, spec: SyncSpec, connector: HubSpotConnector) -> RunSummary:
    return run_sync(spec, connector, store)


def test_two_way_sync_with_hubspot_then_quiet(
    store: Store, hub: tuple[FakeHubSpot, SyncSpec, HubSpotConnector]
) -> None:
    fake, spec, connector = hub
    store.create_record("contacts", {"email": "ada@x.io", "firstname": "Ada"}, UI)
    store.create_record("contacts", {"email": "bob@x.io", "firstname": "Bob"}, UI)
    fake.add({"email": "ADA@x.io", "firstname": "Ada", "lastname": "Lovelace"})
    cy = fake.add({"email": "cy@x.io", "firstname": "Cy"})

    _run(store, spec, connector)

    emails = sorted(r.properties["email"] for r in store.list_records("contacts", limit=100))
    assert emails == ["ada@x.io", "bob@x.io", "cy@x.io"]
    in_hubspot = sorted(p["email"].lower() for p in fake.records.values())
    assert in_hubspot == ["ada@x.io", "bob@x.io", "cy@x.io"]  # Ada matched, not duplicated
    ada = store.find_record("contacts", "email", "ada@x.io")
    assert ada.properties["lastname"] == "Lovelace"
    assert store.count_links("hubspot-contacts") == 3

    # Edits both ways.
    store.update_record("contacts", ada.id, {"firstname": "Augusta"}, UI)
    fake.edit(cy, {"lastname": "Young"})
    _run(store, spec, connector)
    assert store.find_record("contacts", "email", "cy@x.io").properties["lastname"] == "Young"
    ada_ext = [p for p in fake.records.values() if p["email"].lower() == "ada@x.io"]
    assert ada_ext[0]["firstname"] == "Augusta"

    # Idle passes write nothing, although the resumed search re-reads its lookback window.
    writes_before = [c for c in fake.calls if c[1] in ("batch/create", "batch/update")]
    for _ in range(4):
        summary = _run(store, spec, connector)
        assert summary.crm_writes == 0, summary.line()
        assert summary.external_writes == 0, summary.line()
    writes_after = [c for c in fake.calls if c[1] in ("batch/create", "batch/update")]
    assert writes_after == writes_before
    assert connector.throttled == 0


WEBHOOK_CONFIG = CONFIG.replace(
    '    access_token: "${HUBSPOT_TOKEN}"\n',
    '    access_token: "${HUBSPOT_TOKEN}"\n'
    '    webhook: {secret: "${HUBSPOT_CLIENT_SECRET}"}\n'
    "    webhook_url: https://syncd.example.com/webhooks/hubspot\n"
    '    app_id: "1160452"\n',
)


def test_hubspot_webhook_events_are_verified_stored_and_applied_once(
    store: Store, tmp_path: Path
) -> None:
    import json
    from datetime import UTC, datetime

    from connectors.webhooks import WebhookOptions, sign
    from syncd.engine.events import drain_inbox
    from syncd.http.app import create_app
    from tests.http._client import AsgiClient

    secret = "hubspot-client-secret-0123"
    path = tmp_path / "syncd.yaml"
    path.write_text(WEBHOOK_CONFIG)
    config = load_config(
        path, env={"HUBSPOT_TOKEN": "pat-na1-e2e", "HUBSPOT_CLIENT_SECRET": secret}
    )
    spec = build_spec(config, config.syncs["hubspot-contacts"])
    fake = FakeHubSpot()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.route(host="testserver").pass_through()
        fake.install(router)
        connector = build_connector(config, "hubspot")
        try:
            rid = fake.add({"email": "dee@x.io", "firstname": "Dee"})
            events = [
                {
                    "eventId": 9001,
                    "subscriptionId": 1,
                    "portalId": 62515,
                    "appId": 1160452,
                    "occurredAt": 1764460800000,
                    "subscriptionType": "contact.creation",
                    "attemptNumber": 0,
                    "objectId": int(rid),
                    "changeSource": "CRM",
                }
            ]
            body = json.dumps(events).encode()
            options = WebhookOptions.model_validate({"secret": secret, "signature": "hubspot-v3"})
            headers = sign(
                options,
                method="POST",
                url="https://syncd.example.com/webhooks/hubspot",
                body=body,
                now=datetime.now(UTC),
            )
            client = AsgiClient(create_app(config, store, connectors={"hubspot": connector}))
            for _ in range(2):  # HubSpot retries a delivery it thinks failed
                answer = client.post("/webhooks/hubspot", content=body, headers=headers)
                assert answer.status_code == 200, answer.text
            assert store.inbox_depth("hubspot-contacts") == 1

            summary = drain_inbox(spec, connector, store)

            assert summary.get("inbound.created") == 1
            dee = store.find_record("contacts", "email", "dee@x.io")
            assert dee.properties["firstname"] == "Dee"
            # Our own write coming back (changeSource INTEGRATION, our app): dropped unfetched.
            own = [
                {
                    **events[0],
                    "eventId": 9002,
                    "subscriptionType": "contact.propertyChange",
                    "propertyName": "firstname",
                    "propertyValue": "Dee",
                    "changeSource": "INTEGRATION",
                    "sourceId": "1160452",
                }
            ]
            own_body = json.dumps(own).encode()
            own_headers = sign(
                options,
                method="POST",
                url="https://syncd.example.com/webhooks/hubspot",
                body=own_body,
                now=datetime.now(UTC),
            )
            assert (
                client.post("/webhooks/hubspot", content=own_body, headers=own_headers).status_code
                == 200
            )
            echo = drain_inbox(spec, connector, store)
            assert echo.get("webhook.own_writes") == 1
            assert echo.get("webhook.fetched") == 0
            assert echo.crm_writes == 0

            forged = client.post(
                "/webhooks/hubspot",
                content=body,
                headers={**headers, "X-HubSpot-Signature-v3": "AAAA"},
            )
            assert forged.status_code == 401
        finally:
            connector.close()
