"""Custom objects: defined at run time, and then exactly as capable as the standard ones."""

from __future__ import annotations

from typing import Any

import pytest

from store import (
    DuplicateError,
    NotFoundError,
    ObjectSpec,
    PropertySpec,
    SchemaError,
    SourceType,
    Store,
    ValidationError,
)
from tests.conftest import API
from tests.integration._store_helpers import activity, contact, labels_between, linked_ids

CAR_PROPERTIES = (
    PropertySpec(name="model", label="Model"),
    PropertySpec(name="vin", label="VIN", unique=True),
    PropertySpec(name="price", label="Price", type="number", field_type="number"),
)


def car_spec(**changes: Any) -> ObjectSpec:
    values: dict[str, Any] = {
        "name": "cars",
        "singular_label": "Car",
        "plural_label": "Cars",
        "primary_display_property": "model",
        "properties": CAR_PROPERTIES,
        "required_properties": ("model",),
        "searchable_properties": ("model", "vin"),
        "associated_objects": ("contacts",),
    }
    values.update(changes)
    return ObjectSpec(**values)


@pytest.fixture
def cars(store: Store) -> str:
    store.create_object(car_spec())
    return "cars"


def car(store: Store, model: str = "Golf", **props: object) -> Any:
    return store.create_record("cars", {"model": model, **props}, API)


def test_a_custom_object_is_created_with_its_properties_and_the_automatic_ones(
    store: Store,
) -> None:
    schema = store.create_object(car_spec())
    assert (schema.name, schema.singular_label, schema.plural_label) == ("cars", "Car", "Cars")
    assert schema.custom and not schema.archived and not schema.activity
    assert schema.type_id.startswith("2-")
    assert {"model", "vin", "price", "hs_object_id", "createdate", "hs_lastmodifieddate"} <= set(
        schema.properties
    )
    assert schema.properties["vin"].unique and not schema.properties["vin"].builtin
    assert schema.properties["hs_object_id"].builtin
    assert schema.required_properties == ("model",)
    assert "cars" in {o.name for o in store.list_objects()}
    for key in ("cars", "car", "Car", schema.type_id):
        assert store.get_object(key).name == "cars"


def test_records_of_a_custom_object_work_like_any_other(store: Store, cars: str) -> None:
    golf = car(store, vin="WVW123", price="19999.00")
    assert golf.properties["price"] == "19999"
    assert golf.properties["hs_object_id"] == str(golf.id)
    assert golf.properties["createdate"] == golf.properties["hs_lastmodifieddate"]

    store.update_record(cars, golf.id, {"price": 18500}, API)
    assert [h.value for h in store.property_history(cars, golf.id, "price")] == ["18500", "19999"]
    store.archive_records(cars, [golf.id], API)
    with pytest.raises(NotFoundError):
        store.get_record(cars, golf.id)
    store.restore_records(cars, [golf.id], API)
    assert store.get_record(cars, golf.id).properties["price"] == "18500"
    assert [(e.object, e.op) for e in store.read_journal()] == [
        ("cars", "create"),
        ("cars", "update"),
        ("cars", "archive"),
        ("cars", "restore"),
    ]


def test_a_custom_objects_values_are_validated(store: Store, cars: str) -> None:
    with pytest.raises(ValidationError, match="expected a number"):
        car(store, price="cheap")
    with pytest.raises(ValidationError, match="required"):
        store.create_record(cars, {"vin": "X"}, API)
    with pytest.raises(NotFoundError, match="did you mean 'price'"):
        car(store, prize=1)
    assert store.list_records(cars) == []


def test_a_custom_unique_property_dedupes(store: Store, cars: str) -> None:
    golf = car(store, vin="WVW123")
    with pytest.raises(DuplicateError) as caught:
        car(store, "Polo", vin="wvw123")
    assert caught.value.existing_id == golf.id
    assert store.find_record(cars, "vin", "WVW123").id == golf.id
    store.archive_records(cars, [golf.id], API)
    assert car(store, "Polo", vin="wvw123").properties["vin"] == "wvw123"


def test_a_custom_object_can_be_batch_upserted_by_its_unique_property(
    store: Store, cars: str
) -> None:
    golf = car(store, vin="WVW123")
    result = store.upsert_records(
        cars, "vin", [("WVW123", {"price": 1}), ("NEW1", {"model": "Polo"})], API
    )
    assert result.records[0].id == golf.id
    assert result.created == frozenset({result.records[1].id})


def test_a_custom_object_associates_with_contacts_both_ways(store: Store, cars: str) -> None:
    golf = car(store)
    ann = contact(store)
    store.associate(cars, golf.id, "contacts", ann.id, API)
    assert linked_ids(store, cars, golf.id, "contacts") == {ann.id}
    assert linked_ids(store, "contacts", ann.id, cars) == {golf.id}

    store.create_label(cars, "contacts", "Driver", "Drives")
    store.associate("contacts", ann.id, cars, golf.id, API, label="Drives")
    assert labels_between(store, cars, golf.id, "contacts", ann.id) == {"(default)", "Driver"}
    assert labels_between(store, "contacts", ann.id, cars, golf.id) == {"(default)", "Drives"}


