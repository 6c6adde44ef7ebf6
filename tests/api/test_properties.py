"""``/crm/v3/properties``: definitions and groups over a real server, on SQLite and PostgreSQL.

Answers are checked for HubSpot's shape and status codes, refusals for HubSpot's error body,
and every refused write for having written nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hubspot
import pytest
from hubspot.crm.properties import (
    ApiException,
    ModelProperty,
    OptionInput,
    PropertyCreate,
    PropertyGroup,
    PropertyGroupCreate,
)

from store import Store, ValidationError
from syncd.api import ApiSettings
from tests.api.conftest import Api
from tests.conftest import API

BASE = "/crm/v3/properties"

PROPERTY_FIELDS = {
    "name", "label", "type", "fieldType", "groupName", "description", "options", "displayOrder",
    "hasUniqueValue", "hidden", "formField", "calculated", "externalOptions", "hubspotDefined",
    "modificationMetadata", "createdAt", "updatedAt", "archived",
}  # fmt: skip


@pytest.fixture
def api_settings() -> ApiSettings:
    return ApiSettings(rate_limit_max=100_000)


@pytest.fixture
def hs(api: Api) -> Iterator[Any]:
    yield hubspot.Client.create(access_token=api.token, host=api.url)


def tier(name: str = "tier", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "label": "Tier",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "contactinformation",
        "options": [
            {"label": "Gold", "value": "gold", "displayOrder": 0, "hidden": False},
            {"label": "Silver", "value": "silver"},
        ],
    }
    body.update(extra)
    return body


def names(store: Store, object_name: str = "contacts") -> set[str]:
    return {p.name for p in store.list_properties(object_name, include_archived=True)}


def assert_error(answer: Any, status: int, category: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == "error" and body["category"] == category
    assert body["message"] and body["correlationId"]
    return body


# ------------------------------------------------------------------ read


def test_list_has_the_builtin_properties_in_hubspots_shape(api: Api) -> None:
    answer = api.client.get(f"{BASE}/contacts")
    assert answer.status_code == 200
    by_name = {p["name"]: p for p in answer.json()["results"]}
    email = by_name["email"]
    assert PROPERTY_FIELDS <= set(email)
    assert (email["type"], email["fieldType"], email["hubspotDefined"]) == ("string", "text", True)
    assert email["modificationMetadata"] == {
        "archivable": False,
        "readOnlyDefinition": True,
        "readOnlyValue": False,
        "readOnlyOptions": False,
    }
    assert by_name["hs_object_id"]["modificationMetadata"]["readOnlyValue"] is True
    stage = by_name["lifecyclestage"]
    assert {"label", "value", "displayOrder", "hidden"} <= set(stage["options"][0])
    assert all(not p["archived"] for p in by_name.values())


def test_object_type_is_accepted_by_type_id_and_singular(api: Api) -> None:
    by_name = api.client.get(f"{BASE}/companies").json()
    assert api.client.get(f"{BASE}/0-2").json()["results"] == by_name["results"]
    assert api.client.get(f"{BASE}/company").status_code == 200


def test_list_can_be_narrowed_to_named_properties(api: Api) -> None:
    answer = api.client.get(f"{BASE}/contacts", params={"properties": "email,firstname,nope"})
    assert sorted(p["name"] for p in answer.json()["results"]) == ["email", "firstname"]


@pytest.mark.parametrize(
    "path",
    [f"{BASE}/nothings", f"{BASE}/nothings/email", f"{BASE}/contacts/nosuchprop"],
    ids=["unknown-object", "unknown-object-property", "unknown-property"],
)
def test_unknown_object_or_property_is_404(api: Api, path: str) -> None:
    assert_error(api.client.get(path), 404, "OBJECT_NOT_FOUND")


# ------------------------------------------------------------------ create, update, archive


def test_created_property_is_answered_201_and_read_back(api: Api) -> None:
    answer = api.client.post(f"{BASE}/contacts", json=tier(description="Customer tier"))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert PROPERTY_FIELDS - {"hubspotDefined"} <= set(created)
    assert (created["name"], created["type"], created["fieldType"]) == (
        "tier",
        "enumeration",
        "select",
    )
    assert [o["value"] for o in created["options"]] == ["gold", "silver"]
    assert created["modificationMetadata"]["archivable"] is True
    assert created["groupName"] == "contactinformation"
    assert api.client.get(f"{BASE}/contacts/tier").json() == created
    # The definition is live at once: values are checked against its options.
    api.store.create_record("contacts", {"email": "a@example.com", "tier": "gold"}, API)
    with pytest.raises(ValidationError):
        api.store.create_record("contacts", {"email": "b@example.com", "tier": "bronze"}, API)


def test_a_duplicate_property_is_409(api: Api) -> None:
    assert api.client.post(f"{BASE}/contacts", json=tier()).status_code == 201
    assert_error(api.client.post(f"{BASE}/contacts", json=tier()), 409, "CONFLICT")
    assert_error(api.client.post(f"{BASE}/contacts", json=tier("email")), 409, "CONFLICT")


BAD_DEFINITIONS = [
    ("field-type-misfit", {"type": "string", "fieldType": "select"}),
    ("unknown-type", {"type": "colour", "fieldType": "text"}),
    ("unknown-field-type", {"type": "string", "fieldType": "file"}),
    ("enum-without-options", {"options": []}),
    ("calculation", {"type": "number", "fieldType": "calculation_equation", "options": []}),
    ("formula", {"calculationFormula": "1 + 1"}),
    ("uppercase-name", {"name": "Tier"}),
    ("name-starts-with-digit", {"name": "1tier"}),
    ("name-with-dash", {"name": "my-tier"}),
    ("long-name", {"name": "t" * 101}),
    ("unknown-group", {"groupName": "nogroup"}),
    ("empty-label", {"label": ""}),
    ("long-label", {"label": "L" * 201}),
    ("wrong-type-label", {"label": 5}),
    ("wrong-type-options", {"options": "gold"}),
    ("nul-in-name", {"name": "ti\x00er"}),
    ("nul-in-option", {"options": [{"label": "G", "value": "go\x00ld"}]}),
    ("long-description", {"description": "d" * 70_000}),
    ("too-many-options", {"options": [{"label": f"{i}", "value": f"v{i}"} for i in range(1001)]}),
    ("missing-group", {"groupName": None}),
]


@pytest.mark.parametrize(
    "change", [c[1] for c in BAD_DEFINITIONS], ids=[c[0] for c in BAD_DEFINITIONS]
)
def test_a_bad_definition_is_400_and_writes_nothing(api: Api, change: dict[str, Any]) -> None:
    before = names(api.store)
    body = tier(**change)
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(api.client.post(f"{BASE}/contacts", json=body), 400, "VALIDATION_ERROR")
    assert names(api.store) == before


def test_malformed_json_is_400(api: Api) -> None:
    answer = api.client.post(
        f"{BASE}/contacts", content=b'{"name": "x",', headers={"Content-Type": "application/json"}
    )
    assert_error(answer, 400, "VALIDATION_ERROR")


def test_update_changes_label_and_options_and_keeps_the_rest(api: Api) -> None:
    api.client.post(f"{BASE}/contacts", json=tier())
    answer = api.client.patch(
        f"{BASE}/contacts/tier",
        json={"label": "Level", "options": [{"label": "Gold", "value": "gold", "hidden": True}]},
    )
    assert answer.status_code == 200, answer.text
    updated = answer.json()
    assert updated["label"] == "Level"
    assert [(o["value"], o["hidden"]) for o in updated["options"]] == [("gold", True)]
    assert updated["groupName"] == "contactinformation"
    assert api.store.get_property("contacts", "tier").label == "Level"


def test_update_of_a_builtin_may_relabel_but_not_retype(api: Api) -> None:
    relabelled = api.client.patch(f"{BASE}/contacts/firstname", json={"label": "Given name"})
    assert relabelled.status_code == 200 and relabelled.json()["label"] == "Given name"
    assert_error(
        api.client.patch(
            f"{BASE}/contacts/firstname", json={"type": "number", "fieldType": "number"}
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert api.store.get_property("contacts", "firstname").type == "string"


def test_update_of_an_unknown_property_is_404(api: Api) -> None:
    assert_error(
        api.client.patch(f"{BASE}/contacts/nosuch", json={"label": "X"}), 404, "OBJECT_NOT_FOUND"
    )


def test_archive_is_204_and_the_property_is_then_only_found_archived(api: Api) -> None:
    api.client.post(f"{BASE}/contacts", json=tier())
    answer = api.client.delete(f"{BASE}/contacts/tier")
    assert answer.status_code == 204 and answer.content == b""
    assert_error(api.client.get(f"{BASE}/contacts/tier"), 404, "OBJECT_NOT_FOUND")
    archived = api.client.get(f"{BASE}/contacts/tier", params={"archived": "true"})
    assert archived.status_code == 200
    assert archived.json()["archived"] is True and archived.json()["archivedAt"]
    listed = api.client.get(f"{BASE}/contacts", params={"archived": "true"}).json()["results"]
    assert [p["name"] for p in listed] == ["tier"]
    live = api.client.get(f"{BASE}/contacts").json()["results"]
    assert "tier" not in {p["name"] for p in live}
    assert_error(api.client.delete(f"{BASE}/contacts/tier"), 404, "OBJECT_NOT_FOUND")


def test_archiving_a_builtin_property_is_400(api: Api) -> None:
    assert_error(api.client.delete(f"{BASE}/contacts/email"), 400, "VALIDATION_ERROR")
    assert not api.store.get_property("contacts", "email").archived


# ------------------------------------------------------------------ batch


def test_batch_create_answers_201_or_207_per_input(api: Api) -> None:
    ok = api.client.post(f"{BASE}/contacts/batch/create", json={"inputs": [tier("a1"), tier("a2")]})
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert body["status"] == "COMPLETE" and body["startedAt"] and body["completedAt"]
    assert sorted(p["name"] for p in body["results"]) == ["a1", "a2"]

    mixed = api.client.post(
        f"{BASE}/contacts/batch/create",
        json={"inputs": [tier("a3"), tier("a1"), tier("a4", fieldType="radio", type="string")]},
    )
    assert mixed.status_code == 207, mixed.text
    body = mixed.json()
    assert [p["name"] for p in body["results"]] == ["a3"]
    assert body["numErrors"] == 2
    categories = sorted(e["category"] for e in body["errors"])
    assert categories == ["CONFLICT", "VALIDATION_ERROR"]
    for error in body["errors"]:
        assert error["status"] == "error" and error["links"] == {}
        assert error["context"]["name"][0] in ("a1", "a4")
    assert "a4" not in names(api.store)


def test_batch_read_answers_200_or_207(api: Api) -> None:
    ok = api.client.post(
        f"{BASE}/contacts/batch/read",
        json={"archived": False, "inputs": [{"name": "email"}, {"name": "firstname"}]},
    )
    assert ok.status_code == 200
    assert sorted(p["name"] for p in ok.json()["results"]) == ["email", "firstname"]
    mixed = api.client.post(
        f"{BASE}/contacts/batch/read",
        json={"archived": False, "inputs": [{"name": "email"}, {"name": "nope"}]},
    )
    assert mixed.status_code == 207
    assert mixed.json()["errors"][0]["context"] == {"name": ["nope"]}


def test_batch_archive_is_all_or_nothing(api: Api) -> None:
    api.client.post(f"{BASE}/contacts/batch/create", json={"inputs": [tier("b1"), tier("b2")]})
    refused = api.client.post(
        f"{BASE}/contacts/batch/archive", json={"inputs": [{"name": "b1"}, {"name": "email"}]}
    )
    assert_error(refused, 400, "VALIDATION_ERROR")
    assert not api.store.get_property("contacts", "b1").archived
    missing = api.client.post(
        f"{BASE}/contacts/batch/archive", json={"inputs": [{"name": "b1"}, {"name": "nope"}]}
    )
    assert_error(missing, 404, "OBJECT_NOT_FOUND")
    done = api.client.post(
        f"{BASE}/contacts/batch/archive", json={"inputs": [{"name": "b1"}, {"name": "b2"}]}
    )
    assert done.status_code == 204
    archived = {p.name for p in api.store.list_properties("contacts", include_archived=True)}
    live = {p.name for p in api.store.list_properties("contacts")}
    assert {"b1", "b2"} <= archived - live


@pytest.mark.parametrize("endpoint", ["create", "read", "archive"])
def test_a_batch_of_more_than_100_is_400(api: Api, endpoint: str) -> None:
    item = tier("x") if endpoint == "create" else {"name": "email"}
    body: dict[str, Any] = {"inputs": [item] * 101}
    answer = api.client.post(f"{BASE}/contacts/batch/{endpoint}", json=body)
    assert_error(answer, 400, "VALIDATION_ERROR")


# ------------------------------------------------------------------ groups


def test_groups_are_listed_created_read_updated_and_archived(api: Api) -> None:
    listed = api.client.get(f"{BASE}/contacts/groups")
    assert listed.status_code == 200
    assert "contactinformation" in {g["name"] for g in listed.json()["results"]}
    assert set(listed.json()["results"][0]) == {"name", "label", "displayOrder", "archived"}

    created = api.client.post(
        f"{BASE}/contacts/groups", json={"name": "billing", "label": "Billing", "displayOrder": 7}
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "name": "billing",
        "label": "Billing",
        "displayOrder": 7,
        "archived": False,
    }
    assert_error(
        api.client.post(f"{BASE}/contacts/groups", json={"name": "billing", "label": "B"}),
        409,
        "CONFLICT",
    )
    assert api.client.get(f"{BASE}/contacts/groups/billing").json()["label"] == "Billing"
    patched = api.client.patch(f"{BASE}/contacts/groups/billing", json={"label": "Invoices"})
    assert patched.status_code == 200
    assert patched.json()["label"] == "Invoices" and patched.json()["displayOrder"] == 7

    api.client.post(f"{BASE}/contacts", json=tier(groupName="billing"))
    assert_error(api.client.delete(f"{BASE}/contacts/groups/billing"), 400, "VALIDATION_ERROR")
    api.client.patch(f"{BASE}/contacts/tier", json={"groupName": "contactinformation"})
    assert api.client.delete(f"{BASE}/contacts/groups/billing").status_code == 204
    assert_error(api.client.get(f"{BASE}/contacts/groups/billing"), 404, "OBJECT_NOT_FOUND")
    again = api.client.post(f"{BASE}/contacts/groups", json={"name": "billing", "label": "Bills"})
    assert again.status_code == 201 and again.json()["label"] == "Bills"


@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("patch", {"label": "X"}), ("delete", None)],
    ids=["get", "patch", "delete"],
)
def test_an_unknown_group_is_404(api: Api, method: str, body: Any) -> None:
    answer = api.client.request(method, f"{BASE}/contacts/groups/nogroup", json=body)
    assert_error(answer, 404, "OBJECT_NOT_FOUND")


BAD_GROUPS = [
    ("uppercase", {"name": "Billing", "label": "B"}),
    ("no-label", {"name": "billing"}),
    ("long-label", {"name": "billing", "label": "L" * 201}),
    ("nul", {"name": "bil\x00ling", "label": "B"}),
    ("wrong-order", {"name": "billing", "label": "B", "displayOrder": "first"}),
    ("huge-order", {"name": "billing", "label": "B", "displayOrder": 2**40}),
]


@pytest.mark.parametrize("body", [c[1] for c in BAD_GROUPS], ids=[c[0] for c in BAD_GROUPS])
def test_a_bad_group_is_400(api: Api, body: dict[str, Any]) -> None:
    assert_error(api.client.post(f"{BASE}/contacts/groups", json=body), 400, "VALIDATION_ERROR")
    assert "billing" not in {g.name for g in api.store.list_groups("contacts")}


# ------------------------------------------------------------------ HubSpot's client


def test_hubspot_client_creates_and_reads_a_property_and_a_group(hs: Any, api: Api) -> None:
    group = hs.crm.properties.groups_api.create(
        object_type="contacts",
        property_group_create=PropertyGroupCreate(name="loyalty", label="Loyalty"),
    )
    assert isinstance(group, PropertyGroup) and group.name == "loyalty"
    created = hs.crm.properties.core_api.create(
        object_type="contacts",
        property_create=PropertyCreate(
            name="loyalty_tier",
            label="Loyalty tier",
            type="enumeration",
            field_type="radio",
            group_name="loyalty",
            options=[OptionInput(label="Gold", value="gold", hidden=False, display_order=0)],
        ),
    )
    assert isinstance(created, ModelProperty)
    assert (created.name, created.field_type, created.group_name) == (
        "loyalty_tier",
        "radio",
        "loyalty",
    )
    read = hs.crm.properties.core_api.get_by_name(object_type="0-1", property_name="loyalty_tier")
    assert read.options[0].value == "gold" and read.created_at is not None
    everything = hs.crm.properties.core_api.get_all(object_type="contacts")
    assert "loyalty_tier" in {p.name for p in everything.results}
    with pytest.raises(ApiException) as refused:
        hs.crm.properties.core_api.get_by_name(object_type="contacts", property_name="nope")
    assert refused.value.status == 404
