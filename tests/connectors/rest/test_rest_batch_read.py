"""``batch_read``: records by id in one call per ``max`` ids, against the real test API.

What a user relies on: reading 250 records costs 3 calls, not 250; whatever a broken or
hostile API answers (fewer, more or other records, a record twice, cut-off JSON, a huge
body, a refusal), the connector returns only records it asked for, never makes a live
record look deleted, and fails loudly rather than guess; quota and rate limit still hold.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pydantic
import pytest

from config import ConfigErrors, load_config
from connectors.base import ConnectorError
from connectors.rest import QuotaExhaustedError
from connectors.rest._batch_read import MAX_QUERY_CHARS, id_chunks
from connectors.rest.options import BatchReadOptions
from store import Store
from syncd.engine import build_connector, build_spec, run_sync
from tests.connectors.rest.conftest import FakeClock, MakeConnector
from tests.connectors.rest.server import CLIENT_ID, CLIENT_SECRET, TOKEN, Server
from tests.connectors.rest.test_rest_engine_e2e import CONFIG, MODES, UI

SHAPES: dict[str, dict[str, Any]] = {
    "get-comma": {"path": "/api/customers/batch"},
    "get-repeat": {"path": "/api/customers/batch", "ids_style": "repeat"},
    "post-ids": {"path": "/api/customers/batch/read", "method": "POST"},
    "post-inputs": {
        "path": "/api/customers/batch/read",
        "method": "POST",
        "request_path": "inputs",
        "item_key": "id",
    },
}


def options(api: Server, batch_read: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": api.url,
        "auth": {"type": "bearer", "token": TOKEN},
        "objects": {
            "customers": {
                "path": "/api/all/customers",
                "update": {"method": "PATCH", "path": "/api/customers/{id}"},
                "batch_read": batch_read or SHAPES["get-comma"],
            }
        },
        **extra,
    }


def seed(api: Server, n: int) -> list[str]:
    return [str(api.state.add(email=f"c{i}@x.io", first_name=f"C{i}")["id"]) for i in range(n)]


def item_gets(api: Server) -> list[str]:
    """Paths of the one-id GETs the API received."""
    return [
        path
        for method, path, _ in api.state.requests
        if method == "GET" and path.startswith("/api/customers/") and path != "/api/customers/batch"
    ]


# -- the happy path ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_records_are_read_max_ids_per_call_in_the_order_asked(
    api: Server, make: MakeConnector, shape: str
) -> None:
    ids = seed(api, 250)
    connector = make(options(api, {**SHAPES[shape], "max": 100}))
    asked = list(reversed(ids))

    found = connector.fetch_by_ids("customers", asked)

    assert [r.id for r in found] == asked
    assert found[0].fields["email"] == "c249@x.io"
    assert [len(b) for b in api.state.batch_reads] == [100, 100, 50]
    assert [i for b in api.state.batch_reads for i in b] == asked
    assert len(api.state.requests) == 3
    assert item_gets(api) == []


def test_ids_the_answer_leaves_out_are_confirmed_one_by_one(
    api: Server, make: MakeConnector
) -> None:
    """A missing id costs one GET: a server that caps its answer must not delete records."""
    ids = seed(api, 3)
    connector = make(options(api))

    found = connector.fetch_by_ids("customers", [ids[0], "999", ids[2], ids[0]])

    assert [r.id for r in found] == [ids[0], ids[2]]
    assert api.state.batch_reads == [[ids[0], "999", ids[2]]]  # each id asked once
    assert item_gets(api) == ["/api/customers/999"]


def test_ids_a_comma_list_cannot_carry_are_read_alone() -> None:
    batch = BatchReadOptions.model_validate({"path": "/b", "max": 2})
    long_id = "x" * (MAX_QUERY_CHARS + 1)
    chunks, alone = id_chunks(batch, ["1", "a,b", "2", "3", long_id])
    assert chunks == [["1", "2"], ["3"]]
    assert alone == ["a,b", long_id]
    # Many long ids: a query never grows past the limit, whatever max says.
    wide = BatchReadOptions.model_validate({"path": "/b", "max": 1000})
    chunks, alone = id_chunks(wide, [f"{i:03d}" + "y" * 900 for i in range(20)])
    assert alone == [] and len(chunks) > 4
    assert all(sum(len(i) + 3 for i in c) <= MAX_QUERY_CHARS for c in chunks)
    # A POST body has no such limit: only max counts.
    post = BatchReadOptions.model_validate({"path": "/b", "method": "POST", "max": 1000})
    assert id_chunks(post, ["a,b", long_id]) == ([["a,b", long_id]], [])


def test_an_id_with_a_comma_never_reaches_the_batch_query(api: Server, make: MakeConnector) -> None:
    ids = seed(api, 2)
    connector = make(options(api))

    found = connector.fetch_by_ids("customers", [ids[0], "1,2", ids[1]])

    assert [r.id for r in found] == ids
    assert api.state.batch_reads == [ids]
    assert item_gets(api) == ["/api/customers/1,2"]  # read alone (the server decodes it)


# -- broken and hostile answers --------------------------------------------------------------


def test_fewer_records_than_asked_the_left_out_one_is_read_alone(
    api: Server, make: MakeConnector
) -> None:
    ids = seed(api, 4)
    api.state.batch_read = "fewer"
    connector = make(options(api))

    found = connector.fetch_by_ids("customers", ids)

    assert [r.id for r in found] == ids
    assert item_gets(api) == [f"/api/customers/{ids[-1]}"]


@pytest.mark.parametrize("mode", ["extra", "unknown"])
def test_records_not_asked_for_are_dropped(api: Server, make: MakeConnector, mode: str) -> None:
    ids = seed(api, 5)
    api.state.batch_read = mode
    connector = make(options(api))

    found = connector.fetch_by_ids("customers", ids[:2])

    assert [r.id for r in found] == ids[:2]
    # "unknown" answered none of them: each is confirmed alone.
    expected = [] if mode == "extra" else [f"/api/customers/{i}" for i in ids[:2]]
    assert item_gets(api) == expected


def test_an_id_answered_twice_is_read_alone_not_guessed(api: Server, make: MakeConnector) -> None:
    ids = seed(api, 2)
    api.state.batch_read = "duplicate"
    connector = make(options(api))

    found = connector.fetch_by_ids("customers", ids)

    assert [r.fields["first_name"] for r in found] == ["C0", "C1"]  # never the impostor
    assert sorted(item_gets(api)) == sorted(f"/api/customers/{i}" for i in ids)


@pytest.mark.parametrize("mode", ["refuse", "missing"])
def test_a_refused_batch_is_read_id_by_id(api: Server, make: MakeConnector, mode: str) -> None:
    ids = seed(api, 3)
    api.state.batch_read = mode
    connector = make(options(api))

    found = connector.fetch_by_ids("customers", [*ids, "999"])

    assert [r.id for r in found] == ids
    assert len(item_gets(api)) == 4


@pytest.mark.parametrize(
    ("mode", "message", "retriable"),
    [
        ("malformed", "not complete JSON", True),
        ("not_list", "no list of records at 'results'; check batch_read.response_path", False),
        ("no_id", "no usable 'id'; check id_field", False),
        ("huge", "max_response_bytes", False),
        ("unavailable", "failed 2 times", True),
    ],
    ids=["malformed", "not-a-list", "no-id", "oversized", "503"],
)
def test_an_unusable_answer_fails_the_read_and_returns_nothing(
    api: Server, make: MakeConnector, mode: str, message: str, retriable: bool
) -> None:
    ids = seed(api, 2)
    api.state.batch_read = mode
    connector = make(
        options(api, max_response_bytes=1_000_000, retry={"attempts": 2, "max_wait_seconds": 0})
    )

    with pytest.raises(ConnectorError, match=message) as caught:
        connector.fetch_by_ids("customers", ids)

    assert caught.value.retriable is retriable
    assert item_gets(api) == []  # nothing was guessed from a broken answer


def test_a_response_path_of_the_body_itself(api: Server, make: MakeConnector) -> None:
    ids = seed(api, 1)
    connector = make(options(api, {"path": "/api/customers/batch", "response_path": ""}))
    # The test API wraps its list in {"results": ...}: the body is no list, so it says so.
    with pytest.raises(ConnectorError, match="no list of records at the body"):
        connector.fetch_by_ids("customers", ids)


# -- quota and rate limit -------------------------------------------------------------------


def test_the_daily_quota_counts_batch_calls_and_refuses_before_the_first(
    api: Server, make: MakeConnector
) -> None:
    ids = seed(api, 250)
    connector = make(options(api, {**SHAPES["get-comma"], "max": 100}, daily_quota={"calls": 5}))
    assert len(connector.fetch_by_ids("customers", ids)) == 250  # 3 calls

    with pytest.raises(QuotaExhaustedError):
        connector.fetch_by_ids("customers", ids)  # 3 more do not fit in the 2 left
    assert len(api.state.batch_reads) == 3


def test_batch_reads_are_paced_by_the_rate_limit(
    api: Server, make: MakeConnector, clock: FakeClock
) -> None:
    ids = seed(api, 250)
    connector = make(
        options(
            api,
            {**SHAPES["get-comma"], "max": 100},
            rate_limit={"requests": 1, "per_seconds": 2},
        )
    )

    connector.fetch_by_ids("customers", ids)

    assert len(api.state.batch_reads) == 3
    assert sum(clock.sleeps) == pytest.approx(4.0)  # one burst, then 2 s per call


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"path": "/c/{id}"}, "has no {id}"),
        ({"path": ""}, "at least 1 character"),
        ({"path": "/c", "max": 0}, "greater than or equal to 1"),
        ({"path": "/c", "max": 100_000}, "less than or equal to 1000"),
        ({"path": "/c", "method": "DELETE"}, "'GET' or 'POST'"),
        ({"path": "/c", "request_path": "ids"}, "with method GET the ids go in the query"),
        ({"path": "/c", "method": "POST", "ids_style": "repeat"}, "with method POST"),
        ({"path": "/c", "ids_style": "semicolon"}, "'comma' or 'repeat'"),
        ({"path": "/c", "ids_param": ""}, "at least 1 character"),
        ({"path": "/c", "method": "POST", "item_key": ""}, "at least 1 character"),
        ({"path": "/c", "idz": "x"}, "Extra inputs are not permitted"),
        ({"path": "/c", "max": "x" * 10_000}, "valid integer"),
    ],
    ids=[
        "item-path",
        "empty-path",
        "max-zero",
        "max-huge",
        "method",
        "post-key-on-get",
        "get-key-on-post",
        "ids-style",
        "empty-ids-param",
        "empty-item-key",
        "unknown-key",
        "oversized-max",
    ],
)
def test_bad_batch_read_options_are_refused(given: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message) as caught:
        BatchReadOptions.model_validate(given)
    assert "x" * 100 not in str(caught.value)


def test_config_errors_in_batch_read_name_the_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            connectors:
              shop:
                type: rest
                base_url: https://shop.example.com
                objects:
                  customers:
                    path: /customers
                    batch_read:
                      path: "/customers/{id}"
                      max: 0
                  orders:
                    path: /orders
                    batch_read: {path: /orders/batch, request_path: ids}
            """
        )
    )
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, env={})
    found = {(p.key, p.line): p.message for p in caught.value.problems}
    base = "connectors.shop.objects"
    assert "has no {id}" in found[(f"{base}.customers.batch_read.path", 9)]
    assert "greater than or equal to 1" in found[(f"{base}.customers.batch_read.max", 10)]
    assert "with method GET" in found[(f"{base}.orders.batch_read", 13)]


