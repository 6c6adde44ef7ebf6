"""Associations: typed and labelled links between records, readable from both sides.

Also the counts the store keeps from them: companies count their live contacts and deals.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from store import (
    MAX_LABELS_PER_PAIR,
    NotFoundError,
    Record,
    SchemaError,
    SourceType,
    Store,
    ValidationError,
)
from tests.conftest import API
from tests.integration._store_helpers import (
    company,
    contact,
    deal,
    labels_between,
    snapshot,
)


def journal_links(store: Store, after: int) -> list[tuple[str, str, int, int, str | None]]:
    """(op, object, record, other record, label) of association rows after seq ``after``."""
    rows = (
        (e.op, e.object, e.record_id, e.changes["to_id"], e.changes["label"])
        for e in store.read_journal(after)
        if e.op in ("associate", "dissociate") and e.changes
    )
    return sorted(rows, key=lambda row: (*row[:4], row[4] or ""))


def test_an_association_is_seen_from_both_records(store: Store) -> None:
    ann, acme = contact(store), company(store)
    chosen = store.associate("contacts", ann.id, "companies", acme.id, API)

    assert chosen.label is None and chosen.category == "HUBSPOT_DEFINED"
    (from_ann,) = store.list_associations("contacts", ann.id)
    assert (from_ann.to_object, from_ann.to_id) == ("companies", acme.id)
    (from_acme,) = store.list_associations("companies", acme.id, "contacts")
    assert (from_acme.to_object, from_acme.to_id) == ("contacts", ann.id)
    assert from_acme.labels[0].type_id == chosen.inverse_type_id


def test_associating_twice_changes_nothing(store: Store) -> None:
    ann, acme = contact(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API)
    before = snapshot(store)
    store.associate("companies", acme.id, "contacts", ann.id, API)
    assert snapshot(store) == before


def test_associate_and_dissociate_are_journaled_for_both_sides(store: Store) -> None:
    ann, acme = contact(store), company(store)
    head = store.journal_head()
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    assert journal_links(store, head) == [
        ("associate", "companies", acme.id, ann.id, None),
        ("associate", "companies", acme.id, ann.id, "Primary"),
        ("associate", "contacts", ann.id, acme.id, None),
        ("associate", "contacts", ann.id, acme.id, "Primary"),
    ]
    assert {e.source_type for e in store.read_journal(head) if e.op == "associate"} == {
        SourceType.API
    }
    head = store.journal_head()
    assert store.dissociate("contacts", ann.id, "companies", acme.id, API) == 4
    assert journal_links(store, head) == [
        ("dissociate", "contacts", ann.id, acme.id, None),
        ("dissociate", "contacts", ann.id, acme.id, "Primary"),
    ]


def test_primary_company_moves_and_there_is_only_ever_one(store: Store) -> None:
    ann, acme, globex = contact(store), company(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    assert store.get_record("contacts", ann.id).properties["associatedcompanyid"] == str(acme.id)

    store.associate("contacts", ann.id, "companies", globex.id, API, label="primary")

    assert labels_between(store, "contacts", ann.id, "companies", globex.id) == {
        "(default)",
        "Primary",
    }
    # The old primary stays associated, no longer primary.
    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {"(default)"}
    assert store.get_record("contacts", ann.id).properties["associatedcompanyid"] == str(globex.id)


def test_primary_set_from_the_company_side_moves_only_that_contacts_primary(
    store: Store,
) -> None:
    ann, bob = contact(store), contact(store)
    acme, globex = company(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    store.associate("contacts", bob.id, "companies", globex.id, API, label="Primary")

    store.associate("companies", acme.id, "contacts", bob.id, API, label="Primary")

    # A company may be the primary of many contacts; a contact has one primary company.
    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {
        "(default)",
        "Primary",
    }
    assert labels_between(store, "contacts", bob.id, "companies", acme.id) == {
        "(default)",
        "Primary",
    }
    assert labels_between(store, "contacts", bob.id, "companies", globex.id) == {"(default)"}
    assert store.get_record("contacts", ann.id).properties["associatedcompanyid"] == str(acme.id)
    assert store.get_record("contacts", bob.id).properties["associatedcompanyid"] == str(acme.id)


def test_removing_the_primary_label_clears_the_primary_company(store: Store) -> None:
    ann, acme = contact(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    assert store.dissociate("contacts", ann.id, "companies", acme.id, API, label="Primary") == 2
    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {"(default)"}
    assert "associatedcompanyid" not in store.get_record("contacts", ann.id).properties


def test_paired_labels_read_each_way(store: Store) -> None:
    manager, employee = store.create_label("contacts", "contacts", "Manager", "Employee")
    assert (manager.label, employee.label) == ("Manager", "Employee")
    assert manager.inverse_type_id == employee.type_id
    assert employee.inverse_type_id == manager.type_id
    assert manager.category == employee.category == "USER_DEFINED"
    assert {x.label for x in store.list_labels("contacts", "contacts")} >= {"Manager", "Employee"}

    boss, worker = contact(store), contact(store)
    store.associate("contacts", boss.id, "contacts", worker.id, API, label="Manager")

    assert labels_between(store, "contacts", boss.id, "contacts", worker.id) == {
        "(default)",
        "Manager",
    }
    assert labels_between(store, "contacts", worker.id, "contacts", boss.id) == {
        "(default)",
        "Employee",
    }


def test_dissociating_a_paired_label_journals_each_removed_label_once(store: Store) -> None:
    store.create_label("contacts", "contacts", "Manager", "Employee")
    boss, worker = contact(store), contact(store)
    store.associate("contacts", boss.id, "contacts", worker.id, API, label="Manager")
    head = store.journal_head()

    assert store.dissociate("contacts", boss.id, "contacts", worker.id, API) == 4

    assert store.list_associations("contacts", boss.id) == []
    assert store.list_associations("contacts", worker.id) == []
    assert journal_links(store, head) == [
        ("dissociate", "contacts", boss.id, worker.id, None),
        ("dissociate", "contacts", boss.id, worker.id, "Manager"),
    ]


def test_several_labels_between_the_same_two_records(store: Store) -> None:
    store.create_label("contacts", "companies", "Billing contact")
    store.create_label("contacts", "companies", "Decision maker")
    ann, acme = contact(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Billing contact")
    store.associate("contacts", ann.id, "companies", acme.id, API, label="decision MAKER")

    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {
        "(default)",
        "Billing contact",
        "Decision maker",
    }
    # A single label without an inverse reads the same from the other side.
    assert labels_between(store, "companies", acme.id, "contacts", ann.id) == {
        "(default)",
        "Billing contact",
        "Decision maker",
    }

    assert (
        store.dissociate("contacts", ann.id, "companies", acme.id, API, label="Billing contact")
        == 2
    )
    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {
        "(default)",
        "Decision maker",
    }
    store.dissociate("companies", acme.id, "contacts", ann.id, API)
    assert store.list_associations("contacts", ann.id) == []
    assert store.list_associations("companies", acme.id) == []


def test_dissociating_what_is_not_there_removes_nothing(store: Store) -> None:
    ann, acme = contact(store), company(store)
    before = snapshot(store)
    assert store.dissociate("contacts", ann.id, "companies", acme.id, API) == 0
    assert snapshot(store) == before


def test_archiving_a_record_hides_its_associations_and_restoring_brings_them_back(
    store: Store,
) -> None:
    ann, acme = contact(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    store.archive_records("contacts", [ann.id], API)
    assert store.list_associations("companies", acme.id) == []

    store.restore_records("contacts", [ann.id], API)
    assert labels_between(store, "companies", acme.id, "contacts", ann.id) == {
        "(default)",
        "Primary",
    }


def test_archiving_the_primary_company_clears_it_until_restored(store: Store) -> None:
    ann, acme = contact(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    store.archive_records("companies", [acme.id], API)
    assert store.list_associations("contacts", ann.id) == []
    assert "associatedcompanyid" not in store.get_record("contacts", ann.id).properties

    store.restore_records("companies", [acme.id], API)
    assert store.get_record("contacts", ann.id).properties["associatedcompanyid"] == str(acme.id)


def test_a_record_can_be_created_with_its_associations_in_one_write(store: Store) -> None:
    acme = company(store)
    ann = store.create_record(
        "contacts",
        {"email": "ann@example.com"},
        API,
        associations=[("companies", acme.id, "Primary")],
    )
    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {
        "(default)",
        "Primary",
    }
    assert store.get_record("contacts", ann.id).properties["associatedcompanyid"] == str(acme.id)


def test_a_failed_association_in_a_create_leaves_no_record(store: Store) -> None:
    acme = company(store)
    before = snapshot(store)
    with pytest.raises(NotFoundError):
        store.create_record(
            "contacts",
            {"email": "ann@example.com"},
            API,
            associations=[("companies", acme.id + 99, None)],
        )
    assert snapshot(store) == before


REFUSED = [
    ("archived-record", "archived", None, NotFoundError, "no contacts record"),
    ("unknown-record", "unknown", None, NotFoundError, "no companies record"),
    ("unknown-label", "live", "Primery", NotFoundError, "did you mean 'Primary'"),
    ("itself", "self", None, ValidationError, "itself"),
]


@pytest.mark.parametrize(
    ("target", "label", "error", "message"),
    [c[1:] for c in REFUSED],
    ids=[c[0] for c in REFUSED],
)
def test_an_impossible_association_is_refused(
    store: Store, target: str, label: str | None, error: type[Exception], message: str
) -> None:
    ann, acme = contact(store), company(store)
    if target == "archived":
        store.archive_records("contacts", [ann.id], API)
    before = snapshot(store)
    with pytest.raises(error, match=message):
        if target == "self":
            store.create_label("companies", "companies", "Sister")
            store.associate("companies", acme.id, "companies", acme.id, API, label="Sister")
        else:
            to_id = acme.id + 99 if target == "unknown" else acme.id
            store.associate("contacts", ann.id, "companies", to_id, API, label=label)
    assert snapshot(store) == before
    assert store.list_associations("companies", acme.id) == []


def test_objects_without_an_association_type_cannot_be_linked(store: Store) -> None:
    note = store.create_record("notes", {"hs_timestamp": "2024-01-01T00:00:00Z"}, API)
    call = store.create_record("calls", {"hs_timestamp": "2024-01-01T00:00:00Z"}, API)
    with pytest.raises(ValidationError, match="cannot be associated"):
        store.associate("notes", note.id, "calls", call.id, API)


@pytest.mark.parametrize(
    ("label", "inverse", "reason"),
    [
        ("", None, "1 to 100"),
        ("x" * 101, None, "1 to 100"),
        ("Primary", None, "already exists"),
        ("primary", None, "already exists"),
        ("Fine", "   ", "1 to 100"),
    ],
    ids=["empty", "too-long", "taken", "taken-other-case", "blank-inverse"],
)
def test_an_invalid_label_is_refused(
    store: Store, label: str, inverse: str | None, reason: str
) -> None:
    before = store.list_labels("contacts", "companies")
    with pytest.raises(SchemaError, match=reason):
        store.create_label("contacts", "companies", label, inverse)
    assert store.list_labels("contacts", "companies") == before


def test_at_most_ten_labels_per_pair(store: Store) -> None:
    for i in range(MAX_LABELS_PER_PAIR):
        store.create_label("deals", "tickets", f"Label {i}")
    with pytest.raises(SchemaError, match=f"at most {MAX_LABELS_PER_PAIR}"):
        store.create_label("deals", "tickets", "One more")


def test_a_label_on_a_pair_that_cannot_associate_is_refused(store: Store) -> None:
    with pytest.raises(SchemaError, match="cannot be associated"):
        store.create_label("notes", "calls", "Follow-up")


# ---------------------------------------------------------------- counts


def count(store: Store, object_name: str, record_id: int, prop: str) -> str | None:
    return store.get_record(object_name, record_id).properties.get(prop)


COUNTED = [
    ("companies", "contacts", "num_associated_contacts"),
    ("companies", "deals", "num_associated_deals"),
    ("contacts", "deals", "num_associated_deals"),
    ("deals", "contacts", "num_associated_contacts"),
]


@pytest.mark.parametrize(
    ("object_name", "other_object", "prop"), COUNTED, ids=[f"{c[0]}-{c[2]}" for c in COUNTED]
)
def test_a_count_reads_zero_before_the_first_association_and_after_the_last(
    store: Store, object_name: str, other_object: str, prop: str
) -> None:
    make: dict[str, Callable[[Store], Record]] = {
        "companies": company,
        "contacts": contact,
        "deals": deal,
    }
    record, other = make[object_name](store), make[other_object](store)
    assert record.properties[prop] == "0"
    assert store.property_history(object_name, record.id, prop) == []  # read as 0, not written

    store.associate(object_name, record.id, other_object, other.id, API)
    assert count(store, object_name, record.id, prop) == "1"
    store.dissociate(other_object, other.id, object_name, record.id, API)
    assert count(store, object_name, record.id, prop) == "0"


def test_a_company_counts_its_live_contacts(store: Store) -> None:
    acme = company(store)
    ann, bob = contact(store), contact(store)
    store.associate("contacts", ann.id, "companies", acme.id, API)
    store.associate("companies", acme.id, "contacts", bob.id, API, label="Primary")
    assert count(store, "companies", acme.id, "num_associated_contacts") == "2"

    store.archive_records("contacts", [ann.id], API)
    assert count(store, "companies", acme.id, "num_associated_contacts") == "1"
    store.restore_records("contacts", [ann.id], API)
    assert count(store, "companies", acme.id, "num_associated_contacts") == "2"
    store.dissociate("contacts", bob.id, "companies", acme.id, API)
    assert count(store, "companies", acme.id, "num_associated_contacts") == "1"
    store.dissociate("companies", acme.id, "contacts", ann.id, API)
    assert count(store, "companies", acme.id, "num_associated_contacts") == "0"


def test_a_labelled_association_counts_once(store: Store) -> None:
    acme, ann = company(store), contact(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    assert count(store, "companies", acme.id, "num_associated_contacts") == "1"


def test_deal_counts_follow_associations_on_companies_contacts_and_deals(store: Store) -> None:
    acme, ann = company(store), contact(store)
    big, small = deal(store, "Big"), deal(store, "Small")
    for d in (big, small):
        store.associate("deals", d.id, "companies", acme.id, API)
        store.associate("deals", d.id, "contacts", ann.id, API)
    assert count(store, "companies", acme.id, "num_associated_deals") == "2"
    assert count(store, "contacts", ann.id, "num_associated_deals") == "2"
    assert count(store, "deals", big.id, "num_associated_contacts") == "1"

    store.archive_records("deals", [small.id], API)
    assert count(store, "companies", acme.id, "num_associated_deals") == "1"
    assert count(store, "contacts", ann.id, "num_associated_deals") == "1"


def test_counts_are_written_as_calculated_changes(store: Store) -> None:
    acme, ann = company(store), contact(store)
    store.associate("contacts", ann.id, "companies", acme.id, API)
    (entry,) = store.property_history("companies", acme.id, "num_associated_contacts")
    assert (entry.value, entry.source_type) == ("1", SourceType.CALCULATED)
    journal = [e for e in store.read_journal() if e.op == "update" and e.record_id == acme.id]
    assert journal[-1].source_type is SourceType.CALCULATED
    assert journal[-1].changes is not None
    assert journal[-1].changes["num_associated_contacts"] == [None, "1"]
