"""``/crm/v3/objects/{objectType}[/{id}]`` and merge over a real server, SQLite and PostgreSQL.

Every success answer is decoded with the HubSpot client's own model for that status, whose
required fields are checked on construction; refusals are HubSpot's error document with the
status HubSpot uses. Hostile bodies are refused with 400 and write nothing.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import hubspot
import pytest
from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate
from hubspot.crm.objects import ApiClient

from store import PropertySpec
from tests.api.conftest import Api
from tests.conftest import API

BASE = "/crm/v3/objects"
_DECODER = ApiClient()


def decode(response: httpx.Response, klass: str) -> Any:
    """The body as HubSpot's client decodes it (required fields and types checked)."""
    return _DECODER.deserialize(SimpleNamespace(data=response.content), klass)


def create(api: Api, object_type: str = "contacts", **properties: str) -> dict[str, Any]:
    answer = api.client.post(f"{BASE}/{object_type}", json={"properties": properties})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def refused(answer: httpx.Response, status: int, category: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == "error" and body["message"] and body["correlationId"]
    if category is not None:
        assert body["category"] == category
    return body


# ------------------------------------------------------------------ create, read, update


def test_create_answers_201_with_every_value(api: Api) -> None:
    answer = api.client.post(
        f"{BASE}/contacts", json={"properties": {"email": "Ann@Example.com", "firstname": "Ann"}}
    )
    assert answer.status_code == 201
    made = decode(answer, "SimplePublicObject")
    assert made.id.isdigit() and made.archived is False
    assert made.properties["email"] == "Ann@Example.com"
    assert made.properties["firstname"] == "Ann"
    assert made.properties["hs_object_id"] == made.id
    assert api.store.get_record("contacts", int(made.id)).properties["firstname"] == "Ann"


def test_create_by_type_id_and_json_scalars(api: Api) -> None:
    answer = api.client.post(
        f"{BASE}/0-3",
        json={
            "properties": {
                "dealname": "Big",
                "amount": 12.5,
                "dealstage": "appointmentscheduled",
                "closedate": None,
            }
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["properties"]["amount"] == "12.5"


def test_read_answers_default_properties_with_nulls(api: Api) -> None:
    made = create(api, email="a@example.com", firstname="Ann", phone="+14155550100")
    answer = api.client.get(f"{BASE}/contacts/{made['id']}")
    read = decode(answer, "SimplePublicObjectWithAssociations")
    assert read.properties == {
        "createdate": made["properties"]["createdate"],
        "email": "a@example.com",
        "firstname": "Ann",
        "hs_object_id": made["id"],
        "lastmodifieddate": made["properties"]["lastmodifieddate"],
        "lastname": None,
    }


def test_read_chosen_properties_repeated_or_comma_joined(api: Api) -> None:
    made = create(api, email="a@example.com", firstname="Ann", phone="+14155550100")
    url = f"{BASE}/contacts/{made['id']}"
    joined = api.client.get(url, params={"properties": "phone,firstname,nosuch"}).json()
    repeated = api.client.get(url, params=[("properties", "phone"), ("properties", "firstname")])
    assert joined["properties"] == {
        "phone": "+14155550100",
        "firstname": "Ann",
        # The system properties HubSpot returns whatever was asked for.
        "createdate": made["createdAt"],
        "hs_object_id": made["id"],
        "lastmodifieddate": made["updatedAt"],
    }
    assert repeated.json()["properties"] == joined["properties"]


def test_read_by_id_property(api: Api) -> None:
    made = create(api, email="a@example.com")
    answer = api.client.get(
        f"{BASE}/contacts/A@EXAMPLE.com", params={"idProperty": "email", "properties": "email"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == made["id"]
    refused(
        api.client.get(f"{BASE}/contacts/b@example.com", params={"idProperty": "email"}),
        404,
        "OBJECT_NOT_FOUND",
    )
    refused(
        api.client.get(f"{BASE}/contacts/Ann", params={"idProperty": "firstname"}),
        400,
        "VALIDATION_ERROR",
    )
    refused(
        api.client.get(f"{BASE}/contacts/x", params={"idProperty": "nosuch"}),
        400,
        "VALIDATION_ERROR",
    )


def test_property_history_carries_source_api_and_token_name(api: Api) -> None:
    made = create(api, email="a@example.com", firstname="Ann")
    patched = api.client.patch(
        f"{BASE}/contacts/{made['id']}", json={"properties": {"firstname": "Anne"}}
    )
    assert patched.status_code == 200, patched.text
    answer = api.client.get(
        f"{BASE}/contacts/{made['id']}", params={"propertiesWithHistory": "firstname,lastname"}
    )
    read = decode(answer, "SimplePublicObjectWithAssociations")
    versions = read.properties_with_history["firstname"]
    assert [v.value for v in versions] == ["Anne", "Ann"]
    assert {(v.source_type, v.source_id) for v in versions} == {("API", "tester")}
    assert read.properties_with_history["lastname"] == []
    history = api.store.property_history("contacts", int(made["id"]), "firstname")
    assert {(h.source_type.value, h.source_id) for h in history} == {("API", "tester")}


def test_update_answers_200_and_by_id_property(api: Api) -> None:
    made = create(api, email="a@example.com")
    answer = api.client.patch(
        f"{BASE}/contacts/a@example.com",
        params={"idProperty": "email"},
        json={"properties": {"lastname": "Smith", "firstname": ""}},
    )
    assert answer.status_code == 200, answer.text
    updated = decode(answer, "SimplePublicObject")
    assert updated.id == made["id"] and updated.properties["lastname"] == "Smith"
    assert "firstname" not in updated.properties


@pytest.mark.parametrize(
    ("properties", "code"),
    [
        ({"nosuch": "x"}, "PROPERTY_DOESNT_EXIST"),
        ({"lifecyclestage": "nonsense"}, "INVALID_OPTION"),
        ({"hs_object_id": "5"}, "READ_ONLY_VALUE"),
        ({"createdate": "2024-01-01T00:00:00Z"}, "READ_ONLY_VALUE"),
        ({"email": "not an email"}, "INVALID_EMAIL"),
    ],
    ids=["unknown", "bad-option", "read-only-id", "read-only-date", "bad-email"],
)
def test_bad_values_are_400_and_write_nothing(
    api: Api, properties: dict[str, str], code: str
) -> None:
    body = refused(api.client.post(f"{BASE}/contacts", json={"properties": properties}), 400)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"][0]["code"] == code
    made = create(api, email="a@example.com")
    refused(api.client.patch(f"{BASE}/contacts/{made['id']}", json={"properties": properties}), 400)
    assert api.store.count_records("contacts") == 1
    assert api.store.get_record("contacts", int(made["id"])).properties["email"] == "a@example.com"


def test_duplicate_email_is_409_naming_the_existing_record(api: Api) -> None:
    made = create(api, email="a@example.com")
    body = refused(
        api.client.post(f"{BASE}/contacts", json={"properties": {"email": "A@example.com"}}),
        409,
        "CONFLICT",
    )
    assert body["message"] == f"Contact already exists. Existing ID: {made['id']}"
    other = create(api, email="b@example.com")
    body = refused(
        api.client.patch(
            f"{BASE}/contacts/{other['id']}", json={"properties": {"email": "a@example.com"}}
        ),
        409,
    )
    assert body["message"].endswith(f"Existing ID: {made['id']}")


@pytest.mark.parametrize(
    "record_id",
    ["abc", "0", "-1", "99999", "1.5", "9" * 19, "9" * 40, "%20", "\uff11\uff12"],
    ids=["text", "zero", "negative", "absent", "float", "huge", "huger", "space", "fullwidth"],
)
def test_unknown_record_is_404(api: Api, record_id: str) -> None:
    create(api, email="a@example.com")
    url = f"{BASE}/contacts/{record_id}"
    refused(api.client.get(url), 404, "OBJECT_NOT_FOUND")
    refused(api.client.patch(url, json={"properties": {"firstname": "X"}}), 404)
    assert api.client.delete(url).status_code == 204


@pytest.mark.parametrize("object_type", ["nosuch", "0-999", "p_nosuch", "x" * 300])
def test_unknown_object_type_is_404(api: Api, object_type: str) -> None:
    for answer in (
        api.client.get(f"{BASE}/{object_type}"),
        api.client.get(f"{BASE}/{object_type}/1"),
        api.client.post(f"{BASE}/{object_type}", json={"properties": {}}),
        api.client.post(f"{BASE}/{object_type}/search", json={}),
        api.client.post(f"{BASE}/{object_type}/batch/read", json={"inputs": [{"id": "1"}]}),
    ):
        assert answer.status_code in (404, 400), answer.text
        if len(object_type) < 200:
            refused(answer, 404, "OBJECT_NOT_FOUND")


def test_archive_answers_204_and_archived_reads(api: Api) -> None:
    made = create(api, email="a@example.com")
    url = f"{BASE}/contacts/{made['id']}"
    assert api.client.delete(url).status_code == 204
    assert api.client.delete(url).status_code == 204  # again: still 204
    refused(api.client.get(url), 404)
    archived = api.client.get(url, params={"archived": "true"})
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert decode(archived, "SimplePublicObjectWithAssociations").archived_at is not None
    listed = api.client.get(f"{BASE}/contacts", params={"archived": "true"}).json()
    assert [r["id"] for r in listed["results"]] == [made["id"]]
    assert api.client.get(f"{BASE}/contacts").json()["results"] == []
    # The email is free again once its holder is archived.
    create(api, email="a@example.com")


def test_create_with_associations_by_type_id(api: Api) -> None:
    company = create(api, "companies", name="Acme", domain="acme.com")
    answer = api.client.post(
        f"{BASE}/contacts",
        json={
            "properties": {"email": "a@example.com"},
            "associations": [
                {
                    "to": {"id": company["id"]},
                    "types": [
                        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279},
                        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1},
                    ],
                }
            ],
        },
    )
    assert answer.status_code == 201, answer.text
    contact = answer.json()
    read = api.client.get(
        f"{BASE}/contacts/{contact['id']}", params={"associations": "companies,nosuch"}
    )
    found = decode(read, "SimplePublicObjectWithAssociations").associations["companies"]
    assert {(a.id, a.type) for a in found.results} == {
        (company["id"], "contact_to_company"),
        (company["id"], "contact_to_company_unlabeled"),
    }
    labels = api.store.list_associations("contacts", int(contact["id"]), "companies")[0].labels
    assert {x.type_id for x in labels} == {1, 279}
    listed = api.client.get(f"{BASE}/0-2", params={"associations": "0-1"}).json()
    assert listed["results"][0]["associations"]["contacts"]["results"][0]["id"] == contact["id"]


@pytest.mark.parametrize(
    ("association", "message"),
    [
        ({"to": {"id": "1"}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                         "associationTypeId": 999999}]}, "association type 999999"),
        ({"to": {"id": "424242"}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                              "associationTypeId": 279}]}, "no companies record"),
        ({"to": {"id": "abc"}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                           "associationTypeId": 279}]}, "not a record id"),
        ({"to": {"id": "1"}, "types": []}, "types"),
        ({"to": {"id": "1"}, "types": [{"associationCategory": "NOPE",
                                         "associationTypeId": 279}]}, "associationCategory"),
    ],
    ids=["unknown-type", "missing-record", "bad-id", "no-types", "bad-category"],
)  # fmt: skip
def test_bad_associations_are_400_and_create_nothing(
    api: Api, association: dict[str, Any], message: str
) -> None:
    answer = api.client.post(
        f"{BASE}/contacts",
        json={"properties": {"email": "a@example.com"}, "associations": [association]},
    )
    assert message in refused(answer, 400, "VALIDATION_ERROR")["message"]
    assert api.store.count_records("contacts") == 0


