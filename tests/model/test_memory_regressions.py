"""Engine defects the memory connector's model tests found, as plain named tests.

The memory system can be schemaless (no ``fields:``): a record then holds only the keys
written to it, as a JSON API that leaves null fields out of its answers does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.base import Connector
from connectors.memory import MemoryConnector
from store import Store
from syncd.engine import run_sync
from tests.model.machine import SYNC, UI, InjectedCrash, build_sync
from tests.model.memory_peer import MemoryPeer


def _peer(*, declared: bool) -> MemoryPeer:
    """The model's memory peer; without declared fields its records hold only what was written."""
    peer = MemoryPeer()
    if not declared:
        peer.system.define(peer.external_object, unique=["email"], fields=None)
        peer.connector_yaml = (
            f"type: memory\nsystem: {peer.system_name}\nobjects:\n"
            "  customers: {unique: [email]}\n"
        )
    return peer


class _AnswerLost:
    """The connector; its next write happens and its answer is lost (the process died)."""

    def __init__(self, connector: Connector) -> None:
        self._connector = connector

    def write(self, external_object: str, requests: Any) -> Any:
        self._connector.write(external_object, requests)
        raise InjectedCrash("after the external write, before its answer was kept")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connector, name)


@pytest.mark.parametrize(
    "declared",
    [
        pytest.param(True, id="record-answers-null"),
        pytest.param(False, id="record-leaves-the-field-out"),
    ],
)
def test_a_crm_edit_made_while_a_create_answer_was_lost_reaches_the_record(
    store: Store, tmp_path: Path, declared: bool
) -> None:
    """The create's answer is lost; the CRM sets a field the create did not send. The found
    record was based on what the create sent, but a field it left out (empty in the CRM)
    was missing from that base, and a record that leaves empty fields out made the CRM's
    new value look agreed: it never went out (found by tests/model/test_memory_model.py,
    external_wins/delete)."""
    peer = _peer(declared=declared)
    spec, make = build_sync(peer, tmp_path, rule="external_wins", deletes="delete")
    connector = make()
    assert isinstance(connector, MemoryConnector)
    try:
        contact = store.create_record("contacts", {"email": "c@x.io", "firstname": "F"}, UI)
        with pytest.raises(InjectedCrash):
            run_sync(spec, _AnswerLost(connector), store)  # type: ignore[arg-type]
        store.update_record("contacts", contact.id, {"lastname": "L"}, UI)

        run_sync(spec, connector, store)
        run_sync(spec, connector, store)

        (held,) = connector.system.records("customers")
        assert held.fields.get("last_name") == "L"
    finally:
        connector.close()
        peer.close()


def test_a_record_saved_outside_with_its_own_values_beats_a_crm_archive(
    store: Store, tmp_path: Path
) -> None:
    """Someone saves the record outside without changing a value the sync maps (its
    version moves, as an edit of a field no sync maps does); the CRM archives the contact
    before the next pass. The save is an edit since the last sync and beats the archive
    (``deletes.on_edit: keep_edit``): the contact comes back, the record stays, and a
    conflict row keeps both sides. The model's oracle first judged such a pair by its
    values only, let a new contact take the email, and reported the engine's refusal of
    that second holder as a defect (tests/model/test_memory_model.py, manual/archive)."""
    peer = MemoryPeer()
    spec, make = build_sync(peer, tmp_path, rule="manual", deletes="archive")
    connector = make()
    try:
        contact = store.create_record("contacts", {"email": "e@x.io", "firstname": "F"}, UI)
        run_sync(spec, connector, store)
        (external_id,) = peer.rows()
        assert peer.edit(external_id, {"email": "e@x.io"})  # the values it has
        store.archive_records("contacts", [contact.id], UI)

        run_sync(spec, connector, store)

        assert not store.get_record("contacts", contact.id).archived
        assert peer.rows() == {external_id: {"email": "e@x.io", "firstname": "F", "lastname": None}}
        (kept,) = store.list_conflicts(sync=SYNC, limit=10)
        assert (kept.crm_id, kept.field, kept.winner) == (contact.id, "@record", "external")
    finally:
        connector.close()
        peer.close()
