"""Logged activities: last-contacted and last-activity dates follow them, and an activity logged
on a contact is logged on the contact's primary company too.

Last Contacted (``notes_last_contacted``) follows calls, emails and meetings; Last Activity Date
(``notes_last_updated``) follows every activity. Both move when an activity is archived,
restored, re-dated or unlinked.
"""

from __future__ import annotations

import pytest

from store import SourceType, Store, ValidationError
from tests.conftest import API
from tests.integration._store_helpers import activity, company, contact, linked_ids

MAY_1 = "2024-05-01T09:30:00.000Z"
MAY_2 = "2024-05-02T09:30:00.000Z"
MAY_3 = "2024-05-03T09:30:00.000Z"
LAST_CONTACTED, LAST_ACTIVITY = "notes_last_contacted", "notes_last_updated"


def dates(store: Store, object_name: str, record_id: int) -> tuple[str | None, str | None]:
    props = store.get_record(object_name, record_id).properties
    return props.get(LAST_CONTACTED), props.get(LAST_ACTIVITY)


KINDS = [
    ("call", "calls", True),
    ("email", "emails", True),
    ("meeting", "meetings", True),
    ("note", "notes", False),
    ("task", "tasks", False),
]


@pytest.mark.parametrize(("kind", "contacting"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS])
def test_an_activity_sets_last_activity_and_only_contacting_ones_set_last_contacted(
    store: Store, kind: str, contacting: bool
) -> None:
    ann = contact(store)
    activity(store, kind, "2024-05-01T11:30:00+02:00", ("contacts", ann.id))
    assert dates(store, "contacts", ann.id) == (MAY_1 if contacting else None, MAY_1)


def test_activities_on_a_company_set_its_dates_too(store: Store) -> None:
    acme = company(store)
    activity(store, "notes", MAY_2, ("companies", acme.id))
    assert dates(store, "companies", acme.id) == (None, MAY_2)
    activity(store, "meetings", MAY_1, ("companies", acme.id))
    assert dates(store, "companies", acme.id) == (MAY_1, MAY_2)


def test_the_latest_activity_wins_whatever_order_they_are_logged_in(store: Store) -> None:
    ann = contact(store)
    activity(store, "calls", MAY_2, ("contacts", ann.id))
    activity(store, "notes", MAY_3, ("contacts", ann.id))
    activity(store, "meetings", MAY_1, ("contacts", ann.id))
    assert dates(store, "contacts", ann.id) == (MAY_2, MAY_3)


def test_archiving_an_activity_falls_back_to_the_one_before_and_restoring_returns(
    store: Store,
) -> None:
    ann = contact(store)
    first = activity(store, "calls", MAY_1, ("contacts", ann.id))
    latest = activity(store, "calls", MAY_2, ("contacts", ann.id))

    store.archive_records("calls", [latest.id], API)
    assert dates(store, "contacts", ann.id) == (MAY_1, MAY_1)
    store.archive_records("calls", [first.id], API)
    assert dates(store, "contacts", ann.id) == (None, None)
    store.restore_records("calls", [latest.id, first.id], API)
    assert dates(store, "contacts", ann.id) == (MAY_2, MAY_2)


@pytest.mark.parametrize("new_time", [MAY_3, "2024-04-01T00:00:00.000Z"], ids=["later", "earlier"])
def test_changing_an_activitys_timestamp_moves_the_dates(store: Store, new_time: str) -> None:
    ann = contact(store)
    activity(store, "notes", MAY_2, ("contacts", ann.id))
    call = activity(store, "calls", MAY_1, ("contacts", ann.id))
    store.update_record("calls", call.id, {"hs_timestamp": new_time}, API)
    assert dates(store, "contacts", ann.id) == (new_time, max(new_time, MAY_2))


def test_unlinking_an_activity_from_a_record_clears_its_dates(store: Store) -> None:
    ann = contact(store)
    call = activity(store, "calls", MAY_1, ("contacts", ann.id))
    store.dissociate("calls", call.id, "contacts", ann.id, API)
    assert dates(store, "contacts", ann.id) == (None, None)


