"""A CRM archive against a HubSpot contact edited since the last sync (issue 13, defect 8).

The HubSpot connector talks to syncd's own HubSpot-compatible API over a second store (the
"remote HubSpot"), served by a real uvicorn on 127.0.0.1; the local store runs on SQLite and
PostgreSQL. HubSpot has no conditional delete, so the engine reads the contact again right
before deleting it and compares it with the base: an edit made since the last sync wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.load import load_config
from connectors.base import ChangePage, Cursor
from connectors.hubspot import HubSpotConnector
from store import ChangeSource, SourceType, Store
from syncd.api import ApiSettings, create_api
from syncd.engine import RunSummary, SyncSpec, build_connector, build_spec, run_sync
from tests._live import LiveServers
from tests.api.conftest import make_token

UI = ChangeSource(SourceType.CRM_UI, "test-user")

CONFIG = """
store: {url: "sqlite:///unused.db"}
connectors:
  hubspot:
    type: hubspot
    base_url: "${HUBSPOT_URL}"
    access_token: "${HUBSPOT_TOKEN}"
    rate_limit: {requests: 1000, per_seconds: 1}
    search_rate_limit: {requests: 1000, per_seconds: 1}
    retry: {attempts: 3, max_wait_seconds: 1}
    objects:
      contacts:
        object_type: contacts
        properties: [email, firstname]
        id_property: email
        lookback_seconds: 5
syncs:
  hs-contacts:
    connector: hubspot
    external_object: contacts
    crm_object: contacts
    match: {crm: email, external: email}
    conflict: crm_wins
    deletes: {from_external: archive, from_crm: delete}
    fields:
      - {crm: email, external: email, transform: lowercase}
      - {crm: firstname, external: firstname}
"""


class _EditAfterInbound(HubSpotConnector):
    """The real connector; someone edits the contact in HubSpot once the pass's inbound read
    is done (between the engine's inbound read and its outbound delete)."""

    edit: Callable[[], object] | None = None

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        page = super().fetch_changes(external_object, cursor, limit=limit, resume=resume)
        edit, self.edit = self.edit, None
        if edit is not None and not page.has_more:
            edit()
        return page


@dataclass
class Harness:
    store: Store
    remote: Store
    spec: SyncSpec
    connector: _EditAfterInbound

    def run(self) -> RunSummary:
        return run_sync(self.spec, self.connector, self.store)


@pytest.fixture
def hub(store: Store, tmp_path: Path, live_servers: LiveServers) -> Iterator[Harness]:
    remote = Store.open(f"sqlite:///{tmp_path / 'remote-hubspot.db'}")
    url = live_servers.mount(create_api(remote, ApiSettings(rate_limit_max=100_000)))
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG)
    config = load_config(path, env={"HUBSPOT_URL": url, "HUBSPOT_TOKEN": make_token(remote)})
    built = build_connector(config, "hubspot")
    connector = _EditAfterInbound(built.name, built.options)
    built.close()
    try:
        yield Harness(store, remote, build_spec(config, config.syncs["hs-contacts"]), connector)
    finally:
        connector.close()
        live_servers.unmount(url)
        remote.close()


def test_a_hubspot_contact_edited_since_the_last_sync_beats_a_crm_archive(hub: Harness) -> None:
    h = hub
    remote_ann = h.remote.create_record("contacts", {"email": "ann@x.io", "firstname": "Ann"}, UI)
    h.run()
    ann = h.store.find_record("contacts", "email", "ann@x.io")
    h.store.archive_records("contacts", [ann.id], UI)
    h.connector.edit = lambda: h.remote.update_record(
        "contacts", remote_ann.id, {"firstname": "Annabel"}, UI
    )

    h.run()

    # The edit wins: the HubSpot contact stays, the CRM record is back with the edit.
    assert not h.remote.get_record("contacts", remote_ann.id, include_archived=True).archived
    record = h.store.get_record("contacts", ann.id, include_archived=True)
    assert not record.archived and record.properties["firstname"] == "Annabel"
    (kept,) = [c for c in h.store.list_conflicts(sync="hs-contacts") if c.field == "@record"]
    assert kept.winner == "external" and '"firstname": "Annabel"' in (kept.external_value or "")
    for _ in range(2):
        summary = h.run()
        assert summary.crm_writes == 0 and summary.external_writes == 0, summary.line()
