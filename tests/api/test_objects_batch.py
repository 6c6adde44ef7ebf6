"""``/crm/v3/objects/{objectType}/batch/*`` over a real server, on SQLite and PostgreSQL.

Partial failures are a 207 whose body HubSpot's client decodes (``...WithErrors``): the
valid inputs are written, each failing one is reported. A batch of the wrong shape (empty,
over the limit, an id twice) is a 400 and writes nothing.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import hubspot
import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
)
from hubspot.crm.objects import ApiClient

from store import PropertySpec
from tests.api.conftest import Api
from tests.conftest import API

BATCH = "/crm/v3/objects/contacts/batch"
_DECODER = ApiClient()


def decode(response: httpx.Response, klass: str) -> Any:
    return _DECODER.deserialize(SimpleNamespace(data=response.content), klass)


def contacts(api: Api, count: int) -> list[str]:
    made = api.store.create_records(
        "contacts", [{"email": f"c{i}@example.com"} for i in range(count)], API
    )
    return [str(r.id) for r in made.records]


# ------------------------------------------------------------------ create


def test_batch_create_answers_201_and_echoes_trace_ids(api: Api) -> None:
    inputs = [
        {"properties": {"email": f"n{i}@example.com"}, "objectWriteTraceId": f"t{i}"}
        for i in range(3)
    ]
    answer = api.client.post(f"{BATCH}/create", json={"inputs": inputs})
    assert answer.status_code == 201, answer.text
    batch = decode(answer, "BatchResponseSimplePublicObject")
    assert batch.status == "COMPLETE" and batch.started_at <= batch.completed_at
    assert [r.object_write_trace_id for r in batch.results] == ["t0", "t1", "t2"]
    assert [r.properties["email"] for r in batch.results] == [f"n{i}@example.com" for i in range(3)]
    history = api.store.property_history("contacts", int(batch.results[0].id))
    assert {(h.source_type.value, h.source_id) for h in history} == {("API", "tester")}


def test_batch_create_partial_failure_is_207_and_writes_the_valid(api: Api) -> None:
    (existing,) = contacts(api, 1)
    inputs = [
        {"properties": {"email": "ok1@example.com"}},
        {"properties": {"email": "c0@example.com"}, "objectWriteTraceId": "dup"},
        {"properties": {"lifecyclestage": "nonsense"}},
        {"properties": {"nosuch": "x"}},
        {"properties": {"email": "ok2@example.com"}},
    ]
    answer = api.client.post(f"{BATCH}/create", json={"inputs": inputs})
    assert answer.status_code == 207, answer.text
    batch = decode(answer, "BatchResponseSimplePublicObjectWithErrors")
    assert [r.properties["email"] for r in batch.results] == ["ok1@example.com", "ok2@example.com"]
    assert batch.num_errors == 3
    by_index = {e.context["inputIndex"][0]: e for e in batch.errors}
    assert by_index["1"].category == "CONFLICT"
    assert by_index["1"].message == f"Contact already exists. Existing ID: {existing}"
    assert by_index["1"].context["objectWriteTraceId"] == ["dup"]
    assert by_index["2"].category == "VALIDATION_ERROR"
    assert by_index["2"].errors[0].code == "INVALID_OPTION"
    assert by_index["3"].errors[0].code == "PROPERTY_DOESNT_EXIST"
    assert api.store.count_records("contacts") == 3


def test_batch_create_with_associations(api: Api) -> None:
    company = api.store.create_record("companies", {"name": "Acme"}, API)
    link = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}
    inputs = [
        {"properties": {"email": "a@example.com"},
         "associations": [{"to": {"id": str(company.id)}, "types": [link]}]},
        {"properties": {"email": "b@example.com"},
         "associations": [{"to": {"id": "424242"}, "types": [link]}]},
        {"properties": {"email": "c@example.com"},
         "associations": [{"to": {"id": str(company.id)},
                           "types": [{**link, "associationTypeId": 999}]}]},
        {"properties": {"email": "d@example.com"}},
    ]  # fmt: skip
    answer = api.client.post(f"{BATCH}/create", json={"inputs": inputs})
    assert answer.status_code == 207, answer.text
    batch = decode(answer, "BatchResponseSimplePublicObjectWithErrors")
    emails = {r.properties["email"]: r.id for r in batch.results}
    assert set(emails) == {"a@example.com", "d@example.com"}
    assert sorted(e.context["inputIndex"][0] for e in batch.errors) == ["1", "2"]
    assert all(e.category == "VALIDATION_ERROR" for e in batch.errors)
    linked = api.store.list_associations("contacts", int(emails["a@example.com"]), "companies")
    assert [a.to_id for a in linked] == [company.id]
    assert api.store.count_records("contacts") == 2


# ------------------------------------------------------------------ read


def test_batch_read_answers_200_with_chosen_properties(api: Api) -> None:
    ids = contacts(api, 3)
    answer = api.client.post(
        f"{BATCH}/read",
        json={"inputs": [{"id": i} for i in reversed(ids)], "properties": ["email"]},
    )
    batch = decode(answer, "BatchResponseSimplePublicObject")
    assert answer.status_code == 200
    assert [r.id for r in batch.results] == list(reversed(ids))
    properties = batch.results[0].properties
    assert properties["email"] == "c2@example.com"
    assert set(properties) == {"email", "createdate", "hs_object_id", "lastmodifieddate"}


def test_batch_read_missing_ids_are_one_207_error(api: Api) -> None:
    ids = contacts(api, 2)
    api.store.archive_records("contacts", [int(ids[1])], API)
    answer = api.client.post(
        f"{BATCH}/read",
        json={"inputs": [{"id": ids[0]}, {"id": ids[1]}, {"id": "abc"}, {"id": "9" * 30}]},
    )
    assert answer.status_code == 207, answer.text
    batch = decode(answer, "BatchResponseSimplePublicObjectWithErrors")
    assert [r.id for r in batch.results] == [ids[0]]
    (error,) = batch.errors
    assert error.category == "OBJECT_NOT_FOUND"
    assert error.context["ids"] == [ids[1], "abc", "9" * 30]
    archived = api.client.post(
        f"{BATCH}/read", params={"archived": "true"}, json={"inputs": [{"id": ids[1]}]}
    )
    assert archived.status_code == 200 and archived.json()["results"][0]["archived"] is True


def test_batch_read_by_id_property_and_history(api: Api) -> None:
    ids = contacts(api, 2)
    answer = api.client.post(
        f"{BATCH}/read",
        json={
            "idProperty": "email",
            "inputs": [{"id": "C1@example.com"}, {"id": "nobody@example.com"}],
            "propertiesWithHistory": ["email"],
        },
    )
    assert answer.status_code == 207, answer.text
    batch = decode(answer, "BatchResponseSimplePublicObjectWithErrors")
    assert [r.id for r in batch.results] == [ids[1]]
    (version,) = batch.results[0].properties_with_history["email"]
    assert (version.value, version.source_type) == ("c1@example.com", "API")
    assert batch.errors[0].context["ids"] == ["nobody@example.com"]


def test_batch_read_history_limit_is_50(api: Api) -> None:
    ids = [str(i) for i in range(1, 52)]
    body: dict[str, Any] = {
        "inputs": [{"id": i} for i in ids],
        "propertiesWithHistory": ["email"],
    }
    answer = api.client.post(f"{BATCH}/read", json=body)
    assert answer.status_code == 400 and "50" in answer.json()["message"]
    body["inputs"] = body["inputs"][:50]
    assert api.client.post(f"{BATCH}/read", json=body).status_code == 207


# ------------------------------------------------------------------ update and upsert


def test_batch_update_answers_200_then_207_with_per_input_errors(api: Api) -> None:
    ids = contacts(api, 3)
    inputs = [{"id": i, "properties": {"firstname": f"F{i}"}} for i in ids]
    answer = api.client.post(f"{BATCH}/update", json={"inputs": inputs})
    assert answer.status_code == 200, answer.text
    assert [r.properties["firstname"] for r in decode(answer, "BatchResponseSimplePublicObject").results] == [f"F{i}" for i in ids]  # fmt: skip
    inputs = [
        {"id": ids[0], "properties": {"lastname": "Ok"}},
        {"id": "424242", "properties": {"lastname": "Nobody"}},
        {"id": ids[1], "properties": {"email": "c2@example.com"}},
        {"id": "c2@example.com", "idProperty": "email", "properties": {"lastname": "ByEmail"}},
        {"id": ids[0] + "0", "properties": {"hs_object_id": "1"}},
    ]
    answer = api.client.post(f"{BATCH}/update", json={"inputs": inputs})
    assert answer.status_code == 207, answer.text
    batch = decode(answer, "BatchResponseSimplePublicObjectWithErrors")
    assert {r.id: r.properties["lastname"] for r in batch.results} == {
        ids[0]: "Ok",
        ids[2]: "ByEmail",
    }
    categories = sorted(e.category for e in batch.errors)
    assert categories == ["CONFLICT", "OBJECT_NOT_FOUND"]
    missing = next(e for e in batch.errors if e.category == "OBJECT_NOT_FOUND")
    assert missing.context["ids"] == ["424242", ids[0] + "0"]
    assert api.store.get_record("contacts", int(ids[1])).properties["email"] == "c1@example.com"


def test_batch_update_source_is_the_token(api: Api) -> None:
    (one,) = contacts(api, 1)
    api.client.post(
        f"{BATCH}/update", json={"inputs": [{"id": one, "properties": {"firstname": "Z"}}]}
    )
    (entry,) = api.store.property_history("contacts", int(one), "firstname")
    assert (entry.source_type.value, entry.source_id) == ("API", "tester")


def test_batch_upsert_marks_new_records(api: Api) -> None:
    contacts(api, 1)
    inputs = [
        {"id": "c0@example.com", "idProperty": "email", "properties": {"firstname": "Old"}},
        {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "New"}},
    ]
    answer = api.client.post(f"{BATCH}/upsert", json={"inputs": inputs})
    assert answer.status_code == 200, answer.text
    batch = decode(answer, "BatchResponseSimplePublicUpsertObject")
    assert {r.properties["email"]: r.new for r in batch.results} == {
        "c0@example.com": False,
        "new@example.com": True,
    }
    inputs = [
        {"id": "new@example.com", "idProperty": "email", "properties": {"lastname": "L"}},
        {"id": "bad@example.com", "idProperty": "email", "properties": {"nosuch": "x"}},
        {"id": "not an email", "idProperty": "email", "properties": {}},
    ]
    answer = api.client.post(f"{BATCH}/upsert", json={"inputs": inputs})
    assert answer.status_code == 207, answer.text
    batch = decode(answer, "BatchResponseSimplePublicUpsertObjectWithErrors")
    assert [(r.properties["lastname"], r.new) for r in batch.results] == [("L", False)]
    assert batch.num_errors == 2 and {e.context["ids"][0] for e in batch.errors} == {
        "bad@example.com",
        "not an email",
    }
    assert api.store.count_records("contacts") == 2


def test_batch_upsert_by_custom_unique_property(api: Api) -> None:
    api.store.create_property(
        "contacts", PropertySpec("member_no", "Member", "string", "text", unique=True)
    )
    body = {"inputs": [{"id": "M1", "idProperty": "member_no", "properties": {"firstname": "A"}}]}
    first = api.client.post(f"{BATCH}/upsert", json=body).json()["results"][0]
    second = api.client.post(f"{BATCH}/upsert", json=body).json()["results"][0]
    assert (first["new"], second["new"], first["id"]) == (True, False, second["id"])


@pytest.mark.parametrize(
    "inputs",
    [
        [{"id": "a@example.com", "idProperty": "email", "properties": {}},
         {"id": "1", "properties": {}}],
        [{"id": "x", "idProperty": "firstname", "properties": {}}],
        [{"id": "x", "idProperty": "nosuch", "properties": {}}],
        [{"id": "a@example.com", "idProperty": "email", "properties": {}},
         {"id": "A@example.com", "idProperty": "email", "properties": {}}],
    ],
    ids=["mixed-id-properties", "not-unique", "unknown", "duplicate"],
)  # fmt: skip
def test_batch_upsert_refuses_bad_shapes(api: Api, inputs: list[dict[str, Any]]) -> None:
    answer = api.client.post(f"{BATCH}/upsert", json={"inputs": inputs})
    assert answer.status_code == 400, answer.text
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert api.store.count_records("contacts") == 0


# ------------------------------------------------------------------ archive


def test_batch_archive_answers_204_and_skips_missing(api: Api) -> None:
    ids = contacts(api, 3)
    answer = api.client.post(
        f"{BATCH}/archive", json={"inputs": [{"id": ids[0]}, {"id": "424242"}, {"id": "x"}]}
    )
    assert answer.status_code == 204 and answer.content == b""
    assert api.store.count_records("contacts") == 2
    history = api.store.read_journal()
    assert any(e.op == "archive" and e.source_id == "tester" for e in history)


# ------------------------------------------------------------------ shapes refused whole


@pytest.mark.parametrize("action", ["read", "create", "update", "upsert", "archive"])
@pytest.mark.parametrize(
    "case", ["empty", "too-many", "missing", "not-a-list", "duplicate-id", "nul-id", "bool-id"]
)
def test_bad_batch_shapes_are_400_and_write_nothing(api: Api, action: str, case: str) -> None:
    ids = contacts(api, 2)

    def item(i: int, record_id: object) -> dict[str, Any]:
        if action == "create":
            return {"properties": {"email": f"new{i}@example.com"}}
        if action == "upsert":
            return {"id": f"up{i}@example.com", "idProperty": "email", "properties": {}}
        return {"id": record_id, "properties": {"firstname": "X"}}

    body: Any
    if case == "empty":
        body = {"inputs": []}
    elif case == "too-many":
        body = {"inputs": [item(i, str(i + 1000)) for i in range(101)]}
    elif case == "missing":
        body = {}
    elif case == "not-a-list":
        body = {"inputs": {"id": ids[0]}}
    elif case == "duplicate-id":
        if action == "create":
            pytest.skip("creates carry no ids")
        body = {"inputs": [item(0, ids[0]), item(1, ids[1]), item(0, ids[0])]}
    elif case == "nul-id":
        if action == "create":
            body = {"inputs": [{"properties": {"email": "a\x00@example.com"}}]}
        else:
            body = {"inputs": [{"id": "1\x002", "idProperty": "email", "properties": {}}]}
    else:
        if action == "create":
            body = {"inputs": [{"properties": True}]}
        else:
            body = {"inputs": [{"id": {"x": 1}, "properties": {}}]}
    answer = api.client.post(f"{BATCH}/{action}", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert api.store.count_records("contacts") == 2
    assert all(
        "firstname" not in r.properties
        for r in api.store.get_records("contacts", [int(i) for i in ids]).values()
    )


def test_batch_of_100_is_accepted(api: Api) -> None:
    inputs = [{"properties": {"email": f"m{i}@example.com"}} for i in range(100)]
    answer = api.client.post(f"{BATCH}/create", json={"inputs": inputs})
    assert answer.status_code == 201 and len(answer.json()["results"]) == 100


# ------------------------------------------------------------------ the official client


def test_hubspot_client_batch_api(api: Api) -> None:
    client = hubspot.Client.create(access_token=api.token, host=api.url)
    created = client.crm.contacts.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(properties={"email": f"b{i}@example.com"})
                    for i in range(3)
                ]
            )
        )
    )
    assert len(created.results) == 3
    partial = client.crm.contacts.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(properties={"email": "b0@example.com"}),
                    SimplePublicObjectBatchInputForCreate(properties={"email": "b9@example.com"}),
                ]
            )
        )
    )
    assert partial.num_errors == 1 and partial.errors[0].category == "CONFLICT"
    read = client.crm.contacts.batch_api.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=r.id) for r in created.results],
            properties=["email"],
            properties_with_history=[],
        )
    )
    assert sorted(r.properties["email"] for r in read.results) == [
        f"b{i}@example.com" for i in range(3)
    ]