# -- the engine ------------------------------------------------------------------------------


def test_an_outbound_pass_reads_the_linked_records_in_batch_calls(
    store: Store, api: Server, tmp_path: Path
) -> None:
    """Ten CRM edits pushed out: the current external records come in batch reads."""
    api.state.auth = "oauth2"
    records_path, paging = MODES["cursor"]
    text = CONFIG % {"mode": "cursor", "records_path": records_path, "paging": paging}
    text = text.replace(
        "        find_param: email\n",
        "        find_param: email\n        batch_read: {path: /api/customers/batch, max: 4}\n",
    ).replace("batch_size: 2", "batch_size: 10")
    path = tmp_path / "syncd.yaml"
    path.write_text(text)
    env = {"SHOP_URL": api.url, "SHOP_CLIENT": CLIENT_ID, "SHOP_SECRET": CLIENT_SECRET}
    config = load_config(path, env=env)
    spec = build_spec(config, config.syncs["shop-customers"])
    connector = build_connector(config, "shop")
    try:
        for i in range(10):
            api.state.add(email=f"p{i}@x.io", first_name=f"P{i}")
        run_sync(spec, connector, store)
        for i in range(10):
            record = store.find_record("contacts", "email", f"p{i}@x.io")
            store.update_record("contacts", record.id, {"lastname": f"L{i}"}, UI)
        api.state.requests.clear()
        api.state.batch_reads.clear()

        summary = run_sync(spec, connector, store)

        assert summary.get("outbound.updated") == 10
        assert [len(b) for b in api.state.batch_reads] == [4, 4, 2]
        assert item_gets(api) == []
        assert sorted(c["last_name"] for c in api.state.customers.values()) == sorted(
            f"L{i}" for i in range(10)
        )
    finally:
        connector.close()
