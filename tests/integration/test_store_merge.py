"""Merging two records: the loser is archived into the winner, which takes its links.

The winner keeps its values and fills its gaps from the loser; the loser's associations and
activities move to the winner; both histories are kept; reading the loser's id answers with
the winner.
"""

from __future__ import annotations

import pytest

from store import ChangeSource, NotFoundError, RecordWriteError, SourceType, Store, ValidationError
from tests.conftest import API
from tests.integration._store_helpers import (
    activity,
    company,
    contact,
    labels_between,
    linked_ids,
    props_without_automatic,
    snapshot,
)

MERGER = ChangeSource(SourceType.CRM_UI, "merge-screen")


def test_the_winner_keeps_its_values_and_fills_gaps_from_the_loser(store: Store) -> None:
    winner = contact(store, "ann@example.com", firstname="Ann")
    loser = contact(store, "ann.lee@example.com", firstname="Annie", lastname="Lee", jobtitle="CTO")

    merged = store.merge_records("contacts", winner.id, loser.id, MERGER)

    assert merged.id == winner.id
    assert props_without_automatic(merged) == {
        "email": "ann@example.com",
        "firstname": "Ann",
        "lastname": "Lee",
        "jobtitle": "CTO",
    }
    assert store.get_record("contacts", winner.id) == merged


def test_the_loser_is_archived_and_its_id_reads_as_the_winner(store: Store) -> None:
    winner, loser = contact(store), contact(store)
    store.merge_records("contacts", winner.id, loser.id, MERGER)

    assert store.get_record("contacts", loser.id).id == winner.id
    assert store.get_records("contacts", [loser.id])[loser.id].id == winner.id
    assert [r.id for r in store.list_records("contacts")] == [winner.id]
    assert store.list_records("contacts", archived=True) == []  # merged away, not just archived
    with pytest.raises(NotFoundError):
        store.update_record("contacts", loser.id, {"firstname": "X"}, API)


def test_a_merged_record_cannot_be_restored(store: Store) -> None:
    winner, loser = contact(store), contact(store)
    store.merge_records("contacts", winner.id, loser.id, MERGER)
    before = snapshot(store)
    with pytest.raises(RecordWriteError, match=f"merged into {winner.id}"):
        store.restore_records("contacts", [loser.id], API)
    assert snapshot(store) == before


def test_merges_chain(store: Store) -> None:
    a, b, c = contact(store), contact(store), contact(store)
    store.merge_records("contacts", b.id, a.id, MERGER)
    store.merge_records("contacts", c.id, b.id, MERGER)
    assert store.get_record("contacts", a.id).id == c.id


def test_both_histories_are_kept(store: Store) -> None:
    winner = contact(store, firstname="Ann")
    loser = contact(store, lastname="Lee")
    store.update_record("contacts", loser.id, {"lastname": "Leigh"}, API)
    store.merge_records("contacts", winner.id, loser.id, MERGER)

    assert [h.value for h in store.property_history("contacts", loser.id, "lastname")] == [
        "Leigh",
        "Lee",
    ]
    (filled,) = store.property_history("contacts", winner.id, "lastname")
    assert (filled.value, filled.source_type, filled.source_id) == (
        "Leigh",
        SourceType.CRM_UI,
        "merge-screen",
    )
    assert [h.value for h in store.property_history("contacts", winner.id, "firstname")] == ["Ann"]


def test_the_merge_is_journaled_with_its_source(store: Store) -> None:
    winner, loser = contact(store), contact(store, lastname="Lee")
    head = store.journal_head()
    store.merge_records("contacts", winner.id, loser.id, MERGER)

    entries = store.read_journal(head)
    ops = {(e.op, e.record_id) for e in entries}
    assert {("merge", winner.id), ("archive", loser.id), ("update", winner.id)} <= ops
    merge = next(e for e in entries if e.op == "merge")
    assert merge.changes is not None and merge.changes["loser_id"] == loser.id
    archive = next(e for e in entries if e.op == "archive")
    assert archive.changes == {"merged_into": winner.id}
    assert {(e.source_type, e.source_id) for e in (merge, archive)} == {
        (SourceType.CRM_UI, "merge-screen")
    }


