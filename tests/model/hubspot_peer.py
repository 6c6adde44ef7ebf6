"""The HubSpot peer: syncd's own HubSpot-compatible API (``/crm/v3``) over a second store,
on real uvicorn, read and written by the ``hubspot`` connector as if it were HubSpot.

The remote's users work in that second store directly (as HubSpot's own UI would); a
delete there is HubSpot's archive. Its journal head changes with any write, which makes
"nothing was written outside" exact.
"""

from __future__ import annotations

from store import ChangeSource, SourceType, Store
from store.errors import DuplicateError
from tests.model.machine import Values

FIELDS = {"email": "email", "firstname": "firstname", "lastname": "lastname"}
REMOTE_UI = ChangeSource(SourceType.CRM_UI, "remote-user")


class HubSpotPeer:
    """The remote store behind the API; emptied for each example."""

    external_object = "contacts"
    external_fields = FIELDS

    def __init__(self, remote: Store, url: str, token: str) -> None:
        self.remote = remote
        self.env = {"PEER_URL": url, "PEER_TOKEN": token}
        self.connector_yaml = (
            'type: hubspot\naccess_token: "${PEER_TOKEN}"\nbase_url: "${PEER_URL}"\n'
            # The peer is our own API, not HubSpot: pacing to HubSpot's limits (search 5/s)
            # made every pass wait (40 % of each example); the pacing has its own tests.
            "rate_limit: {requests: 10000, per_seconds: 1}\n"
            "search_rate_limit: {requests: 10000, per_seconds: 1}\n"
            "objects:\n  contacts:\n    object_type: contacts\n"
            "    properties: [email, firstname, lastname]\n    id_property: email\n"
        )

    def _ids(self, *, archived: bool) -> list[int]:
        return [r.id for r in self.remote.list_records("contacts", limit=10_000, archived=archived)]

    def reset(self) -> None:
        ids = self._ids(archived=False) + self._ids(archived=True)
        if ids:
            self.remote.sync_write("model-reset", lambda tx: tx.purge_records("contacts", ids))

    def create(self, values: Values) -> str | None:
        try:
            record = self.remote.create_record(
                "contacts", {k: v for k, v in values.items() if v is not None}, REMOTE_UI
            )
        except DuplicateError:
            return None
        return str(record.id)

    def edit(self, external_id: str, values: Values) -> bool:
        try:
            self.remote.update_record("contacts", int(external_id), values, REMOTE_UI)
        except DuplicateError:
            return False
        return True

    def delete(self, external_id: str) -> None:
        self.remote.archive_records("contacts", [int(external_id)], REMOTE_UI)

    def rows(self) -> dict[str, Values]:
        return {
            str(r.id): {prop: r.properties.get(prop) for prop in FIELDS}
            for r in self.remote.list_records("contacts", limit=10_000)
        }

    def snapshot(self) -> object:
        return self.remote.journal_head()

    def version(self, external_id: str) -> str | None:
        return None  # the connector reports no version: edits show in the values only
