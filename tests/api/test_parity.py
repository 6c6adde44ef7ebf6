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
