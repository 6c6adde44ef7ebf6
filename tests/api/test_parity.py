"""Answers shaped as HubSpot's documented models, where client code written for HubSpot relies
on the shape (issue 18): system properties always returned, optional fields left out rather
than ``null``, one ``errors[]`` entry per bad property, boolean options, the correlation header.

HubSpot's OpenAPI documents are not ours to ship, so the shapes they define are written out
here as the keys that must be present or absent and their types. Every test runs on SQLite and
PostgreSQL against a real uvicorn server (the ``api`` fixture).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from syncd.api import ApiSettings
from tests.api._shapes import nulls
from tests.api.conftest import Api

OBJECTS = "/crm/v3/objects"
CONTACT_SYSTEM = {"createdate", "hs_object_id", "lastmodifieddate"}
COMPANY_SYSTEM = {"createdate", "hs_object_id", "hs_lastmodifieddate"}


@pytest.fixture
def api_settings() -> ApiSettings:
    return ApiSettings(rate_limit_max=10_000)


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _contact(api: Api, **properties: str) -> dict[str, Any]:
    body: dict[str, Any] = _ok(
        api.client.post(f"{OBJECTS}/contacts", json={"properties": properties}), 201
    )
    return body


# ------------------------------------------------------ 1. system properties always returned


def _system_values(record: dict[str, Any], created: dict[str, Any]) -> None:
    properties = record["properties"]
    assert set(properties) == {"email"} | CONTACT_SYSTEM, properties
    assert properties["hs_object_id"] == created["id"]
    assert properties["createdate"] == created["createdAt"]
    assert properties["lastmodifieddate"] == created["updatedAt"]


def test_properties_requested_still_return_the_system_properties(api: Api) -> None:
    made = _contact(api, email="ada@example.com", firstname="Ada")
    params = {"properties": "email"}
    _system_values(_ok(api.client.get(f"{OBJECTS}/contacts/{made['id']}", params=params)), made)
    listed = _ok(api.client.get(f"{OBJECTS}/contacts", params=params))["results"]
    _system_values(listed[0], made)
    found = _ok(api.client.post(f"{OBJECTS}/contacts/search", json={"properties": ["email"]}))
    _system_values(found["results"][0], made)
    batch = _ok(
        api.client.post(
            f"{OBJECTS}/contacts/batch/read",
            json={"properties": ["email"], "inputs": [{"id": made["id"]}]},
        )
    )
    _system_values(batch["results"][0], made)
    with_history = _ok(
        api.client.get(
            f"{OBJECTS}/contacts/{made['id']}",
            params={"properties": "email", "propertiesWithHistory": "firstname"},
        )
    )
    _system_values(with_history, made)
    assert [v["value"] for v in with_history["propertiesWithHistory"]["firstname"]] == ["Ada"]


def test_other_objects_return_hs_lastmodifieddate(api: Api) -> None:
    made = _ok(api.client.post(f"{OBJECTS}/companies", json={"properties": {"name": "Acme"}}), 201)
    read = _ok(api.client.get(f"{OBJECTS}/companies/{made['id']}", params={"properties": "name"}))
    assert set(read["properties"]) == {"name"} | COMPANY_SYSTEM
    assert read["properties"]["hs_object_id"] == made["id"]


# ------------------------------------------------------------- 5. correlation id header


def test_every_answer_carries_a_correlation_id_header(api: Api) -> None:
    made = _contact(api, email="cid@example.com")
    ok = api.client.get(f"{OBJECTS}/contacts/{made['id']}")
    missing = api.client.get(f"{OBJECTS}/contacts/999999")
    unauthorised = httpx.get(f"{api.url}{OBJECTS}/contacts", timeout=10)
    ids = [a.headers.get("X-HubSpot-Correlation-Id") for a in (ok, missing, unauthorised)]
    assert all(ids) and len(set(ids)) == 3, ids
    # An error body names the same id as its header, so either finds the log line.
    assert missing.status_code == 404
    assert missing.json()["correlationId"] == missing.headers["X-HubSpot-Correlation-Id"]
    assert unauthorised.status_code == 401
    assert unauthorised.json()["correlationId"] == unauthorised.headers["X-HubSpot-Correlation-Id"]


# ------------------------------------------------ 4. optional fields left out, never null


def test_answers_leave_optional_fields_out_instead_of_null(api: Api) -> None:
    c = api.client
    ann = _contact(api, email="ann@example.com")
    acme = _ok(c.post(f"{OBJECTS}/companies", json={"properties": {"name": "Acme"}}), 201)
    schema = {
        "name": "cars",
        "labels": {"singular": "Car", "plural": "Cars"},
        "primaryDisplayProperty": "model",
        "requiredProperties": ["model"],
        "properties": [{"name": "model", "label": "Model"}],
        "associatedObjects": ["CONTACT"],
    }
    answers: dict[str, httpx.Response] = {
        "schema create": c.post("/crm-object-schemas/v3/schemas", json=schema),
        "schema read": c.get("/crm-object-schemas/v3/schemas/cars"),
        "schema list": c.get("/crm-object-schemas/v3/schemas"),
        "schema association": c.post(
            "/crm-object-schemas/v3/schemas/cars/associations",
            json={"fromObjectTypeId": "cars", "toObjectTypeId": "0-2", "name": "car_company"},
        ),
        "property read": c.get("/crm/v3/properties/contacts/email"),
        "property list": c.get("/crm/v3/properties/companies"),
        "property create": c.post(
            "/crm/v3/properties/contacts",
            json={
                "name": "nick",
                "label": "Nick",
                "type": "string",
                "fieldType": "text",
                "groupName": "contactinformation",
            },
        ),
        "property batch read": c.post(
            "/crm/v3/properties/contacts/batch/read",
            json={"inputs": [{"name": "email"}], "archived": False},
        ),
        "group read": c.get("/crm/v3/properties/contacts/groups/contactinformation"),
        "record read": c.get(f"{OBJECTS}/contacts/{ann['id']}"),
        "record list": c.get(f"{OBJECTS}/contacts"),
        "search": c.post(f"{OBJECTS}/contacts/search", json={}),
        "batch read 200": c.post(
            f"{OBJECTS}/contacts/batch/read", json={"inputs": [{"id": ann["id"]}]}
        ),
        "batch read 207": c.post(
            f"{OBJECTS}/contacts/batch/read",
            json={"inputs": [{"id": ann["id"]}, {"id": "999999"}]},
        ),
        "batch update 200": c.post(
            f"{OBJECTS}/contacts/batch/update",
            json={"inputs": [{"id": ann["id"], "properties": {"firstname": "Ann"}}]},
        ),
        "batch create 207": c.post(
            f"{OBJECTS}/contacts/batch/create",
            json={"inputs": [{"properties": {"email": "ann@example.com"}}]},
        ),
        "default association": c.put(
            f"/crm/v4/objects/contacts/{ann['id']}/associations/default/companies/{acme['id']}"
        ),
        "v4 list": c.get(f"/crm/v4/objects/contacts/{ann['id']}/associations/companies"),
        "v4 batch read": c.post(
            "/crm/v4/associations/contacts/companies/batch/read",
            json={"inputs": [{"id": ann["id"]}]},
        ),
        "v4 labels": c.get("/crm/v4/associations/contacts/companies/labels"),
        "404": c.get(f"{OBJECTS}/contacts/999999"),
        "400": c.post(f"{OBJECTS}/contacts", json={"properties": {"nosuch": "x"}}),
    }
    for name, answer in answers.items():
        assert answer.status_code < 500, (name, answer.text)
        assert nulls(answer.json()) == [], (name, answer.text)
    # The fields issue 18 names, as HubSpot's models leave them: absent when they have no value.
    prop = answers["property read"].json()
    assert not {"archivedAt", "referencedObjectType"} & set(prop)
    assert prop["textDisplayHint"] == "email" and prop["hubspotDefined"] is True
    assert "hubspotDefined" not in answers["property create"].json()
    for ok in ("property batch read", "batch read 200", "batch update 200", "v4 batch read"):
        assert not {"requestedAt", "links", "errors", "numErrors"} & set(answers[ok].json()), ok
    partial = answers["batch read 207"].json()
    assert partial["numErrors"] == 1 and not {"id", "subCategory"} & set(partial["errors"][0])
    listed = answers["v4 list"].json()
    assert "paging" not in listed
    assert {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None} in (
        listed["results"][0]["associationTypes"]
    )
    assert "paging" not in answers["v4 batch read"].json()["results"][0]
    made = answers["schema create"].json()
    assert "description" not in made
    assert all(isinstance(a["id"], str) for a in made["associations"])
    assert not {"id", "subCategory"} & set(answers["404"].json())
    assert all(not {"id", "subCategory"} & set(e) for e in answers["400"].json()["errors"])


# ------------------------------------------ 3. one errors[] entry per bad property


BAD = {"nosuch": "x", "email": "not-an-email", "lifecyclestage": "bogus", "hs_object_id": "7"}
BAD_CODES = {
    "nosuch": "PROPERTY_DOESNT_EXIST",
    "email": "INVALID_EMAIL",
    "lifecyclestage": "INVALID_OPTION",
    "hs_object_id": "READ_ONLY_VALUE",
}


def _codes(errors: list[dict[str, Any]]) -> dict[str, str]:
    """``{propertyName: code}``, each entry naming exactly one property."""
    out: dict[str, str] = {}
    for entry in errors:
        assert set(entry) <= {"message", "code", "context", "in"} and entry["message"], entry
        (name,) = entry["context"]["propertyName"]
        out[name] = entry["code"]
    return out


def test_a_write_with_several_bad_properties_names_each_of_them(api: Api) -> None:
    made = _contact(api, email="kept@example.com", firstname="Kept")
    create = api.client.post(f"{OBJECTS}/contacts", json={"properties": BAD})
    assert create.status_code == 400
    assert create.json()["category"] == "VALIDATION_ERROR"
    assert _codes(create.json()["errors"]) == BAD_CODES
    update = api.client.patch(
        f"{OBJECTS}/contacts/{made['id']}", json={"properties": {**BAD, "firstname": "Changed"}}
    )
    assert update.status_code == 400 and _codes(update.json()["errors"]) == BAD_CODES
    # Nothing was written: the record is as it was, and no record was made.
    read = _ok(api.client.get(f"{OBJECTS}/contacts/{made['id']}"))
    assert read["properties"]["firstname"] == "Kept"
    assert len(_ok(api.client.get(f"{OBJECTS}/contacts"))["results"]) == 1


@pytest.mark.parametrize("operation", ["create", "update", "upsert"])
def test_a_batch_input_with_several_bad_properties_has_one_entry_each(
    api: Api, operation: str
) -> None:
    ann = _contact(api, email="ann@example.com")
    bob = _contact(api, email="bob@example.com")
    inputs = {
        "create": [{"properties": {"email": "new@example.com"}}, {"properties": BAD}],
        "update": [
            {"id": ann["id"], "properties": {"firstname": "Ok"}},
            {"id": bob["id"], "properties": BAD},
        ],
        "upsert": [
            {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "Ok"}},
            {"id": "bad@example.com", "idProperty": "email", "properties": BAD},
        ],
    }[operation]
    answer = api.client.post(f"{OBJECTS}/contacts/batch/{operation}", json={"inputs": inputs})
    body = _ok(answer, 207)
    assert body["numErrors"] == 1 and len(body["results"]) == 1  # the good input was written
    (error,) = body["errors"]
    assert error["category"] == "VALIDATION_ERROR"
    assert _codes(error["errors"]) == BAD_CODES


# ----------------------------------------------------- 2. booleancheckbox options


def _bool_property(name: str, options: list[dict[str, Any]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "label": name.title(),
        "type": "bool",
        "fieldType": "booleancheckbox",
        "groupName": "contactinformation",
    }
    if options is not None:
        body["options"] = options
    return body


def _options(prop: dict[str, Any]) -> list[tuple[str, str]]:
    return [(o["value"], o["label"]) for o in sorted(prop["options"], key=lambda o: o["value"])]


def test_bool_properties_take_and_list_hubspots_two_options(api: Api) -> None:
    usual = [{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}]
    made = _ok(
        api.client.post("/crm/v3/properties/contacts", json=_bool_property("vip", usual)), 201
    )
    assert _options(made) == [("false", "No"), ("true", "Yes")]
    french = [{"label": "Oui", "value": "true"}, {"label": "Non", "value": "false"}]
    api.client.post("/crm/v3/properties/contacts", json=_bool_property("actif", french))
    kept = _ok(api.client.get("/crm/v3/properties/contacts/actif"))
    assert _options(kept) == [("false", "Non"), ("true", "Oui")]
    # Made without options (or before this change), a bool lists HubSpot's Yes/No pair.
    api.client.post("/crm/v3/properties/contacts", json=_bool_property("plain", None))
    plain = _ok(api.client.get("/crm/v3/properties/contacts/plain"))
    assert _options(plain) == [("false", "No"), ("true", "Yes")]
    assert all(
        isinstance(o["displayOrder"], int) and o["hidden"] is False for o in plain["options"]
    )
    # The property takes values as any bool does.
    record = _contact(api, email="vip@example.com", vip="true")
    assert record["properties"]["vip"] == "true"


def test_a_bool_with_other_options_is_a_400_with_errors(api: Api) -> None:
    other = [{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}]
    answer = api.client.post("/crm/v3/properties/contacts", json=_bool_property("vip", other))
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"] and "true and false" in body["errors"][0]["message"]
    assert api.client.get("/crm/v3/properties/contacts/vip").status_code == 404
