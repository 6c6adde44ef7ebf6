"""The sync engine end to end with a ``type: rest`` connector against the test API.

The YAML is loaded as a user writes it; the store runs on SQLite and PostgreSQL. Both
sides start populated, an edit is made on each side, and then passes with no edits must
write nothing anywhere (the two sides converged, no ping-pong).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config.load import load_config
from connectors.base import ChangePage, Connector, Cursor
from connectors.rest.connector import RestConnector
from store import ChangeSource, SourceType, Store
from syncd.engine import RunSummary, SyncSpec, build_connector, build_spec, run_sync
from tests.connectors.rest.server import CLIENT_ID, CLIENT_SECRET, Server

UI = ChangeSource(SourceType.CRM_UI, "test-user")

CONFIG = """
store: {url: "sqlite:///unused.db"}
connectors:
  shop:
    type: rest
    base_url: "${SHOP_URL}"
    auth:
      type: oauth2
      token_url: /oauth/token
      client_id: "${SHOP_CLIENT}"
      client_secret: "${SHOP_SECRET}"
    rate_limit: {requests: 1000, per_seconds: 1}
    retry: {attempts: 3, max_wait_seconds: 2}
    objects:
      customers:
        path: /api/%(mode)s/customers
        records_path: "%(records_path)s"
        paging: %(paging)s
        updated_since_param: updated_since
        create: {method: POST, path: /api/customers}
        update: {method: PATCH, path: "/api/customers/{id}"}
        delete: {method: DELETE, path: "/api/customers/{id}"}
        find_param: email
        lookback_seconds: 1
syncs:
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    batch_size: 2
    match: {crm: email, external: email}
    conflict: crm_wins
    deletes: {from_external: archive, from_crm: delete}
    fields:
      - {crm: email, external: email, transform: lowercase}
      - {crm: firstname, external: first_name}
      - {crm: lastname, external: last_name}
"""

MODES = {
    "cursor": ("data", "{type: cursor, param: cursor, next_path: meta.next, limit_param: limit}"),
    "link": ("", "{type: link, limit_param: per_page}"),
}


@dataclass
class Harness:
    store: Store
    api: Server
    spec: SyncSpec
    connector: Connector

    def run(self) -> RunSummary:
        return run_sync(self.spec, self.connector, self.store)

    def contact(self, email: str) -> dict[str, Any]:
        return dict(self.store.find_record("contacts", "email", email).properties)

    def quiet(self, passes: int = 4) -> None:
        for _ in range(passes):
            summary = self.run()
            assert summary.crm_writes == 0, summary.line()
            assert summary.external_writes == 0, summary.line()


@pytest.fixture(params=sorted(MODES))
def sync(
    request: pytest.FixtureRequest, store: Store, api: Server, tmp_path: Path
) -> Iterator[Harness]:
    api.state.auth = "oauth2"
    records_path, paging = MODES[request.param]
    path = tmp_path / "syncd.yaml"
    path.write_text(
        CONFIG % {"mode": request.param, "records_path": records_path, "paging": paging}
    )
    env = {"SHOP_URL": api.url, "SHOP_CLIENT": CLIENT_ID, "SHOP_SECRET": CLIENT_SECRET}
    config = load_config(path, env=env)
    spec = build_spec(config, config.syncs["shop-customers"])
    connector = build_connector(config, "shop")
    try:
        yield Harness(store, api, spec, connector)
    finally:
        connector.close()


def test_two_way_sync_fills_both_sides_carries_edits_and_then_writes_nothing(
    sync: Harness,
) -> None:
    h = sync
    h.store.create_record("contacts", {"email": "ada@x.io", "firstname": "Ada"}, UI)
    h.store.create_record("contacts", {"email": "bob@x.io", "firstname": "Bob"}, UI)
    h.api.state.add(email="ADA@x.io", first_name="Ada", last_name="Lovelace")
    cy = h.api.state.add(email="cy@x.io", first_name="Cy")
    h.api.state.add(email="dee@x.io", first_name="Dee")

    h.run()

    emails = sorted(r.properties["email"] for r in h.store.list_records("contacts", limit=100))
    assert emails == ["ada@x.io", "bob@x.io", "cy@x.io", "dee@x.io"]
    shop = sorted(c["email"].lower() for c in h.api.state.customers.values())
    assert shop == ["ada@x.io", "bob@x.io", "cy@x.io", "dee@x.io"]  # no duplicate Ada
    assert h.contact("ada@x.io")["lastname"] == "Lovelace"
    assert h.api.state.by_email("bob@x.io")["first_name"] == "Bob"
    assert h.store.count_links("shop-customers") == 4
    h.quiet()

    # An edit on each side.
    bob = h.store.find_record("contacts", "email", "bob@x.io")
    h.store.update_record("contacts", bob.id, {"lastname": "Builder"}, UI)
    h.api.state.edit(str(cy["id"]), first_name="Cyrus")
    summary = h.run()

    assert h.contact("cy@x.io")["firstname"] == "Cyrus"
    assert h.api.state.by_email("bob@x.io")["last_name"] == "Builder"
    assert summary.get("inbound.updated") == 1
    assert summary.get("outbound.updated") == 1
    h.quiet()
    # The token was fetched once and reused for every call of every pass.
    assert h.api.state.token_requests == 1


def test_a_record_deleted_in_the_crm_is_deleted_in_the_api(sync: Harness) -> None:
    h = sync
    h.api.state.add(email="ada@x.io", first_name="Ada")
    h.run()
    ada = h.store.find_record("contacts", "email", "ada@x.io")
    h.store.archive_records("contacts", [ada.id], UI)

    h.run()

    assert h.api.state.customers == {}
    h.quiet(2)


class _EditAfterInbound(RestConnector):
    """The real connector; someone edits the customer once the pass's inbound read is done
    (between the engine's inbound read and its outbound delete)."""

    edit: Callable[[], object] | None = None

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        page = super().fetch_changes(external_object, cursor, limit=limit, resume=resume)
        edit, self.edit = self.edit, None
        if edit is not None and not page.has_more:
            edit()
        return page


def test_an_api_record_edited_since_the_last_sync_beats_a_crm_archive(sync: Harness) -> None:
    """REST has no conditional delete: the engine reads the record again right before it
    deletes and compares it with the base (issue 13 #8)."""
    h = sync
    ada_ext = h.api.state.add(email="ada@x.io", first_name="Ada")
    h.run()
    ada = h.store.find_record("contacts", "email", "ada@x.io")
    h.store.archive_records("contacts", [ada.id], UI)
    h.connector.close()
    h.connector = racing = _EditAfterInbound(h.connector.name, h.connector.options)
    racing.edit = lambda: h.api.state.edit(str(ada_ext["id"]), first_name="Adeline")
    try:
        h.run()

        # The edit wins: the customer stays, the CRM record is back with the edit.
        assert h.api.state.by_email("ada@x.io")["first_name"] == "Adeline"
        record = h.store.get_record("contacts", ada.id)
        assert not record.archived and record.properties["firstname"] == "Adeline"
        (kept,) = [c for c in h.store.list_conflicts(sync="shop-customers") if c.field == "@record"]
        assert kept.winner == "external"
        assert '"firstname": "Adeline"' in (kept.external_value or "")
        h.quiet(2)
    finally:
        racing.close()
