"""Records: create, read, update, archive and restore, with values checked and history kept.

A refused write must leave no trace: the record, its property history and the journal are
exactly as before.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from store import (
    ChangeSource,
    DuplicateError,
    NotFoundError,
    OptionSpec,
    PropertySpec,
    Record,
    SourceType,
    Store,
    ValidationError,
)
from tests.conftest import API
from tests.integration._store_helpers import (
    company,
    contact,
    deal,
    props_without_automatic,
    snapshot,
)

SHOP = ChangeSource(SourceType.INTEGRATION, "shop-customers")


@pytest.fixture
def interests(store: Store) -> str:
    """A custom checkbox property on contacts with options a, b, c."""
    store.create_property(
        "contacts",
        PropertySpec(
            name="interests",
            label="Interests",
            type="enumeration",
            field_type="checkbox",
            options=tuple(OptionSpec(v, v.upper()) for v in ("a", "b", "c")),
        ),
    )
    return "interests"


def test_created_record_reads_back_with_its_values_and_automatic_properties(
    store: Store,
) -> None:
    created = store.create_record(
        "contacts",
        {"email": "ann@example.com", "firstname": "Ann", "lifecyclestage": "lead"},
        API,
    )
    got = store.get_record("contacts", created.id)

    assert got == created
    assert props_without_automatic(got) == {
        "email": "ann@example.com",
        "firstname": "Ann",
        "lifecyclestage": "lead",
    }
    assert got.properties["hs_object_id"] == str(created.id)
    assert got.properties["createdate"] == got.properties["hs_lastmodifieddate"]
    assert got.properties["lastmodifieddate"] == got.properties["hs_lastmodifieddate"]
    assert got.properties["createdate"].endswith("Z")
    assert got.created_at.utcoffset() == timedelta(0)
    assert not got.archived and got.archived_at is None and got.merged_into is None


STORED_FORMS = [
    ("deal-amount-trailing-zero", "deals", "amount", "1500.50", "1500.5"),
    ("deal-closedate-offset-to-utc", "deals", "closedate", "2024-05-01T11:30:00+02:00",
     "2024-05-01T09:30:00.000Z"),
    ("deal-closedate-epoch-ms", "deals", "closedate", 1714555800000, "2024-05-01T09:30:00.000Z"),
    ("company-bool", "companies", "is_public", True, "true"),
    ("company-employees", "companies", "numberofemployees", "1e3", "1000"),
    ("contact-phone-kept-as-typed", "contacts", "phone", "+1 (415) 555-2671",
     "+1 (415) 555-2671"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("object_name", "prop", "raw", "stored"),
    [c[1:] for c in STORED_FORMS],
    ids=[c[0] for c in STORED_FORMS],
)
def test_values_are_stored_in_their_canonical_form(
    store: Store, object_name: str, prop: str, raw: object, stored: str
) -> None:
    required = {"deals": {"dealname": "D", "dealstage": "qualifiedtobuy"}}.get(object_name, {})
    created = store.create_record(object_name, {**required, prop: raw}, API)
    assert store.get_record(object_name, created.id).properties[prop] == stored


def test_update_changes_only_the_given_properties(store: Store) -> None:
    ann = contact(store, "ann@example.com", firstname="Ann", lastname="Lee")
    updated = store.update_record("contacts", ann.id, {"firstname": "Anna"}, API)

    got = store.get_record("contacts", ann.id)
    assert got == updated
    assert props_without_automatic(got) == {
        "email": "ann@example.com",
        "firstname": "Anna",
        "lastname": "Lee",
    }
    assert got.properties["createdate"] == ann.properties["createdate"]
    assert got.updated_at >= ann.updated_at
    assert got.properties["hs_lastmodifieddate"] >= ann.properties["hs_lastmodifieddate"]


def test_update_to_the_same_value_writes_nothing(store: Store) -> None:
    ann = contact(store, "ann@example.com", firstname="Ann")
    before = snapshot(store)
    same = store.update_record(
        "contacts", ann.id, {"firstname": "Ann", "email": "ann@example.com"}, API
    )
    assert same.updated_at == ann.updated_at
    assert snapshot(store) == before


@pytest.mark.parametrize("empty", [None, ""], ids=["none", "empty-string"])
def test_clearing_a_value_removes_it_and_is_recorded(store: Store, empty: object) -> None:
    ann = contact(store, firstname="Ann")
    store.update_record("contacts", ann.id, {"firstname": empty}, API)

    assert "firstname" not in store.get_record("contacts", ann.id).properties
    assert store.property_history("contacts", ann.id, "firstname")[0].value is None
    last = store.read_journal()[-1]
    assert (last.op, last.changes) == ("update", {"firstname": ["Ann", None]})


def test_history_keeps_every_value_with_time_and_source(store: Store) -> None:
    ann = contact(store, firstname="Ann")
    store.update_record("contacts", ann.id, {"firstname": "Anna"}, SHOP)
    store.update_record("contacts", ann.id, {"firstname": "Annie", "lastname": "Lee"}, API)

    history = store.property_history("contacts", ann.id, "firstname")
    assert [(h.value, h.source_type, h.source_id) for h in history] == [
        ("Annie", SourceType.API, "test-token"),
        ("Anna", SourceType.INTEGRATION, "shop-customers"),
        ("Ann", SourceType.API, "test-token"),
    ]
    assert history[0].timestamp >= history[1].timestamp >= history[2].timestamp
    assert all(h.timestamp.tzinfo is not None for h in history)
    everything = store.property_history("contacts", ann.id)
    assert {h.property for h in everything} == {"email", "firstname", "lastname"}


def test_history_of_an_unknown_property_or_record_is_refused(store: Store) -> None:
    ann = contact(store)
    with pytest.raises(NotFoundError, match="did you mean 'firstname'"):
        store.property_history("contacts", ann.id, "firstnam")
    with pytest.raises(NotFoundError):
        store.property_history("contacts", ann.id + 1000)


def test_journal_rows_carry_values_and_source(store: Store) -> None:
    ann = store.create_record("contacts", {"email": "ann@example.com", "firstname": "Ann"}, SHOP)
    store.update_record("contacts", ann.id, {"firstname": "Anna"}, API)

    create, update = store.read_journal()
    assert (create.op, create.object, create.record_id) == ("create", "contacts", ann.id)
    assert create.changes == {"email": [None, "ann@example.com"], "firstname": [None, "Ann"]}
    assert (create.source_type, create.source_id) == (SourceType.INTEGRATION, "shop-customers")
    assert (update.op, update.changes) == ("update", {"firstname": ["Ann", "Anna"]})
    assert (update.source_type, update.source_id) == (SourceType.API, "test-token")


def test_archive_hides_a_record_and_restore_brings_it_back(store: Store) -> None:
    ann = contact(store, firstname="Ann")
    bob = contact(store)
    store.archive_records("contacts", [ann.id], API)

    with pytest.raises(NotFoundError) as caught:
        store.get_record("contacts", ann.id)
    assert caught.value.data["record_id"] == ann.id
    archived = store.get_record("contacts", ann.id, include_archived=True)
    assert archived.archived and archived.archived_at is not None
    assert [r.id for r in store.list_records("contacts")] == [bob.id]
    assert [r.id for r in store.list_records("contacts", archived=True)] == [ann.id]
    assert store.get_records("contacts", [ann.id, bob.id]).keys() == {bob.id}

    restored = store.restore_records("contacts", [ann.id], API)
    assert [r.id for r in restored] == [ann.id]
    got = store.get_record("contacts", ann.id)
    assert not got.archived and got.archived_at is None
    assert got.properties["firstname"] == "Ann"
    assert [(e.op, e.record_id) for e in store.read_journal()[-2:]] == [
        ("archive", ann.id),
        ("restore", ann.id),
    ]


def test_restore_with_changes_checks_unique_values_against_what_the_record_comes_back_with(
    store: Store,
) -> None:
    """A sync restores Ann with the edit that moved her email away from the one Bea took
    meanwhile: one step, checked against the new email; an edit onto a value Bea holds
    leaves Ann archived and holding nothing, as she was."""
    ann = store.create_record("contacts", {"email": "ann@x.io", "firstname": "Ann"}, API)
    store.archive_records("contacts", [ann.id], API)
    bea = store.create_record("contacts", {"email": "ann@x.io", "firstname": "Bea"}, API)
    before = snapshot(store)

    refused = store.sync_write(
        "shop",
        lambda tx: tx.restore_records(
            "contacts", [ann.id], {ann.id: {"email": "ANN@x.io", "firstname": "Anna"}}
        ),
    )
    assert isinstance(refused[0], DuplicateError)
    assert snapshot(store) == before

    (restored,) = store.sync_write(
        "shop",
        lambda tx: tx.restore_records(
            "contacts", [ann.id], {ann.id: {"email": "ann@y.io", "lastname": "L"}}
        ),
    )
    assert isinstance(restored, Record) and not restored.archived
    assert restored.properties["email"] == "ann@y.io" and restored.properties["lastname"] == "L"
    assert store.find_record("contacts", "email", "ann@y.io").id == ann.id
    assert store.find_record("contacts", "email", "ann@x.io").id == bea.id
    assert [(e.op, e.record_id) for e in store.read_journal()[-2:]] == [
        ("restore", ann.id),
        ("update", ann.id),
    ]
    history = store.property_history("contacts", ann.id, "email")
    assert history[0].value == "ann@y.io" and history[0].source_id == "shop"


def test_archiving_an_archived_record_or_restoring_a_live_one_changes_nothing(
    store: Store,
) -> None:
    ann, bob = contact(store), contact(store)
    store.archive_records("contacts", [ann.id], API)
    before = snapshot(store)
    store.archive_records("contacts", [ann.id], API)
    store.restore_records("contacts", [bob.id], API)
    assert snapshot(store) == before


def test_archive_with_an_unknown_id_archives_nothing(store: Store) -> None:
    ann = contact(store)
    before = snapshot(store)
    with pytest.raises(NotFoundError):
        store.archive_records("contacts", [ann.id, ann.id + 1000], API)
    assert snapshot(store) == before


def test_restore_with_an_unknown_id_restores_nothing(store: Store) -> None:
    ann = contact(store)
    store.archive_records("contacts", [ann.id], API)
    before = snapshot(store)
    with pytest.raises(NotFoundError):
        store.restore_records("contacts", [ann.id, ann.id + 1000], API)
    assert snapshot(store) == before


@pytest.mark.parametrize("archived_first", [False, True], ids=["unknown", "archived"])
def test_updating_a_missing_record_is_not_found(store: Store, archived_first: bool) -> None:
    ann = contact(store)
    target = ann.id if archived_first else ann.id + 1000
    if archived_first:
        store.archive_records("contacts", [ann.id], API)
    before = snapshot(store)
    with pytest.raises(NotFoundError):
        store.update_record("contacts", target, {"firstname": "X"}, API)
    assert snapshot(store) == before


def test_records_of_another_object_are_not_found_by_id(store: Store) -> None:
    acme = company(store)
    with pytest.raises(NotFoundError):
        store.get_record("contacts", acme.id)
    with pytest.raises(NotFoundError):
        store.update_record("contacts", acme.id, {"firstname": "X"}, API)


def test_list_records_pages_in_id_order(store: Store) -> None:
    ids = [contact(store).id for _ in range(5)]
    first = store.list_records("contacts", limit=2)
    second = store.list_records("contacts", after=first[-1].id, limit=2)
    third = store.list_records("contacts", after=second[-1].id, limit=2)
    assert [r.id for r in first + second + third] == ids


def test_checkbox_values_replace_or_with_a_leading_semicolon_append(
    store: Store, interests: str
) -> None:
    ann = contact(store, interests="a")
    steps = [(";b", "a;b"), (";a", "a;b"), ("c", "c"), (";a;b", "c;a;b")]
    for raw, stored in steps:
        got = store.update_record("contacts", ann.id, {interests: raw}, API)
        assert got.properties[interests] == stored, raw


BAD_VALUES = [
    ("email-format", "contacts", "email", "not-an-email", "email address"),
    ("phone-words", "contacts", "phone", "call me maybe", "phone number"),
    ("number-text", "deals", "amount", "12abc", "expected a number"),
    ("datetime-not-a-day", "deals", "closedate", "2023-02-30T10:00:00Z", "ISO 8601"),
]

_EXISTING = {
    "contacts": {"email": "keep@example.com", "firstname": "Keep"},
    "companies": {"domain": "keep.example.com", "name": "Keep"},
    "deals": {"dealname": "Keep", "dealstage": "qualifiedtobuy"},
}


@pytest.mark.parametrize(
    ("object_name", "prop", "raw", "rule"),
    [c[1:] for c in BAD_VALUES],
    ids=[c[0] for c in BAD_VALUES],
)
@pytest.mark.parametrize("operation", ["create", "update"])
def test_a_bad_value_is_a_typed_error_and_nothing_of_the_write_is_stored(
    store: Store, object_name: str, prop: str, raw: object, rule: str, operation: str
) -> None:
    existing = store.create_record(object_name, _EXISTING[object_name], API)
    before = snapshot(store)
    # A good value beside the bad one must not be stored either.
    good = {"name": "Changed"} if object_name != "contacts" else {"firstname": "Changed"}
    if object_name == "deals":
        good = {"dealname": "Changed"}
    with pytest.raises(ValidationError) as caught:
        if operation == "create":
            store.create_record(object_name, {**_EXISTING[object_name], **good, prop: raw}, API)
        else:
            store.update_record(object_name, existing.id, {**good, prop: raw}, API)

    error = caught.value
    assert (error.object_name, error.property_name, error.value) == (object_name, prop, raw)
    assert rule in error.rule and rule in str(error)
    assert snapshot(store) == before


READ_ONLY = [
    ("record-id", "contacts", "hs_object_id", "42"),
    ("create-date", "contacts", "createdate", "2024-01-01T00:00:00Z"),
    ("contact-count", "companies", "num_associated_contacts", "3"),
    ("last-activity", "contacts", "notes_last_updated", "2024-01-01T00:00:00Z"),
    ("primary-company", "contacts", "associatedcompanyid", "1"),
]


@pytest.mark.parametrize(
    ("object_name", "prop", "raw"), [c[1:] for c in READ_ONLY], ids=[c[0] for c in READ_ONLY]
)
def test_properties_the_store_maintains_cannot_be_written(
    store: Store, object_name: str, prop: str, raw: str
) -> None:
    record = store.create_record(object_name, {}, API)
    before = snapshot(store)
    with pytest.raises(ValidationError, match="read-only"):
        store.create_record(object_name, {prop: raw}, API)
    with pytest.raises(ValidationError, match="read-only"):
        store.update_record(object_name, record.id, {prop: raw}, API)
    assert snapshot(store) == before


def test_required_properties_must_be_given_and_cannot_be_cleared(store: Store) -> None:
    with pytest.raises(ValidationError) as caught:
        store.create_record("deals", {"dealname": "No stage"}, API)
    assert caught.value.property_name == "dealstage"
    big = deal(store)
    before = snapshot(store)
    with pytest.raises(ValidationError, match="required"):
        store.update_record("deals", big.id, {"dealname": None}, API)
    assert snapshot(store) == before


def test_datetimes_are_stored_in_utc_whatever_offset_they_came_with(store: Store) -> None:
    a = deal(store, closedate="2024-05-01T23:30:00-05:00")
    b = deal(store, closedate="2024-05-02T06:30:00+02:00")
    for record in (a, b):
        stored = store.get_record("deals", record.id)
        assert stored.properties["closedate"] == "2024-05-02T04:30:00.000Z"
        assert stored.created_at.tzinfo is not None
        assert stored.created_at == stored.created_at.astimezone(UTC)


def test_get_of_a_record_returns_a_value_the_caller_cannot_corrupt(store: Store) -> None:
    ann = contact(store, firstname="Ann")
    got = store.get_record("contacts", ann.id)
    got.properties["firstname"] = "Mallory"
    assert store.get_record("contacts", ann.id).properties["firstname"] == "Ann"


def _ids(records: list[Record]) -> list[int]:
    return [r.id for r in records]


def test_get_records_answers_only_live_ids_it_knows(store: Store) -> None:
    a, b, c = contact(store), contact(store), contact(store)
    store.archive_records("contacts", [b.id], API)
    found = store.get_records("contacts", [a.id, b.id, c.id, c.id + 100])
    assert sorted(found) == [a.id, c.id]
    with_archived = store.get_records("contacts", [a.id, b.id], include_archived=True)
    assert sorted(with_archived) == _ids([a, b])