def test_merge_keeps_the_primary_and_archives_the_other(api: Api) -> None:
    winner = create(api, email="a@example.com")
    loser = create(api, email="b@example.com", firstname="Bob")
    answer = api.client.post(
        f"{BASE}/contacts/merge",
        json={"primaryObjectId": winner["id"], "objectIdToMerge": loser["id"]},
    )
    assert answer.status_code == 200, answer.text
    merged = decode(answer, "SimplePublicObject")
    assert merged.id == winner["id"] and merged.properties["firstname"] == "Bob"
    # The merged-away id still reads, as the record it went into (as HubSpot does).
    assert api.client.get(f"{BASE}/contacts/{loser['id']}").json()["id"] == winner["id"]
    refused(
        api.client.post(
            f"{BASE}/contacts/merge", json={"primaryObjectId": "x", "objectIdToMerge": "1"}
        ),
        404,
    )
    refused(
        api.client.post(
            f"{BASE}/contacts/merge",
            json={"primaryObjectId": winner["id"], "objectIdToMerge": winner["id"]},
        ),
        400,
    )


# ------------------------------------------------------------------ list and paging


def test_list_pages_through_every_record_exactly_once(api: Api) -> None:
    made = api.store.create_records(
        "contacts", [{"email": f"p{i}@example.com"} for i in range(23)], API
    ).records
    api.store.archive_records("contacts", [made[5].id], API)
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5, "properties": "email"}
        if after is not None:
            params["after"] = after
        answer = api.client.get(f"{BASE}/contacts", params=params)
        page = decode(answer, "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging")
        seen.extend(r.id for r in page.results)
        pages += 1
        if page.paging is None:
            break
        after = page.paging.next.after
        assert f"after={after}" in page.paging.next.link
    assert seen == [str(r.id) for r in made if r.id != made[5].id]
    assert pages == 5


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"after": "abc"}, {"after": "-5"},
     {"archived": "maybe"}, {"properties": "x" * 200}],
    ids=["limit-0", "limit-101", "limit-text", "after-text", "after-negative", "archived",
         "long-name"],
)  # fmt: skip
def test_list_refuses_bad_parameters(api: Api, params: dict[str, Any]) -> None:
    refused(api.client.get(f"{BASE}/contacts", params=params), 400, "VALIDATION_ERROR")