def test_associations_and_activities_move_to_the_winner(store: Store) -> None:
    acme, globex = company(store), company(store)
    winner, loser = contact(store), contact(store)
    store.associate("contacts", winner.id, "companies", acme.id, API)
    store.associate("contacts", loser.id, "companies", acme.id, API)
    store.associate("contacts", loser.id, "companies", globex.id, API)
    call = activity(store, "calls", "2024-05-01T09:30:00Z", ("contacts", loser.id))

    store.merge_records("contacts", winner.id, loser.id, MERGER)

    assert linked_ids(store, "contacts", winner.id, "companies") == {acme.id, globex.id}
    assert linked_ids(store, "contacts", winner.id, "calls") == {call.id}
    assert linked_ids(store, "calls", call.id, "contacts") == {winner.id}
    assert linked_ids(store, "companies", acme.id, "contacts") == {winner.id}
    # Counts and activity dates are recomputed for everyone involved.
    acme_props = store.get_record("companies", acme.id).properties
    assert acme_props["num_associated_contacts"] == "1"
    winner_props = store.get_record("contacts", winner.id).properties
    assert winner_props["notes_last_contacted"] == "2024-05-01T09:30:00.000Z"


def test_the_winner_keeps_its_own_primary_company(store: Store) -> None:
    acme, globex = company(store), company(store)
    winner, loser = contact(store), contact(store)
    store.associate("contacts", winner.id, "companies", acme.id, API, label="Primary")
    store.associate("contacts", loser.id, "companies", globex.id, API, label="Primary")

    store.merge_records("contacts", winner.id, loser.id, MERGER)

    assert labels_between(store, "contacts", winner.id, "companies", acme.id) == {
        "(default)",
        "Primary",
    }
    assert labels_between(store, "contacts", winner.id, "companies", globex.id) == {"(default)"}
    props = store.get_record("contacts", winner.id).properties
    assert props["associatedcompanyid"] == str(acme.id)


def test_the_winner_without_a_primary_company_takes_the_losers(store: Store) -> None:
    globex = company(store)
    winner, loser = contact(store), contact(store)
    store.associate("contacts", loser.id, "companies", globex.id, API, label="Primary")
    store.merge_records("contacts", winner.id, loser.id, MERGER)
    assert labels_between(store, "contacts", winner.id, "companies", globex.id) == {
        "(default)",
        "Primary",
    }


def test_merging_companies_moves_their_contacts(store: Store) -> None:
    winner, loser = company(store), company(store)
    ann, bob = contact(store), contact(store)
    store.associate("contacts", ann.id, "companies", winner.id, API, label="Primary")
    store.associate("contacts", bob.id, "companies", loser.id, API, label="Primary")

    store.merge_records("companies", winner.id, loser.id, MERGER)

    assert linked_ids(store, "companies", winner.id, "contacts") == {ann.id, bob.id}
    assert store.get_record("companies", winner.id).properties["num_associated_contacts"] == "2"
    assert store.get_record("contacts", bob.id).properties["associatedcompanyid"] == str(winner.id)


def test_two_records_linked_to_each_other_merge_without_a_self_link(store: Store) -> None:
    winner, loser = company(store), company(store)
    store.associate("companies", winner.id, "companies", loser.id, API)
    store.merge_records("companies", winner.id, loser.id, MERGER)
    assert store.list_associations("companies", winner.id) == []


@pytest.mark.parametrize("case", ["itself", "unknown-loser", "archived-loser", "unknown-winner"])
def test_an_impossible_merge_is_refused_and_changes_nothing(store: Store, case: str) -> None:
    winner, loser = contact(store, firstname="W"), contact(store, lastname="L")
    if case == "archived-loser":
        store.archive_records("contacts", [loser.id], API)
    pair = {
        "itself": (winner.id, winner.id),
        "unknown-loser": (winner.id, loser.id + 99),
        "archived-loser": (winner.id, loser.id),
        "unknown-winner": (loser.id + 99, winner.id),
    }[case]
    before = snapshot(store)
    with pytest.raises((NotFoundError, ValidationError)):
        store.merge_records("contacts", *pair, MERGER)
    assert snapshot(store) == before


def test_records_of_another_object_cannot_be_merged(store: Store) -> None:
    ann, acme = contact(store), company(store)
    with pytest.raises(NotFoundError):
        store.merge_records("contacts", ann.id, acme.id, MERGER)
    assert store.get_record("companies", acme.id) == acme


def test_ids_of_two_records_merged_into_one_both_read_as_the_winner(store: Store) -> None:
    winner = store.create_record("contacts", {"email": "w@example.com"}, API)
    first = store.create_record("contacts", {"email": "l1@example.com"}, API)
    second = store.create_record("contacts", {"email": "l2@example.com"}, API)
    store.merge_records("contacts", winner.id, first.id, MERGER)
    store.merge_records("contacts", winner.id, second.id, MERGER)

    found = store.get_records("contacts", [first.id, second.id, winner.id])
    assert {k: v.id for k, v in found.items()} == {
        first.id: winner.id,
        second.id: winner.id,
        winner.id: winner.id,
    }
