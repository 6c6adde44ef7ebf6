"""``POST /crm/v3/objects/{objectType}/search`` over a real server, on SQLite and PostgreSQL.

HubSpot's limits hold (5 groups, 6 filters a group, 18 in all, one sort, 200 a page, 10,000
results, 3,000 characters of query) and ``after`` is the integer offset HubSpot clients pass
back. Answers decode with the client's ``CollectionResponseWithTotal...`` model.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import hubspot
import pytest
from hubspot.crm.contacts import Filter, FilterGroup, PublicObjectSearchRequest
from hubspot.crm.objects import ApiClient

from store import OptionSpec, PropertySpec
from tests.api.conftest import Api
from tests.conftest import API

SEARCH = "/crm/v3/objects/contacts/search"
_DECODER = ApiClient()


def decode(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return _DECODER.deserialize(
        SimpleNamespace(data=response.content),
        "CollectionResponseWithTotalSimplePublicObjectForwardPaging",
    )


@pytest.fixture
def people(api: Api) -> dict[str, str]:
    """Five contacts (one archived): name -> id."""
    api.store.create_property("contacts", PropertySpec("score", "Score", "number", "number"))
    api.store.create_property(
        "contacts",
        PropertySpec(
            "tier",
            "Tier",
            "enumeration",
            "select",
            options=(OptionSpec("gold", "Gold"), OptionSpec("silver", "Silver")),
        ),
    )
    rows = {
        "ann": {"email": "ann@example.com", "firstname": "Ann", "lastname": "Smith",
                "score": "10", "tier": "gold"},
        "bob": {"email": "bob@hubspot.com", "firstname": "Bob", "lastname": "Stone",
                "score": "5", "tier": "silver"},
        "cat": {"email": "cat@example.com", "firstname": "Cat", "lastname": "Smithers",
                "score": "7"},
        "dan": {"firstname": "Dan", "phone": "+14155550100"},
        "gone": {"email": "gone@example.com", "firstname": "Ann"},
    }  # fmt: skip
    made = api.store.create_records("contacts", list(rows.values()), API).records
    ids = {name: str(r.id) for name, r in zip(rows, made, strict=True)}
    api.store.archive_records("contacts", [int(ids.pop("gone"))], API)
    return ids


def found(api: Api, body: dict[str, Any]) -> list[str]:
    return [r.id for r in decode(api.client.post(SEARCH, json=body)).results]


def one(name: str, operator: str, **rest: Any) -> dict[str, Any]:
    return {"filterGroups": [{"filters": [{"propertyName": name, "operator": operator, **rest}]}]}


OPERATOR_CASES = [
    ("eq-any-case", one("email", "EQ", value="ANN@example.com"), ["ann"]),
    ("neq", one("firstname", "NEQ", value="ann"), ["bob", "cat", "dan"]),
    ("gt-number", one("score", "GT", value="6"), ["ann", "cat"]),
    ("lte-number-json", one("score", "LTE", value=7), ["bob", "cat"]),
    ("between", one("score", "BETWEEN", value="5", highValue="7"), ["bob", "cat"]),
    ("in", one("firstname", "IN", values=["ann", "dan"]), ["ann", "dan"]),
    ("not-in", one("tier", "NOT_IN", values=["gold"]), ["bob", "cat", "dan"]),
    ("has", one("score", "HAS_PROPERTY"), ["ann", "bob", "cat"]),
    ("has-not", one("email", "NOT_HAS_PROPERTY"), ["dan"]),
    ("token-wildcard", one("email", "CONTAINS_TOKEN", value="*@hubspot.com"), ["bob"]),
    ("not-token", one("lastname", "NOT_CONTAINS_TOKEN", value="smith"), ["bob", "dan"]),
    ("enum-eq", one("tier", "EQ", value="silver"), ["bob"]),
    ("id-eq", None, ["cat"]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b, e) for _, b, e in OPERATOR_CASES],
    ids=[i for i, _, _ in OPERATOR_CASES],
)
def test_operators(
    api: Api, people: dict[str, str], body: dict[str, Any] | None, expected: list[str]
) -> None:
    if body is None:
        body = one("hs_object_id", "EQ", value=people["cat"])
    assert found(api, body) == [people[n] for n in expected]


def test_groups_are_or_ed_and_filters_and_ed(api: Api, people: dict[str, str]) -> None:
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "lastname", "operator": "CONTAINS_TOKEN",
                          "value": "smith"},
                         {"propertyName": "score", "operator": "GT", "value": "8"}]},
            {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "dan"}]},
        ]
    }  # fmt: skip
    assert found(api, body) == [people["ann"], people["dan"]]


def test_sorts_and_default_properties(api: Api, people: dict[str, str]) -> None:
    body: dict[str, Any] = {
        **one("score", "HAS_PROPERTY"),
        "sorts": [{"propertyName": "score", "direction": "DESCENDING"}],
    }
    answer = decode(api.client.post(SEARCH, json=body))
    assert [r.id for r in answer.results] == [people[n] for n in ("ann", "cat", "bob")]
    assert set(answer.results[0].properties) == {
        "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"
    }  # fmt: skip
    assert answer.total == 3 and answer.paging is None
    body["sorts"] = ["-score"]
    assert found(api, body) == [people[n] for n in ("ann", "cat", "bob")]
    body["sorts"] = ["score"]
    body["properties"] = ["score", "nosuch"]
    answer = decode(api.client.post(SEARCH, json=body))
    assert [r.properties["score"] for r in answer.results] == ["5", "7", "10"]
    assert set(answer.results[0].properties) == {
        "score", "createdate", "hs_object_id", "lastmodifieddate"
    }  # fmt: skip


def test_free_text_query_is_and_ed_with_filters(api: Api, people: dict[str, str]) -> None:
    assert found(api, {"query": "smith"}) == [people["ann"], people["cat"]]
    assert found(api, {"query": "ann SMITH"}) == [people["ann"]]
    assert found(api, {"query": "4155550100"}) == [people["dan"]]
    assert found(api, {"query": "hubspot.com"}) == [people["bob"]]
    assert found(api, {"query": "smith", **one("score", "LT", value="8")}) == [people["cat"]]
    assert found(api, {"query": "100%_"}) == []
    assert found(api, {"query": "   "}) == [people[n] for n in ("ann", "bob", "cat", "dan")]


def test_query_on_companies_and_custom_objects(api: Api) -> None:
    api.store.create_records(
        "companies", [{"name": "Acme", "domain": "acme.com"}, {"name": "Other"}], API
    )
    answer = api.client.post("/crm/v3/objects/companies/search", json={"query": "acme.com"})
    assert [r.properties["name"] for r in decode(answer).results] == ["Acme"]


def test_paging_returns_every_record_once_with_integer_offsets(api: Api) -> None:
    made = api.store.create_records(
        "contacts", [{"email": f"p{i:02}@example.com"} for i in range(23)], API
    ).records
    seen: list[str] = []
    afters: list[str] = []
    body: dict[str, Any] = {"limit": 5, "sorts": ["email"], "properties": ["email"]}
    while True:
        page = decode(api.client.post(SEARCH, json=body))
        assert page.total == 23
        seen.extend(r.id for r in page.results)
        if page.paging is None:
            break
        afters.append(page.paging.next.after)
        body["after"] = page.paging.next.after
    assert seen == [str(r.id) for r in made]
    assert afters == ["5", "10", "15", "20"]
    body["after"] = 20
    assert len(decode(api.client.post(SEARCH, json=body)).results) == 3


def _filters(count: int) -> list[dict[str, Any]]:
    return [{"propertyName": "firstname", "operator": "HAS_PROPERTY"}] * count


LIMIT_CASES = [
    ("6-groups", {"filterGroups": [{"filters": _filters(1)}] * 6}, "filterGroups"),
    ("7-filters", {"filterGroups": [{"filters": _filters(7)}]}, "filters"),
    ("19-filters", {"filterGroups": [{"filters": _filters(6)}] * 3 + [{"filters": _filters(1)}]},
     "19 filters"),
    ("empty-group", {"filterGroups": [{"filters": []}]}, "at least one filter"),
    ("limit-201", {"limit": 201}, "limit"),
    ("limit-0", {"limit": 0}, "limit"),
    ("two-sorts", {"sorts": ["email", "firstname"]}, "sorts"),
    ("after-10000", {"after": "10000"}, "10,000"),
    ("after-text", {"after": "abc"}, "after"),
    ("after-negative", {"after": -1}, "after"),
    ("query-3001", {"query": "x" * 3_001}, "query"),
    ("query-many-words", {"query": " ".join(f"w{i}" for i in range(40))}, "words"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [(b, m) for _, b, m in LIMIT_CASES],
    ids=[i for i, _, _ in LIMIT_CASES],
)
def test_hubspot_limits_are_400(api: Api, body: dict[str, Any], message: str) -> None:
    answer = api.client.post(SEARCH, json=body)
    assert answer.status_code == 400, answer.text
    refusal = answer.json()
    assert refusal["category"] == "VALIDATION_ERROR"
    assert message in refusal["message"]


def test_the_limits_themselves_are_accepted(api: Api, people: dict[str, str]) -> None:
    body = {
        "filterGroups": [{"filters": _filters(6)}] * 3,
        "limit": 200,
        "sorts": ["email"],
        "query": "a" * 3_000,
    }
    assert decode(api.client.post(SEARCH, json=body)).total == 0
    body.pop("query")
    body["filterGroups"] = [{"filters": _filters(1)}] * 5
    assert decode(api.client.post(SEARCH, json=body)).total == 4


def test_results_stop_at_10000(api: Api) -> None:
    rows = [{"firstname": f"n{i}"} for i in range(10_010)]
    for start in range(0, len(rows), 5_000):
        api.store.create_records("contacts", rows[start : start + 5_000], API)
    page = decode(api.client.post(SEARCH, json={"after": "9990", "limit": 100}))
    assert page.total == 10_010 and len(page.results) == 10
    assert page.paging.next.after == "10000"
    answer = api.client.post(SEARCH, json={"after": page.paging.next.after})
    assert answer.status_code == 400 and "10,000" in answer.json()["message"]
    last = decode(api.client.post(SEARCH, json={"after": "9999", "limit": 200}))
    assert [r.id for r in last.results] == [str(10_000)]


HOSTILE = [
    ("unknown-operator", one("email", "LIKE", value="x"), 400),
    ("unknown-property", one("nosuch", "EQ", value="x"), 400),
    ("bad-number", one("score", "GT", value="ten"), 400),
    ("bad-option", one("tier", "EQ", value="platinum"), 400),
    ("object-value", one("email", "EQ", value={"$ne": 1}), 400),
    ("nul-value", one("email", "EQ", value="a\x00b"), 400),
    ("70k-value", one("email", "EQ", value="x" * 70_000), 400),
    ("nul-query", {"query": "a\x00b"}, 400),
    ("sql-value", one("email", "EQ", value="x' OR '1'='1"), 200),
    ("like-value", one("email", "CONTAINS_TOKEN", value="%"), 200),
    ("groups-not-list", {"filterGroups": {"filters": []}}, 400),
    ("nan-limit", {"limit": "NaN"}, 400),
    ("unknown-sort", {"sorts": ["nosuch"]}, 400),
    ("bad-direction", {"sorts": [{"propertyName": "email", "direction": "UP"}]}, 400),
    ("bool-after", {"after": True}, 400),
    ("deep", {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ",
                                             "value": [[[[[[[["x"]]]]]]]]}]}]}, 400),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status"), [(b, s) for _, b, s in HOSTILE], ids=[i for i, _, _ in HOSTILE]
)
def test_hostile_search_bodies(
    api: Api, people: dict[str, str], body: dict[str, Any], status: int
) -> None:
    answer = api.client.post(SEARCH, json=body)
    assert answer.status_code == status, answer.text
    if status == 200:
        assert decode(answer).total == 0
    assert api.store.count_records("contacts") == 4


def test_malformed_json_is_400(api: Api) -> None:
    for content in (b"{", b"[1]", b'{"filterGroups": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"):
        answer = api.client.post(
            SEARCH, content=content, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400, answer.text


def test_hubspot_client_do_search(api: Api, people: dict[str, str]) -> None:
    client = hubspot.Client.create(access_token=api.token, host=api.url)
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="lastname", operator="CONTAINS_TOKEN",
                                        value="smith")])
        ],
        sorts=["-hs_object_id"],
        properties=["email", "lastname"],
        limit=1,
    )  # fmt: skip
    page = client.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert page.total == 2 and [r.id for r in page.results] == [people["cat"]]
    properties = page.results[0].properties
    assert (properties["email"], properties["lastname"]) == ("cat@example.com", "Smithers")
    assert set(properties) == {
        "email", "lastname", "createdate", "hs_object_id", "lastmodifieddate"
    }  # fmt: skip
    request.after = page.paging.next.after
    rest = client.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert [r.id for r in rest.results] == [people["ann"]] and rest.paging is None