def test_list_with_history_and_custom_object(api: Api) -> None:
    api.store.create_property("contacts", PropertySpec("score", "Score", "number", "number"))
    made = create(api, email="a@example.com", score="3")
    api.client.patch(f"{BASE}/contacts/{made['id']}", json={"properties": {"score": "4"}})
    answer = api.client.get(
        f"{BASE}/contacts", params={"propertiesWithHistory": "score", "properties": "score"}
    )
    page = decode(answer, "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging")
    assert [v.value for v in page.results[0].properties_with_history["score"]] == ["4", "3"]
    properties = page.results[0].properties
    assert properties["score"] == "4"
    assert set(properties) == {"score", "createdate", "hs_object_id", "lastmodifieddate"}


# ------------------------------------------------------------------ hostile bodies


def _post_raw(api: Api, path: str, content: bytes) -> httpx.Response:
    return api.client.post(path, content=content, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"not json",
        b"[]",
        b'{"properties": []}',
        b'{"properties": "x"}',
        b'{"properties": {"email": {"nested": 1}}}',
        b'{"properties": {"email": ["a"]}}',
        b'{"properties": {"": "x"}}',
        b'{"properties": {"firstname": NaN}}',
        b'{"properties": {"firstname": "a\\u0000b"}}',
        b'{"properties": {"fir\\u0000stname": "a"}}',
        b'{"properties": {"email": "a@b.com"}, "associations": "x"}',
        b'{"properties": {"email": "a@b.com"}, "associations": [{"to": {}, "types": []}]}',
        b"\xff\xfe",
        b'{"properties": {"firstname": "' + b"x" * 70_000 + b'"}}',
        b'{"properties": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b'{"properties": {"firstname": ' + b'{"a":' * 3_000 + b"1" + b"}" * 3_000 + b"}}",
    ],
    ids=[
        "truncated",
        "not-json",
        "a-list",
        "properties-list",
        "properties-text",
        "nested-value",
        "list-value",
        "empty-name",
        "nan",
        "nul-value",
        "nul-name",
        "associations-text",
        "association-empty",
        "not-utf8",
        "70k-value",
        "deep-lists",
        "deep-objects",
    ],
)
def test_hostile_create_bodies_are_400(api: Api, content: bytes) -> None:
    refused(_post_raw(api, f"{BASE}/contacts", content), 400)
    made = create(api, email="a@example.com")
    if b"associations" in content:
        return  # an update takes no associations (ignored, as HubSpot ignores them)
    answer = api.client.patch(
        f"{BASE}/contacts/{made['id']}",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    refused(answer, 400)
    assert api.store.count_records("contacts") == 1


def test_too_many_property_keys_is_400(api: Api) -> None:
    properties = {f"p{i}": "x" for i in range(1_001)}
    body = refused(api.client.post(f"{BASE}/contacts", json={"properties": properties}), 400)
    assert "1000" in body["message"] or "1,000" in body["message"]
    assert api.store.count_records("contacts") == 0


def test_values_within_limits_but_unknown_names_name_the_property(api: Api) -> None:
    properties = {f"p{i}": "x" for i in range(1_000)}
    body = refused(api.client.post(f"{BASE}/contacts", json={"properties": properties}), 400)
    assert body["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


def test_long_text_within_hubspot_limit_is_kept(api: Api) -> None:
    value = "é" * 65_536
    api.store.create_property("contacts", PropertySpec("notes_text", "Notes", "string", "textarea"))
    answer = api.client.post(f"{BASE}/contacts", json={"properties": {"notes_text": value}})
    assert answer.status_code == 201, answer.text[:200]
    stored = api.store.get_record("contacts", int(answer.json()["id"])).properties["notes_text"]
    assert stored == value


# ------------------------------------------------------------------ the official client


def test_hubspot_client_basic_api_round_trip(api: Api) -> None:
    client = hubspot.Client.create(access_token=api.token, host=api.url)
    made = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"email": "client@example.com", "firstname": "Cli"}
        )
    )
    read = client.crm.contacts.basic_api.get_by_id(
        made.id, properties=["email", "firstname"], properties_with_history=["firstname"]
    )
    assert read.properties["firstname"] == "Cli"
    assert read.properties_with_history["firstname"][0].source_id == "tester"
    updated = client.crm.contacts.basic_api.update(
        made.id, simple_public_object_input=SimplePublicObjectInput(properties={"lastname": "Ent"})
    )
    assert updated.properties["lastname"] == "Ent"
    page = client.crm.contacts.basic_api.get_page(limit=10, properties=["lastname"])
    assert [r.properties["lastname"] for r in page.results] == ["Ent"]
    client.crm.contacts.basic_api.archive(made.id)
    assert api.store.get_record("contacts", int(made.id), include_archived=True).archived
