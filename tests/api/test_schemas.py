"""Custom object schemas at both of HubSpot's paths, over a real server (SQLite, PostgreSQL).

A schema created here must be usable at once by name, qualified name and type id, by the
objects, properties and associations endpoints alike.
"""

from __future__ import annotations

from typing import Any

import hubspot
import pytest
from hubspot.crm.schemas import (
    ObjectSchema,
    ObjectSchemaEgg,
    ObjectTypeDefinitionLabels,
    ObjectTypePropertyCreate,
)

from store import Store
from syncd.api import ApiSettings
from tests.api.conftest import Api
from tests.conftest import API

PREFIXES = ["/crm-object-schemas/v3/schemas", "/crm/v3/schemas"]
HUBSPOT_PATH = PREFIXES[0]

SCHEMA_FIELDS = {
    "id", "name", "labels", "objectTypeId", "fullyQualifiedName", "primaryDisplayProperty",
    "requiredProperties", "searchableProperties", "secondaryDisplayProperties", "properties",
    "associations", "createdAt", "updatedAt", "archived", "description",
}  # fmt: skip


@pytest.fixture
def api_settings() -> ApiSettings:
    return ApiSettings(rate_limit_max=100_000)


def cars(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "cars",
        "labels": {"singular": "Car", "plural": "Cars"},
        "description": "Vehicles we sell",
        "primaryDisplayProperty": "model",
        "secondaryDisplayProperties": ["make"],
        "searchableProperties": ["model", "vin"],
        "requiredProperties": ["model"],
        "properties": [
            {"name": "model", "label": "Model"},
            {"name": "make", "label": "Make", "type": "string", "fieldType": "text"},
            {"name": "vin", "label": "VIN", "hasUniqueValue": True},
            {"name": "year", "label": "Year", "type": "number", "fieldType": "number"},
        ],
        "associatedObjects": ["0-1", "companies"],
    }
    body.update(extra)
    return body


def create_cars(api: Api, prefix: str = HUBSPOT_PATH, **extra: Any) -> dict[str, Any]:
    answer = api.client.post(prefix, json=cars(**extra))
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def object_names(store: Store) -> set[str]:
    return {o.name for o in store.list_objects(include_archived=True)}


