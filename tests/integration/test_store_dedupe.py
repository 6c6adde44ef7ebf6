"""Dedupe: contacts by email, companies by domain, any object by a property marked unique.

A duplicate is refused with the id of the record holding the value; archiving frees the value
and restoring claims it again (or is refused when someone took it meanwhile).
"""

from __future__ import annotations

import pytest

from store import DuplicateError, NotFoundError, PropertySpec, Store, ValidationError
from tests.conftest import API
from tests.integration._store_helpers import company, contact, deal, snapshot

SAME_EMAIL = ["ann@example.com", "ANN@EXAMPLE.COM", "Ann@Example.com"]


@pytest.mark.parametrize("email", SAME_EMAIL, ids=["same", "upper", "mixed"])
def test_a_contact_with_a_taken_email_is_refused_naming_the_holder(
    store: Store, email: str
) -> None:
    ann = contact(store, "ann@example.com")
    before = snapshot(store)
    with pytest.raises(DuplicateError) as caught:
        store.create_record("contacts", {"email": email, "firstname": "Copy"}, API)
    error = caught.value
    assert (error.existing_id, error.object_name, error.property_name) == (
        ann.id,
        "contacts",
        "email",
    )
    assert str(ann.id) in str(error)
    assert snapshot(store) == before


SAME_DOMAIN = [
    ("url-with-www-and-path", "https://www.Acme.com/about"),
    ("www", "www.acme.com"),
    ("port", "http://acme.com:8080"),
]


@pytest.mark.parametrize("domain", [d[1] for d in SAME_DOMAIN], ids=[d[0] for d in SAME_DOMAIN])
def test_a_company_with_the_same_normalised_domain_is_refused(store: Store, domain: str) -> None:
    acme = company(store, "acme.com")
    with pytest.raises(DuplicateError) as caught:
        company(store, domain)
    assert caught.value.existing_id == acme.id


@pytest.mark.parametrize("domain", ["eu.acme.com", "acme.co", "acme.com.au"])
def test_a_different_domain_is_not_a_duplicate(store: Store, domain: str) -> None:
    company(store, "https://www.acme.com/")
    assert company(store, domain).properties["domain"] == domain


def test_the_stored_domain_is_what_was_given_while_lookups_use_the_normalised_one(
    store: Store,
) -> None:
    acme = company(store, "https://www.Acme.com/about")
    assert store.get_record("companies", acme.id).properties["domain"] == (
        "https://www.Acme.com/about"
    )
    assert store.find_record("companies", "domain", "acme.com").id == acme.id


def test_find_record_by_email_ignores_case(store: Store) -> None:
    ann = contact(store, "Ann@Example.com")
    assert store.find_record("contacts", "email", "ann@EXAMPLE.com").id == ann.id
    with pytest.raises(NotFoundError):
        store.find_record("contacts", "email", "bob@example.com")
    with pytest.raises(ValidationError, match="unique"):
        store.find_record("contacts", "firstname", "Ann")


def test_updating_to_a_taken_value_is_refused_and_to_its_own_value_in_another_case_is_not(
    store: Store,
) -> None:
    ann, bob = contact(store, "ann@example.com"), contact(store, "bob@example.com")
    before = snapshot(store)
    with pytest.raises(DuplicateError) as caught:
        store.update_record("contacts", bob.id, {"email": "Ann@example.com"}, API)
    assert caught.value.existing_id == ann.id
    assert snapshot(store) == before

    renamed = store.update_record("contacts", ann.id, {"email": "ANN@example.com"}, API)
    assert renamed.properties["email"] == "ANN@example.com"


@pytest.mark.parametrize("how", ["changed", "cleared"])
def test_changing_or_clearing_a_unique_value_frees_the_old_one(store: Store, how: str) -> None:
    ann = contact(store, "ann@example.com")
    store.update_record(
        "contacts", ann.id, {"email": "ann@new.example.com" if how == "changed" else None}, API
    )
    assert contact(store, "ann@example.com").id != ann.id


def test_archiving_frees_the_value_and_restoring_claims_it_again(store: Store) -> None:
    ann = contact(store, "ann@example.com")
    store.archive_records("contacts", [ann.id], API)
    copy = contact(store, "ann@example.com")
    assert copy.id != ann.id
    store.archive_records("contacts", [copy.id], API)

    store.restore_records("contacts", [ann.id], API)
    with pytest.raises(DuplicateError) as caught:
        contact(store, "ann@example.com")
    assert caught.value.existing_id == ann.id


def test_restoring_is_refused_when_the_value_was_taken_meanwhile(store: Store) -> None:
    ann = contact(store, "ann@example.com", firstname="Ann")
    store.archive_records("contacts", [ann.id], API)
    newcomer = contact(store, "ANN@example.com")
    before = snapshot(store)

    with pytest.raises(DuplicateError) as caught:
        store.restore_records("contacts", [ann.id], API)
    assert caught.value.existing_id == newcomer.id
    assert snapshot(store) == before
    assert store.get_record("contacts", ann.id, include_archived=True).archived


def test_restoring_two_archived_holders_of_one_value_together_is_refused(store: Store) -> None:
    first = contact(store, "ann@example.com")
    store.archive_records("contacts", [first.id], API)
    second = contact(store, "ann@example.com")
    store.archive_records("contacts", [second.id], API)
    before = snapshot(store)
    with pytest.raises(ValidationError, match="same value"):
        store.restore_records("contacts", [first.id, second.id], API)
    assert snapshot(store) == before


@pytest.fixture
def sku(store: Store) -> str:
    """A unique custom string property on deals."""
    store.create_property(
        "deals", PropertySpec(name="sku", label="SKU", type="string", unique=True)
    )
    return "sku"


def test_a_custom_unique_property_refuses_duplicates_case_insensitively(
    store: Store, sku: str
) -> None:
    first = deal(store, sku="AB-1")
    with pytest.raises(DuplicateError) as caught:
        deal(store, "Second", sku="ab-1")
    assert (caught.value.existing_id, caught.value.property_name) == (first.id, sku)
    assert deal(store, "Third", sku="AB-2").properties[sku] == "AB-2"


def test_a_unique_number_is_compared_by_value(store: Store) -> None:
    store.create_property(
        "companies",
        PropertySpec(name="vat", label="VAT", type="number", field_type="number", unique=True),
    )
    acme = company(store, vat="1234.50")
    with pytest.raises(DuplicateError) as caught:
        company(store, vat=1234.5)
    assert caught.value.existing_id == acme.id


def test_unique_values_are_per_object(store: Store, sku: str) -> None:
    store.create_property(
        "tickets", PropertySpec(name="sku", label="SKU", type="string", unique=True)
    )
    deal(store, sku="X-1")
    ticket = store.create_record(
        "tickets", {"subject": "Broken", "hs_pipeline_stage": "1", "sku": "X-1"}, API
    )
    assert ticket.properties["sku"] == "X-1"


def test_contacts_without_email_are_not_duplicates_of_each_other(store: Store) -> None:
    a = contact(store, "", firstname="A")
    b = contact(store, "", firstname="B")
    assert a.id != b.id


def test_a_very_long_unique_value_is_deduped(store: Store, sku: str) -> None:
    long_value = "x" * 5000
    first = deal(store, sku=long_value)
    with pytest.raises(DuplicateError) as caught:
        deal(store, "Again", sku=long_value.upper())
    assert caught.value.existing_id == first.id
    assert deal(store, "Other", sku=long_value + "y").properties[sku].endswith("y")
