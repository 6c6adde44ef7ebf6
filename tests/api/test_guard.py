"""The guard in front of the API, over a real uvicorn server on SQLite and PostgreSQL.

A refused request must reach no route: each refusal test checks that nothing was written
(no record, journal head unchanged). The probe routes (``tests/api/_guard.py``) stand beside
the real ones so the guard is tested whatever routes exist.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from store import ChangeSource, SourceType, Store
from syncd.api import ApiSettings, create_api
from syncd.api.guard import RouteScopes
from tests._live import LiveServers
from tests.api._guard import PROBE, probe_api, raw_request
from tests.api.conftest import Api, make_token

CONTACTS = "/crm/v3/objects/contacts"
RATE_HEADERS = (
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
)


@dataclass
class Probe:
    """A running API with the probe routes, and the read-write token made for it."""

    url: str
    store: Store
    token: str

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _serve_probe(store: Store, settings: ApiSettings, servers: LiveServers) -> Iterator[Probe]:
    url = servers.mount(probe_api(store, settings))
    try:
        yield Probe(url, store, make_token(store, "writer", ("write",)))
    finally:
        servers.unmount(url)


@pytest.fixture
def probe(store: Store, api_settings: ApiSettings, live_servers: LiveServers) -> Iterator[Probe]:
    yield from _serve_probe(store, api_settings, live_servers)


def _nothing_written(store: Store, head: int) -> None:
    assert store.journal_head() == head
    assert store.list_records("contacts") == []


def _assert_error(response: httpx.Response, status: int, category: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "error"
    assert body["category"] == category
    assert body["message"]
    assert len(body["correlationId"]) == 36
    for header in RATE_HEADERS:
        assert header in response.headers
    return body


# ------------------------------------------------------------ 401: no valid token

BAD_AUTHORIZATION = {
    "unknown token": b"Bearer syncd_" + b"A" * 43,
    "not our format": b"Bearer pat-na1-12345678-abcd",
    "bearer with no token": b"Bearer",
    "bearer and spaces": b"Bearer    ",
    "basic auth": b"Basic dXNlcjpwYXNzd29yZA==",
    "token without scheme": b"syncd_" + b"A" * 43,
    "two tokens": b"Bearer syncd_a syncd_b",
    "non-ascii token": "Bearer syncd_é".encode(),
    "latin-1 junk": b"Bearer \xff\xfe\x00"[:-1],
    "huge header": b"Bearer syncd_" + b"x" * 8000,
}


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION.values(), ids=BAD_AUTHORIZATION.keys())
def test_a_bad_token_is_refused_and_nothing_is_written(api: Api, authorization: bytes) -> None:
    head = api.store.journal_head()
    payload = json.dumps({"properties": {"email": "x@example.com"}}).encode()
    # Raw bytes: httpx itself refuses some of these headers (trailing spaces, obs-text).
    answer = raw_request(
        api.url,
        f"POST {CONTACTS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
        + b"Authorization: "
        + authorization
        + f"\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload,
    )
    assert answer.status == 401, answer
    body = json.loads(answer.body)
    assert body["status"] == "error"
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert "not valid" in body["message"]
    assert len(body["correlationId"]) == 36
    for header in RATE_HEADERS:
        assert header.lower() in answer.headers
    # A refusal says nothing about the token it saw.
    assert b"syncd_" not in answer.body
    _nothing_written(api.store, head)


def test_no_authorization_header_is_refused_and_says_how_to_get_one(api: Api) -> None:
    head = api.store.journal_head()
    with httpx.Client(base_url=api.url, timeout=30) as client:
        answer = client.post(CONTACTS, json={"properties": {"email": "x@example.com"}})
        assert client.get(CONTACTS).status_code == 401
        assert client.get("/crm-object-schemas/v3/schemas").status_code == 401
    body = _assert_error(answer, 401, "INVALID_AUTHENTICATION")
    assert "syncd tokens create" in body["message"]
    # Nothing was counted against any token.
    assert (
        answer.headers["X-HubSpot-RateLimit-Remaining"] == answer.headers["X-HubSpot-RateLimit-Max"]
    )
    _nothing_written(api.store, head)


def test_a_revoked_token_is_refused_from_the_next_request(probe: Probe) -> None:
    secret = make_token(probe.store, "leaver", ("write",))
    with probe.client(secret) as client:
        assert client.get(PROBE).json() == {"name": "leaver", "scopes": ["read", "write"]}
        probe.store.revoke_api_token("leaver")
        head = probe.store.journal_head()
        _assert_error(client.post(f"{PROBE}/write"), 401, "INVALID_AUTHENTICATION")
        _assert_error(client.get(PROBE), 401, "INVALID_AUTHENTICATION")
    _nothing_written(probe.store, head)


def test_two_authorization_headers_are_refused(probe: Probe) -> None:
    with httpx.Client(base_url=probe.url, timeout=30) as client:
        answer = client.get(
            PROBE,
            headers=[
                ("Authorization", f"Bearer {probe.token}"),
                ("Authorization", "Bearer syncd_other"),
            ],
        )
    _assert_error(answer, 401, "INVALID_AUTHENTICATION")


def test_a_huge_authorization_header_is_refused_without_a_server_error(api: Api) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        answer = client.get(CONTACTS, headers={"Authorization": "Bearer " + "x" * 60_000})
    # Not parsed or hashed past the longest header a real token fits in.
    _assert_error(answer, 401, "INVALID_AUTHENTICATION")
    assert api.store.list_records("contacts") == []


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_scheme_is_case_insensitive(probe: Probe, scheme: str) -> None:
    with probe.client(Authorization=f"{scheme} {probe.token}") as client:
        answer = client.get(PROBE)
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "writer"


# ------------------------------------------------------------ what is and is not guarded


def test_the_route_sees_the_token_as_its_principal(probe: Probe) -> None:
    with probe.client(probe.token) as client:
        answer = client.get(PROBE)
    assert answer.status_code == 200
    assert answer.json() == {"name": "writer", "scopes": ["read", "write"]}
    for header in RATE_HEADERS:
        assert header in answer.headers


def test_openapi_needs_no_token_and_carries_no_rate_headers(api: Api) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        answer = client.get("/openapi.json")
    assert answer.status_code == 200
    assert "X-HubSpot-RateLimit-Max" not in answer.headers


def test_an_unknown_api_path_with_a_token_is_a_404_with_rate_headers(api: Api) -> None:
    answer = api.client.get("/crm/v3/no-such-thing/at/all")
    assert answer.status_code == 404
    assert answer.headers["X-HubSpot-RateLimit-Max"] == "190"


# ------------------------------------------------------------ 403: scopes


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/crm/v3/objects/contacts", "read"),
        ("HEAD", "/crm/v3/objects/contacts/1", "read"),
        ("OPTIONS", "/crm/v3/objects/contacts", "read"),
        ("POST", "/crm/v3/objects/contacts/search", "read"),
        ("POST", "/crm/v3/objects/contacts/batch/read", "read"),
        ("POST", "/crm/v3/properties/contacts/batch/read", "read"),
        ("POST", "/crm/v4/associations/contacts/companies/batch/read", "read"),
        ("POST", "/crm/v3/objects/search/search", "read"),
        ("POST", "/crm/v3/objects/contacts", "write"),
        ("POST", "/crm/v3/objects/contacts/batch/create", "write"),
        ("POST", "/crm/v3/objects/contacts/batch/archive", "write"),
        ("PATCH", "/crm/v3/objects/contacts/1", "write"),
        ("DELETE", "/crm/v3/objects/contacts/1", "write"),
        ("PUT", "/crm/v4/objects/contacts/1/associations/companies/2", "write"),
        ("POST", "/crm/v3/objects/contacts/searchx", "write"),
        ("POST", "/crm/v3/objects/contacts/search/extra", "write"),
        # An object or property group named like a read route is still written to.
        ("POST", "/crm/v3/objects/search", "write"),
        ("POST", "/crm/v3/properties/search", "write"),
        ("POST", "/crm/v3/objects/batch/read", "write"),
        ("POST", "/crm/v3/schemas/search/associations", "write"),
    ],
)
def test_the_scope_comes_from_the_matched_route(
    store: Store, method: str, path: str, scope: str
) -> None:
    app = create_api(store)
    assert RouteScopes(app.router.routes).required(method, path) == scope


def test_a_read_only_token_cannot_write_to_an_object_named_search(api: Api) -> None:
    """A custom object ``search``: its create and its property create are writes, not searches."""
    schema = {
        "name": "search",
        "labels": {"singular": "Search", "plural": "Searches"},
        "primaryDisplayProperty": "title",
        "requiredProperties": ["title"],
        "properties": [{"name": "title", "label": "Title"}],
    }
    assert api.client.post("/crm/v3/schemas", json=schema).status_code == 201
    reader = make_token(api.store, "reader", ("read",))
    head = api.store.journal_head()
    properties_before = {p.name for p in api.store.list_properties("search")}
    with httpx.Client(
        base_url=api.url, headers={"Authorization": f"Bearer {reader}"}, timeout=30
    ) as client:
        created = client.post("/crm/v3/objects/search", json={"properties": {"title": "x"}})
        batch = client.post(
            "/crm/v3/objects/search/batch/create",
            json={"inputs": [{"properties": {"title": "y"}}]},
        )
        prop = client.post(
            "/crm/v3/properties/search",
            json={"name": "colour", "label": "Colour", "type": "string", "fieldType": "text",
                  "groupName": "searchinformation"},
        )  # fmt: skip
        found = client.post("/crm/v3/objects/search/search", json={})
    for refused in (created, batch, prop):
        body = _assert_error(refused, 403, "MISSING_SCOPES")
        assert body["errors"][0]["context"] == {"requiredScopes": ["write"]}
    assert found.status_code == 200, found.text
    assert found.json()["total"] == 0
    assert api.store.journal_head() == head
    assert api.store.list_records("search") == []
    assert {p.name for p in api.store.list_properties("search")} == properties_before


# The POST routes that only read; every other route that is not GET/HEAD writes.
READ_POSTS = {
    "/crm/v3/objects/{objectType}/search",
    "/crm/v3/objects/{objectType}/batch/read",
    "/crm/v3/properties/{objectType}/batch/read",
    "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read",
}


def test_every_route_of_the_api_needs_the_scope_it_should(api: Api) -> None:
    """Walk the published routes (new ones are covered without touching this test): with a
    read-only token every write route answers 403 and writes nothing, every read route is let
    through (its own answer, never a 403). Once more with objects named like read routes."""
    contact = api.store.create_record("contacts", {"email": "a@example.com"}, SETUP)
    company = api.store.create_record("companies", {"name": "Acme"}, SETUP)
    values = {
        "objectType": "contacts",
        "fromObjectType": "contacts",
        "toObjectType": "companies",
        "objectId": str(contact.id),
        "fromObjectId": str(contact.id),
        "toObjectId": str(company.id),
        "propertyName": "email",
        "groupName": "contactinformation",
        "associationIdentifier": "1",
        "associationTypeId": "1",
    }
    reader = make_token(api.store, "reader", ("read",))
    head = api.store.journal_head()
    paths = api.client.get("/openapi.json").json()["paths"]
    seen_writes = 0
    with httpx.Client(
        base_url=api.url, headers={"Authorization": f"Bearer {reader}"}, timeout=30
    ) as client:
        for template, operations in paths.items():
            for method, object_type in itertools.product(operations, ("contacts", "search")):
                path = template.format(**{**values, "objectType": object_type})
                answer = client.request(method.upper(), path, json={})
                where = f"{method.upper()} {path}"
                if method == "get" or (method == "post" and template in READ_POSTS):
                    assert answer.status_code != 403, where
                else:
                    seen_writes += 1
                    assert answer.status_code == 403, f"{where}: {answer.status_code}"
                    assert answer.json()["category"] == "MISSING_SCOPES", where
    assert seen_writes >= 60
    assert api.store.journal_head() == head
    assert [r.id for r in api.store.list_records("contacts")] == [contact.id]


SETUP = ChangeSource(SourceType.API, "setup")


def test_a_read_only_token_reads_but_cannot_write(probe: Probe) -> None:
    reader = make_token(probe.store, "reader", ("read",))
    head = probe.store.journal_head()
    with probe.client(reader) as client:
        assert client.get(PROBE).json() == {"name": "reader", "scopes": ["read"]}
        assert client.post(f"{PROBE}/search", json={}).json() == {"name": "reader"}
        refused = client.post(f"{PROBE}/write")
        real = client.post(CONTACTS, json={"properties": {"email": "r@example.com"}})
    body = _assert_error(refused, 403, "MISSING_SCOPES")
    assert body["errors"][0]["context"] == {"requiredScopes": ["write"]}
    _assert_error(real, 403, "MISSING_SCOPES")
    _nothing_written(probe.store, head)


# ------------------------------------------------------------ writes carry the token's name


def test_a_write_through_the_api_carries_source_api_and_the_token_name(probe: Probe) -> None:
    with probe.client(probe.token) as client:
        answer = client.post(f"{PROBE}/write")
    assert answer.status_code == 200, answer.text
    history = probe.store.property_history("contacts", int(answer.json()["id"]), "email")
    assert [(h.source_type, h.source_id) for h in history] == [(SourceType.API, "writer")]
    journal = probe.store.read_journal()
    assert {(e.source_type, e.source_id) for e in journal} == {(SourceType.API, "writer")}


def test_a_contact_created_through_the_api_names_the_token_in_history(api: Api) -> None:
    answer = api.client.post(CONTACTS, json={"properties": {"email": "hist@example.com"}})
    assert answer.status_code == 201, answer.text
    record_id = int(answer.json()["id"])
    history = api.store.property_history("contacts", record_id, "email")
    assert [(h.source_type, h.source_id) for h in history] == [(SourceType.API, "tester")]


def test_a_read_only_token_lists_contacts_but_cannot_create_one(api: Api) -> None:
    reader = make_token(api.store, "reader", ("read",))
    head = api.store.journal_head()
    with httpx.Client(base_url=api.url, timeout=30) as client:
        auth = {"Authorization": f"Bearer {reader}"}
        listed = client.get(CONTACTS, headers=auth)
        searched = client.post(f"{CONTACTS}/search", json={}, headers=auth)
        created = client.post(CONTACTS, json={"properties": {"email": "r@x.io"}}, headers=auth)
    assert listed.status_code == 200, listed.text
    assert searched.status_code == 200, searched.text
    _assert_error(created, 403, "MISSING_SCOPES")
    _nothing_written(api.store, head)


# ------------------------------------------------------------ 429: rate limit

SMALL_LIMIT = ApiSettings(rate_limit_max=3, rate_limit_interval_ms=600_000)


@pytest.mark.parametrize("api_settings", [SMALL_LIMIT], ids=["limit-3"])
def test_the_rate_limit_answers_429_in_hubspots_shape(probe: Probe) -> None:
    with probe.client(probe.token) as client:
        remaining = []
        for _ in range(3):
            answer = client.get(PROBE)
            assert answer.status_code == 200
            assert answer.headers["X-HubSpot-RateLimit-Max"] == "3"
            assert answer.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "600000"
            remaining.append(answer.headers["X-HubSpot-RateLimit-Remaining"])
        assert remaining == ["2", "1", "0"]
        head = probe.store.journal_head()
        limited = client.post(f"{PROBE}/write")
        again = client.get(PROBE)
    body = _assert_error(limited, 429, "RATE_LIMITS")
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert 1 <= int(limited.headers["Retry-After"]) <= 600
    assert again.status_code == 429
    _nothing_written(probe.store, head)


@pytest.mark.parametrize("api_settings", [SMALL_LIMIT], ids=["limit-3"])
def test_the_rate_limit_is_per_token_and_refusals_before_a_token_do_not_count(
    probe: Probe,
) -> None:
    other = make_token(probe.store, "other", ("read",))
    with probe.client(probe.token) as client, probe.client() as anonymous:
        for _ in range(5):
            assert anonymous.get(PROBE).status_code == 401
        for _ in range(3):
            assert client.get(PROBE).status_code == 200
        assert client.get(PROBE).status_code == 429
    with probe.client(other) as client:
        answer = client.get(PROBE)
    assert answer.status_code == 200
    assert answer.headers["X-HubSpot-RateLimit-Remaining"] == "2"


# ------------------------------------------------------------ 413: body size

SMALL_BODY = ApiSettings(max_body_bytes=1000)


@pytest.mark.parametrize("api_settings", [SMALL_BODY], ids=["body-1000"])
def test_a_body_at_the_limit_reaches_the_route_whole(probe: Probe) -> None:
    with probe.client(probe.token) as client:
        answer = client.post(f"{PROBE}/echo", content=b"a" * 1000)
    assert answer.status_code == 200
    assert answer.json()["length"] == 1000


@pytest.mark.parametrize("api_settings", [SMALL_BODY], ids=["body-1000"])
def test_a_declared_oversized_body_is_413_before_anything_is_read(probe: Probe) -> None:
    head = probe.store.journal_head()
    with probe.client(probe.token) as client:
        answer = client.post(f"{PROBE}/write", content=b"a" * 1001)
    body = _assert_error(answer, 413, "VALIDATION_ERROR")
    assert "1000 bytes" in body["message"]
    _nothing_written(probe.store, head)


@pytest.mark.parametrize("api_settings", [SMALL_BODY], ids=["body-1000"])
def test_a_chunked_body_is_413_once_it_passes_the_limit(probe: Probe) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"b" * 100

    head = probe.store.journal_head()
    with probe.client(probe.token) as client:
        answer = client.post(f"{PROBE}/write", content=chunks())
        small = client.post(f"{PROBE}/echo", content=iter([b"x" * 300, b"y" * 300]))
    _assert_error(answer, 413, "VALIDATION_ERROR")
    _nothing_written(probe.store, head)
    # Below the limit, a chunked body reaches the route whole, in order.
    assert small.status_code == 200
    assert small.json() == {"length": 600, "head": "x" * 20}


@pytest.mark.parametrize("content_length", ["abc", "-1", "1e3", "99999999999999999999999999999"])
def test_a_broken_content_length_never_reaches_the_route(probe: Probe, content_length: str) -> None:
    answer = raw_request(
        probe.url,
        f"POST {PROBE}/write HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {probe.token}\r\n"
        f"Content-Length: {content_length}\r\nConnection: close\r\n\r\n".encode(),
    )
    assert answer.status in (400, 413), answer
    assert probe.store.list_records("contacts") == []


# ------------------------------------------------------------ 400: NUL in path or query


@pytest.mark.parametrize(
    "target",
    [f"{CONTACTS}%00", f"{CONTACTS}/1%00", f"{CONTACTS}?properties=email%00", f"{PROBE}?a=%00"],
    ids=["path", "id", "query", "probe-query"],
)
def test_a_nul_in_path_or_query_is_400(api: Api, target: str) -> None:
    answer = api.client.get(target)
    _assert_error(answer, 400, "VALIDATION_ERROR")


def test_a_raw_nul_in_the_request_line_never_reaches_the_api(probe: Probe) -> None:
    answer = raw_request(
        probe.url,
        f"POST {PROBE}/write\x00 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {probe.token}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n".encode(),
    )
    assert answer.status == 400, answer
    assert probe.store.list_records("contacts") == []


# ------------------------------------------------------------ how the token is checked


class _RecordingStore(Store):
    """A store that notes which thread verified each token, or fails as a dead database."""

    def __init__(self, store: Store, *, broken: bool = False) -> None:
        super().__init__(store._engine)
        self.threads: list[str] = []
        self.broken = broken

    def verify_api_token(self, secret: str) -> Any:
        self.threads.append(threading.current_thread().name)
        if self.broken:
            raise OperationalError("SELECT", {}, Exception("connection refused"))
        return super().verify_api_token(secret)


def test_tokens_are_checked_on_a_worker_thread(store: Store, live_servers: LiveServers) -> None:
    recording = _RecordingStore(store)
    for running in _serve_probe(recording, ApiSettings(), live_servers):
        with running.client(running.token) as client:
            assert client.get(PROBE).status_code == 200
    # Not the server's thread (it runs the event loop), but one of anyio's workers.
    assert recording.threads == ["AnyIO worker thread"]


def test_an_unreachable_database_is_503_not_a_crash(
    store: Store, live_servers: LiveServers
) -> None:
    broken = _RecordingStore(store, broken=True)
    for running in _serve_probe(broken, ApiSettings(), live_servers):
        with running.client(running.token) as client:
            answer = client.get(PROBE)
    body = _assert_error(answer, 503, "SERVICE_UNAVAILABLE")
    assert answer.headers["Retry-After"] == "5"
    assert "connection refused" not in body["message"]