def assert_error(answer: Any, status: int, category: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["status"] == "error" and body["category"] == category and body["message"]


# ------------------------------------------------------------------ create and read


@pytest.mark.parametrize("prefix", PREFIXES, ids=["crm-object-schemas", "crm-v3"])
def test_a_created_schema_is_answered_in_hubspots_shape(api: Api, prefix: str) -> None:
    schema = create_cars(api, prefix)
    assert SCHEMA_FIELDS <= set(schema)
    assert schema["name"] == "cars"
    assert schema["labels"] == {"singular": "Car", "plural": "Cars"}
    assert schema["objectTypeId"].startswith("2-")
    assert schema["id"] == schema["objectTypeId"].split("-")[1]
    assert schema["fullyQualifiedName"] == "p_cars"
    assert schema["requiredProperties"] == ["model"]
    assert schema["archived"] is False
    props = {p["name"]: p for p in schema["properties"]}
    assert (props["model"]["type"], props["model"]["fieldType"]) == ("string", "text")
    assert props["vin"]["hasUniqueValue"] is True
    assert props["year"]["type"] == "number"
    assert {"hs_object_id", "createdate"} <= set(props)
    targets = {a["toObjectTypeId"] for a in schema["associations"]}
    assert {"0-1", "0-2", "0-46"} <= targets  # contacts, companies, and notes by default
    for definition in schema["associations"]:
        assert definition["fromObjectTypeId"] == schema["objectTypeId"]
        assert definition["id"].isdigit()


def test_a_schema_is_reached_by_name_qualified_name_and_type_id(api: Api) -> None:
    created = create_cars(api)
    for prefix in PREFIXES:
        for ref in ("cars", "p_cars", "p12345_cars", created["objectTypeId"]):
            answer = api.client.get(f"{prefix}/{ref}")
            assert answer.status_code == 200, (prefix, ref)
            assert answer.json()["objectTypeId"] == created["objectTypeId"]


def test_the_list_holds_custom_schemas_only(api: Api) -> None:
    create_cars(api)
    for prefix in PREFIXES:
        answer = api.client.get(prefix)
        assert answer.status_code == 200
        assert [s["name"] for s in answer.json()["results"]] == ["cars"]
    assert api.client.get(HUBSPOT_PATH, params={"archived": "true"}).json()["results"] == []


def test_a_new_schema_is_usable_at_once(api: Api) -> None:
    created = create_cars(api)
    type_id = created["objectTypeId"]
    record = api.client.post(
        f"/crm/v3/objects/{type_id}", json={"properties": {"model": "Beetle", "vin": "V1"}}
    )
    assert record.status_code == 201, record.text
    car_id = int(record.json()["id"])
    stored = api.store.get_record("cars", car_id)
    assert stored.properties["model"] == "Beetle"
    # The definition's unique flag is live: a second car with the same VIN is refused.
    dup = api.client.post(
        "/crm/v3/objects/p_cars", json={"properties": {"model": "X", "vin": "V1"}}
    )
    assert dup.status_code == 409
    props = api.client.get("/crm/v3/properties/p_cars")
    assert "vin" in {p["name"] for p in props.json()["results"]}
    ann = api.store.create_record("contacts", {"email": "ann@example.com"}, API)
    linked = api.client.put(f"/crm/v4/objects/cars/{car_id}/associations/default/contacts/{ann.id}")
    assert linked.status_code == 200, linked.text
    assert [a.to_id for a in api.store.list_associations("contacts", ann.id, "cars")] == [car_id]


def test_a_duplicate_schema_is_409(api: Api) -> None:
    create_cars(api)
    assert_error(api.client.post("/crm/v3/schemas", json=cars()), 409, "CONFLICT")


BAD_SCHEMAS = [
    ("uppercase-name", {"name": "Cars"}),
    ("name-starts-with-digit", {"name": "2cars"}),
    ("name-ends-in-information", {"name": "car_information"}),
    ("standard-name", {"name": "contacts"}),
    ("no-singular", {"labels": {"plural": "Cars"}}),
    ("no-labels", {"labels": None}),
    ("long-label", {"labels": {"singular": "C" * 201, "plural": "Cars"}}),
    ("required-unknown", {"requiredProperties": ["colour"]}),
    ("primary-unknown", {"primaryDisplayProperty": "colour"}),
    ("associated-unknown", {"associatedObjects": ["0-999"]}),
    ("bad-field-type", {"properties": [{"name": "model", "label": "M", "fieldType": "select"}]}),
    ("property-repeated", {"properties": [{"name": "model", "label": "M"}] * 2}),
    ("property-clash", {"properties": [{"name": "model", "label": "M"},
                                       {"name": "hs_object_id", "label": "Id"}]}),
    ("wrong-type-properties", {"properties": {"model": "x"}}),
    ("nul", {"description": "cars\x00"}),
    ("long-description", {"description": "d" * 70_000}),
    ("too-many-properties", {"properties": [{"name": f"p{i}", "label": "P"} for i in range(1001)]}),
    ("too-many-associated", {"associatedObjects": ["0-1"] * 101}),
]  # fmt: skip


@pytest.mark.parametrize("change", [c[1] for c in BAD_SCHEMAS], ids=[c[0] for c in BAD_SCHEMAS])
def test_a_bad_schema_is_400_and_creates_nothing(api: Api, change: dict[str, Any]) -> None:
    before = object_names(api.store)
    body = {k: v for k, v in cars(**change).items() if v is not None}
    answer = api.client.post(HUBSPOT_PATH, json=body)
    expected = 409 if change.get("name") == "contacts" else 400
    assert_error(answer, expected, "CONFLICT" if expected == 409 else "VALIDATION_ERROR")
    assert object_names(api.store) == before


def test_malformed_json_is_400(api: Api) -> None:
    answer = api.client.post(
        HUBSPOT_PATH, content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert_error(answer, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("ref", "status"),
    [("nothings", 404), ("2-999999", 404), ("p_nothings", 404), ("x" * 201, 400)],
    ids=["name", "type-id", "qualified", "oversized"],
)
def test_an_unknown_schema_is_refused(api: Api, ref: str, status: int) -> None:
    assert api.client.get(f"{HUBSPOT_PATH}/{ref}").status_code == status


# ------------------------------------------------------------------ update and delete


def test_patch_changes_labels_and_property_roles(api: Api) -> None:
    create_cars(api)
    answer = api.client.patch(
        f"{HUBSPOT_PATH}/cars",
        json={
            "labels": {"singular": "Vehicle", "plural": "Vehicles"},
            "requiredProperties": ["model", "make"],
            "primaryDisplayProperty": "vin",
            "clearDescription": True,
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "properties" not in body and "associations" not in body  # ObjectTypeDefinition
    assert body["labels"] == {"singular": "Vehicle", "plural": "Vehicles"}
    assert body["requiredProperties"] == ["model", "make"]
    assert body["primaryDisplayProperty"] == "vin"
    stored = api.store.get_object("cars")
    assert (stored.singular_label, stored.description) == ("Vehicle", "")


@pytest.mark.parametrize(
    ("ref", "body", "status"),
    [
        ("contacts", {"labels": {"singular": "Person"}}, 400),
        ("nothings", {"labels": {"singular": "X"}}, 404),
        ("cars", {"requiredProperties": ["colour"]}, 400),
        ("cars", {"labels": {"singular": ""}}, 400),
        ("cars", {"requiredProperties": "model"}, 400),
    ],
    ids=["standard", "unknown", "unknown-property", "empty-label", "wrong-type"],
)
def test_a_refused_patch_changes_nothing(
    api: Api, ref: str, body: dict[str, Any], status: int
) -> None:
    create_cars(api)
    before = (api.store.get_object("cars"), api.store.get_object("contacts"))
    answer = api.client.patch(f"{HUBSPOT_PATH}/{ref}", json=body)
    assert answer.status_code == status, answer.text
    assert (api.store.get_object("cars"), api.store.get_object("contacts")) == before


def test_delete_archives_an_empty_schema(api: Api) -> None:
    create_cars(api)
    car = api.store.create_record("cars", {"model": "Beetle"}, API)
    assert_error(api.client.delete(f"{HUBSPOT_PATH}/cars"), 400, "VALIDATION_ERROR")
    api.store.archive_records("cars", [car.id], API)
    answer = api.client.delete(f"{HUBSPOT_PATH}/cars")
    assert answer.status_code == 204 and answer.content == b""
    assert api.client.get(f"{HUBSPOT_PATH}/cars").status_code == 404
    assert api.client.get(HUBSPOT_PATH).json()["results"] == []
    archived = api.client.get(HUBSPOT_PATH, params={"archived": "true"}).json()["results"]
    assert [(s["name"], s["archived"]) for s in archived] == [("cars", True)]
    assert_error(api.client.delete(f"{HUBSPOT_PATH}/contacts"), 400, "VALIDATION_ERROR")


# ------------------------------------------------------------------ association definitions


def test_an_association_definition_is_created_used_and_deleted(api: Api) -> None:
    created = create_cars(api)
    answer = api.client.post(
        f"{HUBSPOT_PATH}/cars/associations",
        json={
            "fromObjectTypeId": created["objectTypeId"],
            "toObjectTypeId": "0-3",
            "name": "car_deal",
        },
    )
    assert answer.status_code == 201, answer.text
    definition = answer.json()
    assert definition["fromObjectTypeId"] == created["objectTypeId"]
    assert definition["toObjectTypeId"] == "0-3" and definition["name"] == "car_deal"
    schema = api.client.get(f"{HUBSPOT_PATH}/cars").json()
    assert definition["id"] in {a["id"] for a in schema["associations"]}

    car = api.store.create_record("cars", {"model": "Beetle"}, API)
    deal = api.store.create_record(
        "deals", {"dealname": "Sale", "dealstage": "appointmentscheduled"}, API
    )
    api.store.associate("cars", car.id, "deals", deal.id, API)
    in_use = api.client.delete(f"{HUBSPOT_PATH}/cars/associations/{definition['id']}")
    assert_error(in_use, 400, "VALIDATION_ERROR")
    api.store.dissociate("cars", car.id, "deals", deal.id, API)
    gone = api.client.delete(f"{HUBSPOT_PATH}/cars/associations/{definition['id']}")
    assert gone.status_code == 204
    assert api.store.list_labels("cars", "deals") == []
    again = api.client.delete(f"{HUBSPOT_PATH}/cars/associations/{definition['id']}")
    assert_error(again, 404, "OBJECT_NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"fromObjectTypeId": "0-1", "toObjectTypeId": "0-2"}, 400),
        ({"fromObjectTypeId": "cars", "toObjectTypeId": "0-999"}, 400),
        ({"fromObjectTypeId": "cars"}, 400),
        ({"fromObjectTypeId": "cars", "toObjectTypeId": "0-3", "name": "n" * 101}, 400),
        ({"fromObjectTypeId": "cars", "toObjectTypeId": "0-3", "name": "c\x00"}, 400),
    ],
    ids=["not-this-object", "unknown-target", "missing-target", "long-name", "nul"],
)
def test_a_bad_association_definition_is_refused(
    api: Api, body: dict[str, Any], status: int
) -> None:
    create_cars(api)
    answer = api.client.post(f"{HUBSPOT_PATH}/cars/associations", json=body)
    assert answer.status_code == status, answer.text
    assert api.store.list_labels("cars", "deals") == []


@pytest.mark.parametrize("ident", ["abc", "99999", "1" * 30])
def test_deleting_an_unknown_association_definition_is_404(api: Api, ident: str) -> None:
    create_cars(api)
    answer = api.client.delete(f"{HUBSPOT_PATH}/cars/associations/{ident}")
    assert answer.status_code == 404, answer.text


def test_builtin_definitions_cannot_be_deleted(api: Api) -> None:
    answer = api.client.delete(f"{HUBSPOT_PATH}/contacts/associations/279")
    assert_error(answer, 400, "VALIDATION_ERROR")


# ------------------------------------------------------------------ HubSpot's client


def test_hubspot_client_creates_a_schema(api: Api) -> None:
    hs = hubspot.Client.create(access_token=api.token, host=api.url)
    created = hs.crm.schemas.core_api.create(
        object_schema_egg=ObjectSchemaEgg(
            name="boats",
            labels=ObjectTypeDefinitionLabels(singular="Boat", plural="Boats"),
            primary_display_property="hull",
            required_properties=["hull"],
            searchable_properties=["hull"],
            properties=[ObjectTypePropertyCreate(name="hull", label="Hull", type="string",
                                                 field_type="text")],
            associated_objects=["CONTACT"],
        )
    )  # fmt: skip
    assert isinstance(created, ObjectSchema)
    assert created.name == "boats" and created.object_type_id.startswith("2-")
    fetched = hs.crm.schemas.core_api.get_by_id(object_type=created.object_type_id)
    assert fetched.labels.plural == "Boats"
    assert "hull" in {p.name for p in fetched.properties}
    assert "boats" in {s.name for s in hs.crm.schemas.core_api.get_all().results}