def test_an_object_not_named_as_a_partner_cannot_be_associated(store: Store, cars: str) -> None:
    golf = car(store)
    big = store.create_record("deals", {"dealname": "D", "dealstage": "closedwon"}, API)
    with pytest.raises(ValidationError, match="cannot be associated"):
        store.associate(cars, golf.id, "deals", big.id, API)
    store.update_object(cars, {"associated_objects": ["deals"]})
    store.associate(cars, golf.id, "deals", big.id, API)
    assert linked_ids(store, "deals", big.id, cars) == {golf.id}


@pytest.mark.parametrize("kind", ["notes", "calls", "tasks"])
def test_activities_can_be_logged_on_a_custom_record(store: Store, cars: str, kind: str) -> None:
    golf = car(store)
    logged = activity(store, kind, "2024-05-01T09:30:00Z", (cars, golf.id))
    assert linked_ids(store, cars, golf.id, kind) == {logged.id}
    assert linked_ids(store, kind, logged.id, cars) == {golf.id}


BAD_OBJECTS = [
    ("existing-name", {"name": "contacts"}, "already exists"),
    ("bad-name", {"name": "Cars!"}, "not valid"),
    ("unknown-primary", {"primary_display_property": "colour"}, "primary display"),
    ("unknown-required", {"required_properties": ("colour",)}, "required property"),
    ("repeated-property", {"properties": (*CAR_PROPERTIES, CAR_PROPERTIES[0])}, "repeat"),
    ("clash-with-automatic",
     {"properties": (*CAR_PROPERTIES, PropertySpec(name="hs_object_id", label="Id"))}, "clash"),
    ("bad-property", {"properties": (PropertySpec(name="model", label="M", type="money"),)},
     "unknown"),
    ("too-many-unique",
     {"properties": tuple(PropertySpec(name=f"k{i}", label="K", unique=True) for i in range(11))
      + CAR_PROPERTIES}, "unique"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "reason"), [c[1:] for c in BAD_OBJECTS], ids=[c[0] for c in BAD_OBJECTS]
)
def test_an_invalid_object_definition_is_refused(
    store: Store, changes: dict[str, Any], reason: str
) -> None:
    before = store.list_objects(include_archived=True)
    with pytest.raises(SchemaError, match=reason):
        store.create_object(car_spec(**changes))
    assert store.list_objects(include_archived=True) == before


def test_an_unknown_partner_object_is_refused_with_a_suggestion(store: Store) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'contacts'"):
        store.create_object(car_spec(associated_objects=("contcts",)))
    assert "cars" not in {o.name for o in store.list_objects()}


def test_a_custom_object_can_be_changed(store: Store, cars: str) -> None:
    changed = store.update_object(
        cars,
        {"plural_label": "Vehicles", "required_properties": ["model", "vin"], "description": "x"},
    )
    assert (changed.plural_label, changed.required_properties) == ("Vehicles", ("model", "vin"))
    with pytest.raises(ValidationError, match="required"):
        car(store)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"name": "autos"}, SchemaError),
        ({"plural_label": ""}, SchemaError),
        ({"required_properties": ["colour"]}, NotFoundError),
        ({"primary_display_property": "colour"}, NotFoundError),
    ],
    ids=["rename", "blank-label", "unknown-required", "unknown-primary"],
)
def test_invalid_object_changes_are_refused(
    store: Store, cars: str, changes: dict[str, Any], error: type[Exception]
) -> None:
    before = store.get_object(cars)
    with pytest.raises(error):
        store.update_object(cars, changes)
    assert store.get_object(cars) == before


@pytest.mark.parametrize("name", ["contacts", "notes"])
def test_standard_objects_cannot_be_changed_or_archived(store: Store, name: str) -> None:
    with pytest.raises(SchemaError, match="standard"):
        store.update_object(name, {"plural_label": "People"})
    with pytest.raises(SchemaError, match="standard"):
        store.archive_object(name)


def test_archiving_an_object_is_refused_while_it_has_live_records(store: Store, cars: str) -> None:
    golf = car(store)
    with pytest.raises(SchemaError, match="1 live record"):
        store.archive_object(cars)
    assert store.get_object(cars).name == cars

    store.archive_records(cars, [golf.id], API)
    store.archive_object(cars)
    with pytest.raises(NotFoundError, match="archived"):
        store.get_object(cars)
    with pytest.raises(NotFoundError):
        car(store)
    assert store.get_object(cars, include_archived=True).archived
    assert cars not in {o.name for o in store.list_objects()}
    assert cars in {o.name for o in store.list_objects(include_archived=True)}
    with pytest.raises(SchemaError, match="already exists"):
        store.create_object(car_spec())


def test_an_unknown_object_is_refused_with_the_nearest_name(store: Store) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'contacts'"):
        store.get_object("contcts")


def test_custom_object_writes_are_journaled_with_their_source(store: Store, cars: str) -> None:
    golf = car(store, vin="V1")
    (entry,) = store.read_journal()
    assert (entry.object, entry.record_id, entry.op) == (cars, golf.id, "create")
    assert entry.changes == {"model": [None, "Golf"], "vin": [None, "V1"]}
    assert entry.source_type is SourceType.API
