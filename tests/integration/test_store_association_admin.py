"""Associations by type id and in batches; labels renamed and deleted; definitions managed.

What HubSpot's v4 API needs from the store: a batch answered per pair in one transaction
(a failing pair writes nothing of itself and stops nothing else), a pair's labels replaced
exactly, paging by other-record id, and label administration that never strands a link.
"""

from __future__ import annotations

import pytest

from store import (
    MAX_LINKS,
    LinkRequest,
    NotFoundError,
    ObjectSpec,
    PropertySpec,
    SchemaError,
    Store,
    ValidationError,
)
from store.errors import RecordWriteError
from tests.conftest import API
from tests.integration._store_helpers import company, contact, labels_between, snapshot

CONTACT_TO_COMPANY = 279
PRIMARY = 1


def billing(store: Store) -> tuple[int, int]:
    made = store.create_label("contacts", "companies", "Billing contact", "Billed company")
    (forward,) = made
    return forward.type_id, forward.inverse_type_id


# ------------------------------------------------------------------ set_associations


def test_a_batch_links_every_valid_pair_and_reports_the_others(store: Store) -> None:
    ann, bob = contact(store), contact(store)
    acme = company(store)
    outcomes = store.set_associations(
        "contacts",
        "companies",
        [
            LinkRequest(ann.id, acme.id, (PRIMARY,)),
            LinkRequest(999_999, acme.id),
            LinkRequest(bob.id, acme.id, (424_242,)),
            LinkRequest(bob.id, acme.id),
        ],
        API,
    )
    first, missing, bad_type, last = outcomes
    assert not isinstance(first, Exception)
    assert {x.label for x in first.labels} == {None, "Primary"}
    assert isinstance(missing, NotFoundError)
    assert isinstance(bad_type, ValidationError) and "424242" in str(bad_type)
    assert not isinstance(last, Exception) and [x.label for x in last.labels] == [None]
    assert labels_between(store, "contacts", bob.id, "companies", acme.id) == {"(default)"}


def test_replace_leaves_exactly_the_types_asked_for(store: Store) -> None:
    forward, _ = billing(store)
    ann, acme = contact(store), company(store)
    store.set_associations(
        "contacts", "companies", [LinkRequest(ann.id, acme.id, (forward, PRIMARY))], API
    )
    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {
        "(default)",
        "Primary",
        "Billing contact",
    }
    (after,) = store.set_associations(
        "contacts", "companies", [LinkRequest(ann.id, acme.id, (forward,))], API, replace=True
    )
    assert not isinstance(after, Exception)
    assert {x.label for x in after.labels} == {None, "Billing contact"}
    assert labels_between(store, "companies", acme.id, "contacts", ann.id) == {
        "(default)",
        "Billed company",
    }
    store.set_associations(
        "contacts", "companies", [LinkRequest(ann.id, acme.id, (CONTACT_TO_COMPANY,))], API,
        replace=True,
    )  # fmt: skip
    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {"(default)"}


def test_a_failing_pair_writes_nothing_of_itself(store: Store) -> None:
    forward, _ = billing(store)
    ann, acme = contact(store), company(store)
    before = snapshot(store)
    (outcome,) = store.set_associations(
        "contacts", "companies", [LinkRequest(ann.id, acme.id, (forward, 424_242))], API
    )
    assert isinstance(outcome, ValidationError)
    assert snapshot(store) == before


def test_a_record_cannot_be_linked_to_itself(store: Store) -> None:
    ann = contact(store)
    (outcome,) = store.set_associations("contacts", "contacts", [LinkRequest(ann.id, ann.id)], API)
    assert isinstance(outcome, ValidationError)


def test_too_many_links_are_refused_before_anything(store: Store) -> None:
    with pytest.raises(RecordWriteError, match=str(MAX_LINKS)):
        store.set_associations("contacts", "companies", [LinkRequest(1, 2)] * (MAX_LINKS + 1), API)


