"""The rest connector against a real (small) HTTP API: paging, auth, writes, deletes, webhooks.

Each test states what a user relies on: every changed record is read once per run whatever
the API's paging, a run continues and resumes from its cursor, creates are not doubled by
a retry, one refused record fails alone, and credentials reach only the API.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest

from connectors.base import ConnectorError, ExternalRecord, WriteOutcome, WriteRequest
from connectors.registry import connector_class
from connectors.rest import AuthError, RestConnector, RestOptions, WebhookPayloadError
from connectors.webhooks import WebhookOptions, WebhookSignatureError, sign
from tests.connectors.rest.conftest import FakeClock, MakeConnector
from tests.connectors.rest.server import (
    API_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    TOKEN,
    USER,
    Server,
)

PAGINGS: dict[str, dict[str, Any]] = {
    "cursor": {
        "records_path": "data",
        "paging": {
            "type": "cursor",
            "param": "cursor",
            "next_path": "meta.next",
            "limit_param": "limit",
        },
    },
    "page": {
        "records_path": "customers",
        "paging": {"type": "page", "param": "page", "size_param": "per_page", "size": 2},
    },
    "offset": {
        "records_path": "items",
        "paging": {"type": "offset", "param": "offset", "limit_param": "limit", "limit": 2},
    },
    "link": {"records_path": "", "paging": {"type": "link", "limit_param": "per_page"}},
}


def options(
    api: Server, mode: str = "cursor", auth: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    obj = {
        "path": f"/api/{mode}/customers",
        "updated_since_param": "updated_since",
        "create": {"method": "POST", "path": "/api/customers"},
        "update": {"method": "PATCH", "path": "/api/customers/{id}"},
        "delete": {"method": "DELETE", "path": "/api/customers/{id}"},
        "find_param": "email",
        "lookback_seconds": 1,
        **PAGINGS[mode],
        **extra.pop("obj", {}),
    }
    return {
        "base_url": api.url,
        "auth": auth or {"type": "bearer", "token": TOKEN},
        "objects": {"customers": obj},
        **extra,
    }


def read_run(connector: RestConnector, cursor: dict[str, Any] | None, limit: int = 2):
    """One engine-style run: pages until has_more is false; the records and last cursor."""
    records: list[ExternalRecord] = []
    resume = True
    pages = 0
    while True:
        page = connector.fetch_changes("customers", cursor, limit=limit, resume=resume)
        resume = False
        pages += 1
        records.extend(page.records)
        cursor = page.cursor
        if not page.has_more or not page.records:
            return records, cursor, pages
        assert pages < 50, "paging never ends"


def seed(api: Server, n: int) -> list[str]:
    return [str(api.state.add(email=f"c{i}@x.io", first_name=f"C{i}")["id"]) for i in range(n)]


# ------------------------------------------------------------------ reading


@pytest.mark.parametrize("mode", sorted(PAGINGS))
def test_every_paging_mode_reads_each_record_once_then_resumes_with_changes_only(
    api: Server, make: MakeConnector, mode: str
) -> None:
    ids = seed(api, 5)
    connector = make(options(api, mode, obj={"lookback_seconds": 0}))

    records, cursor, pages = read_run(connector, None)

    assert [r.id for r in records] == ids
    assert pages >= 3  # really paged (2 per page)
    assert all(r.updated_at is not None and r.updated_at.tzinfo for r in records)
    assert records[0].fields["email"] == "c0@x.io"
    assert cursor is not None and cursor["next"] is None
    json.dumps(cursor)  # the engine stores it as JSON

    api.state.edit(ids[3], first_name="Changed")
    added = str(api.state.add(email="new@x.io")["id"])
    again, _, _ = read_run(connector, cursor)

    # ">=" the watermark re-reads the newest old record; the changes are all there, once each.
    seen = [r.id for r in again]
    assert len(seen) == len(set(seen))
    assert {ids[3], added} <= set(seen)
    assert set(seen) <= {ids[3], added, ids[4]}
    assert next(r for r in again if r.id == ids[3]).fields["first_name"] == "Changed"


def test_resume_reads_back_the_lookback_for_a_record_committed_late(
    api: Server, make: MakeConnector
) -> None:
    seed(api, 2)
    connector = make(options(api, "offset", obj={"lookback_seconds": 5}))
    _, cursor, _ = read_run(connector, None)
    assert cursor is not None
    watermark = datetime.fromisoformat(cursor["watermark"])
    late = api.state.add(
        email="late@x.io", updated_at=(watermark - timedelta(seconds=3)).isoformat()
    )
    old = api.state.add(
        email="old@x.io", updated_at=(watermark - timedelta(seconds=60)).isoformat()
    )

    again, _, _ = read_run(connector, cursor)

    assert str(late["id"]) in {r.id for r in again}
    assert str(old["id"]) not in {r.id for r in again}


@pytest.mark.parametrize("mode", sorted(PAGINGS))
def test_a_run_that_fails_part_way_rereads_its_window_next_time(
    api: Server, make: MakeConnector, mode: str
) -> None:
    ids = seed(api, 5)
    connector = make(options(api, mode))
    first = connector.fetch_changes("customers", None, limit=2, resume=True)
    assert first.has_more and [r.id for r in first.records] == ids[:2]

    # The engine stored first.cursor, then the run died; the next run resumes from it.
    records, cursor, _ = read_run(connector, first.cursor)

    assert [r.id for r in records] == ids  # nothing after the stored page was skipped
    assert cursor is not None and cursor["watermark"] is not None


@pytest.mark.parametrize("mode", sorted(PAGINGS))
def test_iter_ids_lists_every_live_id(api: Server, make: MakeConnector, mode: str) -> None:
    ids = seed(api, 5)
    del api.state.customers[ids[1]]
    connector = make(options(api, mode))
    assert list(connector.iter_ids("customers")) == [i for i in ids if i != ids[1]]


def test_empty_api_ends_cleanly(api: Server, make: MakeConnector) -> None:
    connector = make(options(api, "page"))
    page = connector.fetch_changes("customers", None, limit=10, resume=True)
    assert page.records == [] and page.has_more is False
    assert list(connector.iter_ids("customers")) == []


def test_fetch_by_ids_leaves_out_missing_ids_and_find_by_matches_case_blind(
    api: Server, make: MakeConnector
) -> None:
    ids = seed(api, 3)
    connector = make(options(api))
    found = connector.fetch_by_ids("customers", [ids[2], "999", ids[0], "a/../b"])
    assert [r.id for r in found] == [ids[2], ids[0]]

    matches = connector.find_by("customers", "email", ["C1@X.io", "nobody@x.io", None])
    assert list(matches) == ["C1@X.io"]
    assert matches["C1@X.io"].id == ids[1]
    with pytest.raises(ConnectorError, match="find_param"):
        connector.find_by("customers", "first_name", ["C1"])


def test_unknown_object_is_named_with_the_configured_ones(api: Server, make: MakeConnector) -> None:
    connector = make(options(api))
    assert connector.check_object("customers") is None
    problem = connector.check_object("custmers")
    assert problem is not None and "customers" in problem
    with pytest.raises(ConnectorError, match="configured objects: customers"):
        connector.fetch_changes("custmers", None, limit=10, resume=True)


# ------------------------------------------------------------------ auth


@pytest.mark.parametrize(
    ("mode", "auth", "wrong"),
    [
        ("bearer", {"type": "bearer", "token": TOKEN}, {"token": "nope"}),
        (
            "basic",
            {"type": "basic", "username": USER, "password": PASSWORD},
            {"password": "nope"},
        ),
        (
            "api_key_header",
            {"type": "api_key", "name": "X-Api-Key", "value": API_KEY, "in": "header"},
            {"value": "nope"},
        ),
        (
            "api_key_query",
            {"type": "api_key", "name": "api_key", "value": API_KEY, "in": "query"},
            {"value": "nope"},
        ),
        (
            "oauth2",
            {
                "type": "oauth2",
                "token_url": "/oauth/token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            {"client_secret": "nope"},
        ),
    ],
)
def test_each_auth_mode_reads_and_a_wrong_secret_is_an_auth_error_without_it(
    api: Server, make: MakeConnector, mode: str, auth: dict[str, Any], wrong: dict[str, str]
) -> None:
    api.state.auth = mode
    seed(api, 3)
    ok = make(options(api, "offset", auth=auth))
    records, _, _ = read_run(ok, None)
    assert len(records) == 3

    bad = make(options(api, "offset", auth={**auth, **wrong}))
    with pytest.raises(AuthError) as caught:
        bad.fetch_changes("customers", None, limit=2, resume=True)
    assert caught.value.retriable is False
    assert "shop" in str(caught.value)
    for secret in (TOKEN, PASSWORD, API_KEY, CLIENT_SECRET, "nope"):
        assert secret not in str(caught.value)


def test_oauth2_token_is_cached_refreshed_before_expiry_and_after_a_401(
    api: Server, make: MakeConnector, clock: FakeClock
) -> None:
    api.state.auth = "oauth2"
    seed(api, 1)
    connector = make(
        options(
            api,
            auth={
                "type": "oauth2",
                "token_url": f"{api.url}/oauth/token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": "crm.read",
            },
        )
    )
    for _ in range(3):
        connector.fetch_by_ids("customers", ["1"])
    assert api.state.token_requests == 1  # cached

    clock.advance(3600 - 30)  # inside the refresh margin before expires_in
    connector.fetch_by_ids("customers", ["1"])
    assert api.state.token_requests == 2

    api.state.revoke_tokens()  # revoked early: the API answers 401 once
    assert [r.id for r in connector.fetch_by_ids("customers", ["1"])] == ["1"]
    assert api.state.token_requests == 3


# ------------------------------------------------------------------ writing


def test_create_update_and_one_refused_record_fails_alone(api: Server, make: MakeConnector) -> None:
    existing = seed(api, 1)[0]
    connector = make(options(api))
    results = connector.write(
        "customers",
        [
            WriteRequest("k1", None, {"email": "ada@x.io", "first_name": "Ada"}),
            WriteRequest("k2", None, {"email": "bob@x.io", "first_name": "REFUSED"}),
            WriteRequest("k3", existing, {"last_name": "Lovelace"}),
            WriteRequest("k4", "999", {"last_name": "Nobody"}),
            WriteRequest("k5", None, {"email": "cy@x.io"}),
        ],
    )

    outcomes = [r.outcome for r in results]
    assert outcomes == [
        WriteOutcome.CREATED,
        WriteOutcome.FAILED,
        WriteOutcome.UPDATED,
        WriteOutcome.FAILED,
        WriteOutcome.CREATED,
    ]
    assert results[0].record is not None and results[0].record.fields["first_name"] == "Ada"
    assert api.state.customers[results[0].external_id or ""]["email"] == "ada@x.io"
    refused = results[1]
    assert refused.retriable is False and refused.error is not None
    assert "422" in refused.error and "first_name is not allowed" in refused.error
    assert "bob@x.io" not in refused.error  # the API's message, not the body's data
    assert "404" in (results[3].error or "")
    assert api.state.customers[existing]["last_name"] == "Lovelace"
    assert sorted(c["email"] for c in api.state.customers.values()) == [
        "ada@x.io",
        "c0@x.io",
        "cy@x.io",
    ]


def test_a_create_retried_with_the_same_key_makes_one_record(
    api: Server, make: MakeConnector
) -> None:
    # The API dedupes creates by this header, and the connector is told so.
    connector = make(
        options(api, obj={"find_param": None, "idempotency_header": "Idempotency-Key"})
    )
    request = WriteRequest("sync:42", None, {"email": "ada@x.io", "first_name": "Ada"})
    first = connector.write("customers", [request])
    second = connector.write("customers", [request])  # the answer to the first was "lost"

    assert first[0].external_id == second[0].external_id
    assert len(api.state.customers) == 1
    posts = [r for r in api.state.requests if r[0] == "POST"]
    assert len(posts) == 2


def test_a_create_with_match_finds_the_record_instead_of_making_another(
    api: Server, make: MakeConnector
) -> None:
    made = api.state.add(email="Ada@X.io", first_name="Old")
    connector = make(options(api))
    (result,) = connector.write(
        "customers",
        [WriteRequest("other-key", None, {"first_name": "Ada"}, match=("email", "ada@x.io"))],
    )
    assert result.outcome is WriteOutcome.CREATED
    assert result.external_id == str(made["id"])
    assert len(api.state.customers) == 1
    assert api.state.customers[str(made["id"])]["first_name"] == "Ada"


def test_delete_counts_a_missing_record_as_deleted(api: Server, make: MakeConnector) -> None:
    ids = seed(api, 2)
    connector = make(options(api))
    results = connector.delete("customers", [ids[0], "999", ids[0]])
    assert [r.outcome for r in results] == [WriteOutcome.DELETED] * 3
    assert list(api.state.customers) == [ids[1]]


def test_body_path_wraps_writes_and_unwraps_answers(api: Server, make: MakeConnector) -> None:
    connector = make(options(api, obj={"body_path": "customer"}))
    (result,) = connector.write("customers", [WriteRequest("k", None, {"email": "a@x.io"})])
    assert result.ok and result.record is not None
    assert result.record.fields["email"] == "a@x.io"


# ------------------------------------------------------------------ options


def test_options_keep_secrets_out_of_repr_and_validation_errors(api: Server) -> None:
    parsed = RestOptions.model_validate(options(api))
    assert TOKEN not in repr(parsed)
    with pytest.raises(pydantic.ValidationError) as caught:
        RestOptions.model_validate(
            {**options(api), "auth": {"type": "bearer", "token": TOKEN, "extra": TOKEN}}
        )
    assert TOKEN not in str(caught.value)
    with pytest.raises(pydantic.ValidationError, match=r"\{id\}"):
        RestOptions.model_validate(
            options(api, obj={"update": {"method": "PATCH", "path": "/api/customers"}})
        )
    assert connector_class("rest") is RestConnector


# ------------------------------------------------------------------ webhooks

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOOK = {
    "secret": "whsec-123",
    "signature": "hmac-sha256-hex",
    "header": "X-Signature",
    "delivery_id_header": "X-Delivery",
}


def test_webhook_is_verified_then_parsed_one_event_or_many(
    api: Server, make: MakeConnector
) -> None:
    connector = make(options(api, webhook=HOOK))
    body = json.dumps(
        [
            {
                "object": "customers",
                "id": 7,
                "record": {"email": "a@x.io", "updated_at": 1714564800},
            },
            {"id": "8", "deleted": True},
        ]
    ).encode()
    headers = sign(WebhookOptions.model_validate(HOOK), method="POST", url="/", body=body, now=NOW)
    connector.verify_webhook("POST", "/", headers, body, NOW)
    with pytest.raises(WebhookSignatureError):
        connector.verify_webhook("POST", "/", headers, body + b" ", NOW)

    events = connector.parse_webhook({"x-delivery": "d-1"}, body)
    assert [(e.external_object, e.external_id, e.deleted) for e in events] == [
        ("customers", "7", False),
        ("customers", "8", True),
    ]
    assert events[0].record is not None
    assert events[0].record.updated_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert events[0].delivery_id == "d-1"
    single = connector.parse_webhook({}, b'{"id": "9"}')
    assert [e.external_id for e in single] == ["9"] and single[0].record is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"id": ',
        b"[1, 2]",
        b'{"object": "orders", "id": 1}',
        b'{"id": true}',
        b'{"id": ""}',
        b'{"id": 1, "deleted": "yes"}',
        b'{"id": 1, "record": [1]}',
        b'{"id": 1, "record": {"updated_at": "yesterday"}}',
        b'{"id": 1, "record": {"id": 2}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": "' + b"x" * 2000 + b'"}',
        json.dumps([{"id": i} for i in range(10_001)]).encode(),
        b'{"id": 1, "pad": "' + b"x" * 1_100_000 + b'"}',
    ],
    ids=lambda b: repr(b[:30]),
)
def test_malformed_hostile_and_oversized_webhook_bodies_are_payload_errors(
    api: Server, make: MakeConnector, body: bytes
) -> None:
    connector = make(options(api, webhook=HOOK))
    with pytest.raises(WebhookPayloadError):
        connector.parse_webhook({}, body)


def test_without_a_webhook_section_webhooks_are_refused(api: Server, make: MakeConnector) -> None:
    from connectors.base import WebhookNotSupportedError

    connector = make(options(api))
    with pytest.raises(WebhookNotSupportedError):
        connector.verify_webhook("POST", "/", {}, b"{}", NOW)
