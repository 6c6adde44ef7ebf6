"""Property groups: created, listed, relabelled, archived only when empty, and brought back."""

from __future__ import annotations

from typing import Any

import pytest

from store import GroupSpec, NotFoundError, PropertySpec, SchemaError, Store


def test_a_created_group_is_listed_and_read(store: Store) -> None:
    store.create_group("contacts", GroupSpec("billing", "Billing", 9))
    assert GroupSpec("billing", "Billing", 9) in store.list_groups("contacts")
    assert store.get_group("contacts", "billing") == GroupSpec("billing", "Billing", 9)
    assert store.get_group("0-1", "billing").label == "Billing"


def test_a_group_is_relabelled_and_reordered(store: Store) -> None:
    store.create_group("contacts", GroupSpec("billing", "Billing", 9))
    changed = store.update_group("contacts", "billing", {"label": "Invoices"})
    assert changed == GroupSpec("billing", "Invoices", 9)
    moved = store.update_group("contacts", "billing", {"display_order": 2})
    assert moved == GroupSpec("billing", "Invoices", 2)
    assert store.get_group("contacts", "billing") == moved


@pytest.mark.parametrize(
    "changes",
    [{"label": ""}, {"label": "x" * 201}, {"display_order": "first"}, {"name": "other"}],
    ids=["empty-label", "long-label", "bad-order", "rename"],
)
def test_a_bad_group_change_is_refused(store: Store, changes: dict[str, Any]) -> None:
    store.create_group("contacts", GroupSpec("billing", "Billing", 9))
    with pytest.raises(SchemaError):
        store.update_group("contacts", "billing", changes)
    assert store.get_group("contacts", "billing") == GroupSpec("billing", "Billing", 9)


def test_an_unknown_group_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="billing"):
        store.get_group("contacts", "billing")
    with pytest.raises(NotFoundError, match="no property group 'billing'"):
        store.update_group("contacts", "billing", {"label": "X"})
    with pytest.raises(NotFoundError):
        store.archive_group("contacts", "billing")


def test_a_group_holding_properties_is_not_archived(store: Store) -> None:
    with pytest.raises(SchemaError, match="still holds"):
        store.archive_group("contacts", "contactinformation")
    store.create_group("contacts", GroupSpec("billing", "Billing"))
    store.create_property("contacts", PropertySpec("iban", "IBAN", group="billing"))
    with pytest.raises(SchemaError, match="iban"):
        store.archive_group("contacts", "billing")
    store.update_property("contacts", "iban", {"group": "contactinformation"})
    store.archive_group("contacts", "billing")
    assert "billing" not in {g.name for g in store.list_groups("contacts")}
    with pytest.raises(SchemaError, match="no property group"):
        store.create_property("contacts", PropertySpec("bic", "BIC", group="billing"))


def test_creating_an_archived_group_again_brings_it_back(store: Store) -> None:
    store.create_group("contacts", GroupSpec("billing", "Billing", 3))
    store.archive_group("contacts", "billing")
    store.create_group("contacts", GroupSpec("billing", "Bills", 5))
    assert store.get_group("contacts", "billing") == GroupSpec("billing", "Bills", 5)
    with pytest.raises(SchemaError, match="already has a group"):
        store.create_group("contacts", GroupSpec("billing", "Again"))
