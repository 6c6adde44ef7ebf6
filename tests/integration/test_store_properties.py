"""Property definitions: custom ones created, changed, archived and restored; built-in ones kept.

A definition change never silently invalidates stored values: changing options reports the
values no longer valid (and keeps them), retyping is refused while stored values do not fit.
"""

from __future__ import annotations

from typing import Any

import pytest

from store import (
    MAX_UNIQUE_PROPERTIES,
    DuplicateError,
    NotFoundError,
    OptionSpec,
    PropertySpec,
    SchemaError,
    Store,
    StoreError,
    ValidationError,
)
from tests.conftest import API
from tests.integration._store_helpers import contact, snapshot


def options(*values: str) -> tuple[OptionSpec, ...]:
    return tuple(OptionSpec(v, v.title(), i) for i, v in enumerate(values))


def spec(name: str = "tier", **kw: Any) -> PropertySpec:
    return PropertySpec(name=name, label=name.title(), **kw)


VALID_SPECS = [
    ("text", spec(type="string", field_type="text"), "Gold", "Gold"),
    ("phone", spec(type="string", field_type="phonenumber"), "+44 20 7946 0958", "+44 20 7946 0958"),
    ("number", spec(type="number", field_type="number"), "3.10", "3.1"),
    ("date", spec(type="date", field_type="date"), "2024-02-29", "2024-02-29"),
    ("datetime", spec(type="datetime", field_type="date"), "2024-02-29T10:00:00+01:00",
     "2024-02-29T09:00:00.000Z"),
    ("select", spec(type="enumeration", field_type="select", options=options("a", "b")), "b", "b"),
    ("checkbox", spec(type="enumeration", field_type="checkbox", options=options("a", "b")),
     "b;a", "b;a"),
    ("enum-booleancheckbox", spec(type="enumeration", field_type="booleancheckbox",
     options=options("true", "false")), True, "true"),
    ("bool", spec(type="bool", field_type="booleancheckbox"), False, "false"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("prop", "raw", "stored"), [c[1:] for c in VALID_SPECS], ids=[c[0] for c in VALID_SPECS]
)
def test_a_custom_property_is_created_and_its_values_checked(
    store: Store, prop: PropertySpec, raw: object, stored: str
) -> None:
    created = store.create_property("contacts", prop)
    assert (created.name, created.type, created.field_type) == (
        prop.name,
        prop.type,
        prop.field_type,
    )
    assert not created.builtin and not created.archived
    assert created.group == "contactinformation"  # the object's first group by default
    assert store.get_property("contacts", prop.name) == created
    assert created in store.list_properties("contacts")

    record = store.create_record("contacts", {prop.name: raw}, API)
    assert store.get_record("contacts", record.id).properties[prop.name] == stored
    with pytest.raises(ValidationError):
        store.create_record("contacts", {prop.name: ["not", "a", "value"]}, API)


BAD_SPECS = [
    ("number-as-text", spec(type="number", field_type="text"), "does not fit"),
    ("string-as-select", spec(type="string", field_type="select"), "does not fit"),
    ("unknown-type", spec(type="money", field_type="number"), "unknown"),
    ("enum-without-options", spec(type="enumeration", field_type="select"), "at least one option"),
    ("options-on-text", spec(type="string", field_type="text", options=options("a")),
     "only enumeration"),
    ("bool-other-options", spec(type="bool", field_type="booleancheckbox",
     options=options("yes", "no")), "true and false"),
    ("repeated-options", spec(type="enumeration", field_type="select", options=options("a", "a")),
     "unique"),
    ("option-with-semicolon", spec(type="enumeration", field_type="select",
     options=options("a;b")), "';'"),
    ("booleancheckbox-options", spec(type="enumeration", field_type="booleancheckbox",
     options=options("yes", "no")), "true and false"),
    ("format-on-number", spec(type="number", field_type="number", format="email"), "needs type"),
    ("unknown-group", spec(group="nowhere"), "no property group"),
    ("name-with-space", spec(name="First Name"), "not valid"),
    ("blank-label", PropertySpec(name="tier", label="  "), "label"),
    ("builtin-name", spec(name="email"), "already has"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("prop", "reason"), [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS]
)
def test_an_invalid_property_definition_is_refused(
    store: Store, prop: PropertySpec, reason: str
) -> None:
    before = store.list_properties("contacts", include_archived=True)
    with pytest.raises(SchemaError, match=reason):
        store.create_property("contacts", prop)
    assert store.list_properties("contacts", include_archived=True) == before


def test_a_custom_property_can_be_relabelled_and_regrouped(store: Store) -> None:
    store.create_property("contacts", spec())
    report = store.update_property(
        "contacts", "tier", {"label": "Customer tier", "group": "sales_properties"}
    )
    assert (report.property.label, report.property.group) == ("Customer tier", "sales_properties")
    assert report.invalid_values == []
    assert store.get_property("contacts", "tier").label == "Customer tier"


BUILTIN_CHANGES = [
    ("type", {"type": "number", "field_type": "number"}),
    ("field-type", {"field_type": "textarea"}),
    ("unique", {"unique": False}),
    ("read-only", {"read_only": True}),
    ("format", {"format": None}),
]


@pytest.mark.parametrize(
    "changes", [c[1] for c in BUILTIN_CHANGES], ids=[c[0] for c in BUILTIN_CHANGES]
)
def test_a_builtin_property_cannot_be_retyped(store: Store, changes: dict[str, Any]) -> None:
    before = store.get_property("contacts", "email")
    with pytest.raises(SchemaError, match="built in"):
        store.update_property("contacts", "email", changes)
    assert store.get_property("contacts", "email") == before


def test_a_builtin_property_can_be_relabelled(store: Store) -> None:
    report = store.update_property("contacts", "email", {"label": "E-mail"})
    assert report.property.label == "E-mail" and report.property.builtin


@pytest.mark.parametrize("name", ["email", "hs_object_id"])
def test_a_builtin_property_cannot_be_archived(store: Store, name: str) -> None:
    with pytest.raises(SchemaError, match="built in"):
        store.archive_property("contacts", name)
    assert store.get_property("contacts", name).name == name


def test_unknown_property_changes_are_refused(store: Store) -> None:
    with pytest.raises(SchemaError, match="cannot change"):
        store.update_property("contacts", "firstname", {"colour": "red"})
    with pytest.raises(NotFoundError, match="did you mean 'firstname'"):
        store.update_property("contacts", "firstnme", {"label": "X"})


def test_archiving_a_custom_property_hides_it_and_its_values_until_restored(
    store: Store,
) -> None:
    store.create_property("contacts", spec())
    ann = contact(store, tier="Gold")
    store.archive_property("contacts", "tier")

    assert "tier" not in {p.name for p in store.list_properties("contacts")}
    archived = {p.name: p for p in store.list_properties("contacts", include_archived=True)}
    assert archived["tier"].archived
    assert "tier" not in store.get_record("contacts", ann.id).properties
    with pytest.raises(NotFoundError, match="archived"):
        store.update_record("contacts", ann.id, {"tier": "Silver"}, API)
    with pytest.raises(SchemaError, match="archived property"):
        store.create_property("contacts", spec())

    restored = store.restore_property("contacts", "tier")
    assert not restored.archived
    assert store.get_record("contacts", ann.id).properties["tier"] == "Gold"


def test_restoring_a_live_property_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="no archived property"):
        store.restore_property("contacts", "firstname")


def test_archiving_a_unique_property_frees_its_values_and_restoring_claims_them(
    store: Store,
) -> None:
    store.create_property("contacts", spec("badge", unique=True))
    ann = contact(store, badge="B-1")
    store.archive_property("contacts", "badge")
    store.restore_property("contacts", "badge")
    with pytest.raises(DuplicateError) as caught:
        contact(store, badge="b-1")
    assert caught.value.existing_id == ann.id


def test_removing_options_reports_stored_values_no_longer_valid_and_keeps_them(
    store: Store,
) -> None:
    store.create_property(
        "contacts", spec(type="enumeration", field_type="checkbox", options=options("a", "b", "c"))
    )
    only_a = contact(store, tier="a")
    with_b = contact(store, tier="a;b")
    only_c = contact(store, tier="c")

    report = store.update_property("contacts", "tier", {"options": options("a", "c")})

    assert report.property.option_values == {"a", "c"}
    assert report.invalid_values == [(with_b.id, "a;b")]
    assert store.get_record("contacts", with_b.id).properties["tier"] == "a;b"
    assert store.get_record("contacts", only_a.id).properties["tier"] == "a"
    assert store.get_record("contacts", only_c.id).properties["tier"] == "c"
    with pytest.raises(ValidationError, match="not an option"):
        contact(store, tier="b")


def test_a_builtin_property_can_get_new_options_and_reports_the_dropped_ones(
    store: Store,
) -> None:
    lead = contact(store, lifecyclestage="lead")
    current = store.get_property("contacts", "lifecyclestage").options
    kept = (*(o for o in current if o.value != "lead"), OptionSpec("partner", "Partner"))
    report = store.update_property("contacts", "lifecyclestage", {"options": kept})
    assert report.invalid_values == [(lead.id, "lead")]
    assert contact(store, lifecyclestage="partner").properties["lifecyclestage"] == "partner"


def test_retyping_a_custom_property_whose_values_fit_is_allowed(store: Store) -> None:
    store.create_property("contacts", spec())
    ann = contact(store, tier="42")
    report = store.update_property("contacts", "tier", {"type": "number", "field_type": "number"})
    assert (report.property.type, report.invalid_values) == ("number", [])
    assert store.get_record("contacts", ann.id).properties["tier"] == "42"
    with pytest.raises(ValidationError, match="expected a number"):
        contact(store, tier="gold")


@pytest.mark.parametrize(
    ("stored", "changes"),
    [
        ("gold", {"type": "number", "field_type": "number"}),
        ("1.50", {"type": "number", "field_type": "number"}),
        ("maybe", {"type": "bool", "field_type": "booleancheckbox"}),
        ("2023-02-30", {"type": "date", "field_type": "date"}),
        ("x", {"type": "enumeration", "field_type": "select", "options": options("a")}),
        ("not an email", {"format": "email"}),
    ],
    ids=["number", "number-not-canonical", "bool", "date", "select", "email-format"],
)
def test_retyping_a_custom_property_whose_values_do_not_fit_is_refused(
    store: Store, stored: str, changes: dict[str, Any]
) -> None:
    store.create_property("contacts", spec())
    ann = contact(store, tier=stored)
    before = store.get_property("contacts", "tier")
    with pytest.raises(SchemaError, match=f"record {ann.id}"):
        store.update_property("contacts", "tier", changes)
    assert store.get_property("contacts", "tier") == before
    assert store.get_record("contacts", ann.id).properties["tier"] == stored


def test_making_a_property_unique_with_duplicates_is_refused(store: Store) -> None:
    store.create_property("contacts", spec())
    a, b = contact(store, tier="Gold"), contact(store, tier="GOLD")
    with pytest.raises(SchemaError, match=f"{a.id} and {b.id}"):
        store.update_property("contacts", "tier", {"unique": True})
    assert not store.get_property("contacts", "tier").unique
    assert contact(store, tier="gold").properties["tier"] == "gold"


def test_making_a_property_unique_enforces_it_from_then_on(store: Store) -> None:
    store.create_property("contacts", spec())
    gold = contact(store, tier="Gold")
    contact(store, tier="Silver")
    store.update_property("contacts", "tier", {"unique": True})
    with pytest.raises(DuplicateError) as caught:
        contact(store, tier="gold")
    assert caught.value.existing_id == gold.id

    store.update_property("contacts", "tier", {"unique": False})
    assert contact(store, tier="gold").properties["tier"] == "gold"


def test_changing_the_format_of_a_unique_property_dedupes_by_the_new_format(
    store: Store,
) -> None:
    store.create_property("contacts", spec("site", unique=True))
    owner = contact(store, site="https://www.Acme.com/about")
    store.update_property("contacts", "site", {"format": "domain"})
    with pytest.raises(DuplicateError) as caught:
        contact(store, site="acme.com")
    assert caught.value.existing_id == owner.id


def test_at_most_ten_unique_properties_per_object(store: Store) -> None:
    # contacts.email is the first.
    for i in range(MAX_UNIQUE_PROPERTIES - 1):
        store.create_property("contacts", spec(f"key{i}", unique=True))
    with pytest.raises(SchemaError, match=f"at most {MAX_UNIQUE_PROPERTIES}"):
        store.create_property("contacts", spec("one_more", unique=True))
    store.create_property("contacts", spec("one_more"))
    with pytest.raises(SchemaError, match=f"at most {MAX_UNIQUE_PROPERTIES}"):
        store.update_property("contacts", "one_more", {"unique": True})
    assert not store.get_property("contacts", "one_more").unique


def test_a_calculation_property_cannot_be_written_by_callers(store: Store) -> None:
    store.create_property("deals", spec("margin", type="number", field_type="calculation"))
    with pytest.raises(ValidationError, match="read-only"):
        store.create_record("deals", {"dealname": "D", "dealstage": "closedwon", "margin": 3}, API)


def test_a_read_only_custom_property_cannot_be_written(store: Store) -> None:
    store.create_property("contacts", spec(read_only=True))
    before = snapshot(store)
    with pytest.raises(ValidationError, match="read-only"):
        contact(store, tier="x")
    assert snapshot(store) == before


def test_property_changes_leave_the_journal_alone(store: Store) -> None:
    store.create_property("contacts", spec())
    store.update_property("contacts", "tier", {"label": "Tier!"})
    store.archive_property("contacts", "tier")
    store.restore_property("contacts", "tier")
    assert store.journal_head() == 0