def test_an_activity_linked_after_it_was_logged_counts_too(store: Store) -> None:
    ann = contact(store)
    meeting = store.create_record("meetings", {"hs_timestamp": MAY_1}, API)
    assert dates(store, "contacts", ann.id) == (None, None)
    store.associate("contacts", ann.id, "meetings", meeting.id, API)
    assert dates(store, "contacts", ann.id) == (MAY_1, MAY_1)


def test_dates_are_calculated_changes_in_history_and_journal(store: Store) -> None:
    ann = contact(store)
    activity(store, "emails", MAY_1, ("contacts", ann.id))
    (entry,) = store.property_history("contacts", ann.id, LAST_ACTIVITY)
    assert (entry.value, entry.source_type, entry.source_id) == (
        MAY_1,
        SourceType.CALCULATED,
        "store",
    )
    update = [e for e in store.read_journal() if e.record_id == ann.id and e.op == "update"]
    assert update[-1].source_type is SourceType.CALCULATED
    changes = update[-1].changes or {}
    assert (changes[LAST_CONTACTED], changes[LAST_ACTIVITY]) == ([None, MAY_1], [None, MAY_1])


def test_a_note_on_a_contact_is_also_logged_on_its_primary_company(store: Store) -> None:
    acme, other = company(store), company(store)
    ann = contact(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    store.associate("contacts", ann.id, "companies", other.id, API)

    note = activity(store, "notes", MAY_1, ("contacts", ann.id))

    assert linked_ids(store, "notes", note.id, "companies") == {acme.id}
    assert linked_ids(store, "companies", acme.id, "notes") == {note.id}
    assert dates(store, "companies", acme.id) == (None, MAY_1)
    assert dates(store, "companies", other.id) == (None, None)


def test_an_activity_associated_later_with_a_contact_reaches_its_primary_company(
    store: Store,
) -> None:
    acme, ann = company(store), contact(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    call = store.create_record("calls", {"hs_timestamp": MAY_2}, API)
    store.associate("calls", call.id, "contacts", ann.id, API)
    assert linked_ids(store, "calls", call.id, "companies") == {acme.id}
    assert dates(store, "companies", acme.id) == (MAY_2, MAY_2)


def test_a_contact_without_a_primary_company_logs_only_on_itself(store: Store) -> None:
    acme, ann = company(store), contact(store)
    store.associate("contacts", ann.id, "companies", acme.id, API)
    note = activity(store, "notes", MAY_1, ("contacts", ann.id))
    assert linked_ids(store, "notes", note.id, "companies") == set()


def test_an_archived_primary_company_is_not_logged_on(store: Store) -> None:
    acme, ann = company(store), contact(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    store.archive_records("companies", [acme.id], API)
    note = activity(store, "notes", MAY_1, ("contacts", ann.id))
    store.restore_records("companies", [acme.id], API)
    assert linked_ids(store, "notes", note.id, "companies") == set()


def test_an_activity_needs_its_timestamp(store: Store) -> None:
    ann = contact(store)
    with pytest.raises(ValidationError, match="required") as caught:
        store.create_record(
            "notes", {"hs_note_body": "hi"}, API, associations=[("contacts", ann.id, None)]
        )
    assert caught.value.property_name == "hs_timestamp"
    assert store.list_records("notes") == []
    assert dates(store, "contacts", ann.id) == (None, None)


def test_activity_on_several_records_updates_each(store: Store) -> None:
    ann, bob, acme = contact(store), contact(store), company(store)
    activity(
        store, "meetings", MAY_1, ("contacts", ann.id), ("contacts", bob.id), ("companies", acme.id)
    )
    for object_name, record_id in (
        ("contacts", ann.id),
        ("contacts", bob.id),
        ("companies", acme.id),
    ):
        assert dates(store, object_name, record_id) == (MAY_1, MAY_1)