def test_remove_association_types_removes_labels_or_everything(store: Store) -> None:
    forward, _ = billing(store)
    ann, acme = contact(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Billing contact")
    store.remove_association_types(
        "contacts", "companies", [LinkRequest(ann.id, acme.id, (forward,))], API
    )
    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {"(default)"}
    store.remove_association_types(
        "contacts", "companies", [LinkRequest(ann.id, acme.id), LinkRequest(999_999, 1)], API
    )
    assert store.list_associations("contacts", ann.id) == []
    with pytest.raises(ValidationError):
        store.remove_association_types(
            "contacts", "companies", [LinkRequest(ann.id, acme.id, (424_242,))], API
        )


# ------------------------------------------------------------------ paging


def test_associations_are_paged_by_other_record_id(store: Store) -> None:
    ann = contact(store)
    companies = [company(store) for _ in range(5)]
    for c in companies:
        store.associate("contacts", ann.id, "companies", c.id, API)
    store.archive_records("companies", [companies[1].id], API)
    live = [c.id for c in companies if c.id != companies[1].id]
    first = store.associations_page("contacts", ann.id, "companies", limit=2)
    assert [a.to_id for a in first.associations] == live[:2]
    assert first.next_after == live[1]
    rest = store.associations_page("contacts", ann.id, "companies", after=first.next_after)
    assert [a.to_id for a in rest.associations] == live[2:] and rest.next_after is None
    pages = store.associations_pages("contacts", [(ann.id, 0), (999_999, 0)], "companies")
    assert not isinstance(pages[0], Exception) and len(pages[0].associations) == 4
    assert isinstance(pages[1], NotFoundError)
    with pytest.raises(NotFoundError):
        store.associations_page("contacts", 999_999, "companies")


# ------------------------------------------------------------------ labels


def test_a_paired_label_is_renamed_each_way(store: Store) -> None:
    forward, inverse = billing(store)
    ann, acme = contact(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Billing contact")
    renamed = store.update_label("contacts", "companies", forward, "Payer")
    assert {(x.type_id, x.label) for x in renamed} == {
        (forward, "Payer"),
        (inverse, "Billed company"),
    }
    store.update_label("contacts", "companies", forward, "Payer", inverse="Payee")
    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {
        "(default)",
        "Payer",
    }
    assert labels_between(store, "companies", acme.id, "contacts", ann.id) == {
        "(default)",
        "Payee",
    }


def test_an_unpaired_label_is_renamed_both_ways(store: Store) -> None:
    (made,) = store.create_label("contacts", "companies", "Supplier")
    store.update_label("contacts", "companies", made.type_id, "Vendor")
    assert "Vendor" in {x.label for x in store.list_labels("companies", "contacts")}


def test_label_changes_are_refused_for_builtin_clashing_and_unknown_types(store: Store) -> None:
    forward, _ = billing(store)
    store.create_label("contacts", "companies", "Supplier")
    with pytest.raises(SchemaError, match="HUBSPOT_DEFINED"):
        store.update_label("contacts", "companies", PRIMARY, "Main")
    with pytest.raises(SchemaError, match="already exists"):
        store.update_label("contacts", "companies", forward, "supplier")
    with pytest.raises(SchemaError, match="1 to 100"):
        store.update_label("contacts", "companies", forward, "")
    with pytest.raises(NotFoundError):
        store.update_label("contacts", "companies", 424_242, "X")
    with pytest.raises(NotFoundError):
        store.delete_label("companies", "contacts", forward)  # the wrong direction


def test_a_label_in_use_is_not_deleted(store: Store) -> None:
    forward, inverse = billing(store)
    ann, acme = contact(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Billing contact")
    with pytest.raises(SchemaError, match="in use"):
        store.delete_label("contacts", "companies", forward)
    store.dissociate("contacts", ann.id, "companies", acme.id, API, label="Billing contact")
    store.delete_label("contacts", "companies", forward)
    remaining = {x.type_id for x in store.list_labels("contacts", "companies")}
    remaining |= {x.type_id for x in store.list_labels("companies", "contacts")}
    assert not {forward, inverse} & remaining
    assert labels_between(store, "contacts", ann.id, "companies", acme.id) == {"(default)"}
    with pytest.raises(SchemaError, match="HUBSPOT_DEFINED"):
        store.delete_label("contacts", "companies", CONTACT_TO_COMPANY)


# ------------------------------------------------------------------ definitions


def _cars(store: Store) -> None:
    store.create_object(
        ObjectSpec("cars", "Car", "Cars", "model", properties=(PropertySpec("model", "Model"),))
    )


def test_a_definition_is_made_once_named_and_listed(store: Store) -> None:
    _cars(store)
    made = store.define_association("cars", "deals", "car_deal")
    again = store.define_association("cars", "deals")
    assert made == again and made.name == "car_deal" and made.label is None
    assert made.type_id in {x.type_id for x in store.association_definitions("cars")}
    assert store.define_association("deals", "cars").type_id == made.inverse_type_id


def test_a_definition_is_deleted_only_when_unused_and_unlabelled(store: Store) -> None:
    _cars(store)
    made = store.define_association("cars", "deals")
    store.create_label("cars", "deals", "Sold in")
    with pytest.raises(SchemaError, match="still has labels"):
        store.delete_association_definition("cars", made.type_id)
    sold_in = next(x for x in store.list_labels("cars", "deals") if x.label)
    store.delete_label("cars", "deals", sold_in.type_id)
    car = store.create_record("cars", {"model": "Beetle"}, API)
    deal = store.create_record(
        "deals", {"dealname": "Sale", "dealstage": "appointmentscheduled"}, API
    )
    store.associate("cars", car.id, "deals", deal.id, API)
    with pytest.raises(SchemaError, match="in use"):
        store.delete_association_definition("cars", made.type_id)
    store.dissociate("cars", car.id, "deals", deal.id, API)
    store.delete_association_definition("deals", made.inverse_type_id)
    assert store.list_labels("cars", "deals") == [] == store.list_labels("deals", "cars")
    with pytest.raises(NotFoundError):
        store.delete_association_definition("cars", made.type_id)


def test_standard_definitions_are_not_deleted(store: Store) -> None:
    with pytest.raises(SchemaError, match="between standard objects"):
        store.delete_association_definition("contacts", CONTACT_TO_COMPANY)
