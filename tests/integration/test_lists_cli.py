"""``syncd lists`` end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import as_json, create, ok, refused, run, usage_error, write


def members(db_url: str, name: str) -> list[int]:
    out = as_json(run(db_url, f"--json lists members {json.dumps(name)}"))
    return [r["id"] for r in out["results"]]


def test_cli_manual_list(db_url: str) -> None:
    a = create(db_url, "contacts", email="a@x.com")
    b = create(db_url, "contacts", email="b@x.com", lifecyclestage="lead")
    out = ok(run(db_url, "lists create VIP --object contacts"))
    assert "created manual list 'VIP' of contacts: 0 members" in out
    assert "added 1 to 'VIP' (1 members)" in ok(run(db_url, f"lists add VIP {a}"))
    assert as_json(run(db_url, "--json lists add VIP --filter 'lifecyclestage EQ lead'")) == {
        "list": "VIP",
        "added": 1,
        "size": 2,
    }
    assert members(db_url, "VIP") == [a, b]
    assert "a@x.com" in ok(run(db_url, "lists members VIP"))
    ok(run(db_url, f"lists remove VIP {a}"))
    assert members(db_url, "VIP") == [b]
    history = as_json(run(db_url, "--json lists history VIP"))
    assert [(e["recordId"], e["change"]) for e in history] == [
        (a, "removed"),
        (b, "added"),
        (a, "added"),
    ]
    assert all(e["at"] for e in history)
    assert "removed" in ok(run(db_url, "lists history VIP"))
    listed = as_json(run(db_url, "--json lists list"))
    assert [(x["name"], x["processingType"], x["size"]) for x in listed] == [("VIP", "MANUAL", 1)]
    assert "VIP" in ok(run(db_url, "lists list"))
    ok(run(db_url, "lists delete VIP"))
    assert as_json(run(db_url, "--json lists list")) == []


def test_cli_dynamic_list_follows_records(db_url: str) -> None:
    a = create(db_url, "contacts", email="a@x.com", lifecyclestage="lead")
    created = as_json(
        run(
            db_url,
            "--json lists create Leads --object contacts --dynamic -f 'lifecyclestage EQ lead'",
        )
    )
    assert (created["processingType"], created["size"]) == ("DYNAMIC", 1)
    b = create(db_url, "contacts", email="b@x.com", lifecyclestage="lead")
    assert members(db_url, "Leads") == [a, b]
    ok(run(db_url, f"records update contacts {a} --set lifecyclestage=customer"))
    ok(run(db_url, f"records archive contacts {b}"))
    assert members(db_url, "Leads") == []
    ok(run(db_url, f"records restore contacts {b}"))
    assert members(db_url, "Leads") == [b]
    changes = [
        (e["recordId"], e["change"]) for e in as_json(run(db_url, "--json lists history Leads"))
    ]
    assert changes == [(b, "added"), (b, "removed"), (a, "removed"), (b, "added"), (a, "added")]


def test_cli_snapshot_and_or_filters(db_url: str) -> None:
    a = create(db_url, "contacts", email="a@x.com", lifecyclestage="lead")
    b = create(db_url, "contacts", email="b@x.com", firstname="Zed")
    ok(
        run(
            db_url,
            "lists create Snap --object contacts --snapshot "
            "-f 'lifecyclestage EQ lead' -f 'firstname EQ zed' --or",
        )
    )
    create(db_url, "contacts", email="c@x.com", lifecyclestage="lead")
    assert members(db_url, "Snap") == [a, b]


def test_cli_filter_json_file(db_url: str, tmp_path: Path) -> None:
    a = create(db_url, "contacts", email="a@x.com", lifecyclestage="lead")
    path = write(
        tmp_path,
        "f.json",
        json.dumps(
            {
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}
                        ]
                    }
                ]
            }
        ),
    )
    ok(run(db_url, f"lists create J --object contacts --dynamic --filter-json {path}"))
    assert members(db_url, "J") == [a]


@pytest.mark.parametrize(
    ("setup", "command", "message"),
    [
        (
            "lists create D --object contacts --dynamic -f 'email HAS_PROPERTY'",
            "lists add D 1",
            "is dynamic",
        ),
        (
            "lists create D --object contacts --dynamic -f 'email HAS_PROPERTY'",
            "lists remove D 1",
            "is dynamic",
        ),
        ("lists create L --object contacts", "lists create L --object companies", "already exists"),
        ("lists create L --object contacts", "lists add L 1 999999", "999999; nothing added"),
        ("lists create L --object contacts", "lists remove L 1", "not members of list 'L': 1"),
        ("lists create L --object companies", "lists add L 1", "no live companies records 1"),
        ("", "lists create L --object nope", "nope"),
        ("", "lists create L --object contacts --dynamic -f 'nope EQ 1'", "no property 'nope'"),
        ("", "lists create L --object contacts --dynamic", "give a filter"),
        ("", "lists create L --object contacts -f 'email HAS_PROPERTY'", "manual list takes no"),
        ("", "lists members nope", "no list named 'nope'"),
        ("", "lists history nope", "no list named 'nope'"),
        ("", "lists delete nope", "no list named 'nope'"),
    ],
    ids=[
        "add-to-dynamic",
        "remove-from-dynamic",
        "duplicate-name",
        "unknown-id",
        "remove-non-member",
        "other-object-id",
        "unknown-object",
        "unknown-property",
        "dynamic-without-filter",
        "manual-with-filter",
        "members-unknown-list",
        "history-unknown-list",
        "delete-unknown-list",
    ],
)
def test_cli_lists_refusals(db_url: str, setup: str, command: str, message: str) -> None:
    create(db_url, "contacts", email="a@x.com")  # record 1
    if setup:
        ok(run(db_url, setup))
    assert message in refused(run(db_url, command))


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            "lists create L --object contacts --dynamic --snapshot -f 'email HAS_PROPERTY'",
            "not both",
        ),
        ("lists add L", "give record ids or --filter"),
        ("lists add L 1 --filter 'email HAS_PROPERTY'", "give record ids or --filter"),
        ("lists remove L", "give the record ids"),
        ("lists add L x", "valid integer"),
        ("lists create L --object contacts -f 'email'", "expected PROPERTY OPERATOR"),
    ],
    ids=[
        "dynamic-and-snapshot",
        "add-nothing",
        "add-both",
        "remove-nothing",
        "non-int-id",
        "bad-filter",
    ],
)
def test_cli_lists_usage_errors(db_url: str, command: str, message: str) -> None:
    assert message in usage_error(run(db_url, command))


def test_cli_filter_json_unreadable(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "f.json", "{not json")
    assert "broken JSON" in refused(
        run(db_url, f"lists create J --object contacts --dynamic --filter-json {path}")
    )
    bad = write(tmp_path, "g.json", '{"filterGroups": 3}')
    assert "expected a list" in refused(
        run(db_url, f"lists create J --object contacts --dynamic --filter-json {bad}")
    )


def test_cli_sql_like_list_name(db_url: str) -> None:
    a = create(db_url, "contacts", email="a@x.com")
    name = "x'; DROP TABLE lists; --"
    ok(run(db_url, f"lists create {json.dumps(name)} --object contacts"))
    ok(run(db_url, f"lists add {json.dumps(name)} {a}"))
    assert members(db_url, name) == [a]
    assert [x["name"] for x in as_json(run(db_url, "--json lists list"))] == [name]


def test_cli_members_paging(db_url: str) -> None:
    ids = [create(db_url, "contacts", email=f"p{i}@x.com") for i in range(3)]
    ok(run(db_url, "lists create All --object contacts --dynamic -f 'email HAS_PROPERTY'"))
    page = as_json(run(db_url, "--json lists members All --limit 2"))
    assert [r["id"] for r in page["results"]] == ids[:2]
    assert page["paging"] == {"next": {"after": ids[1]}}
    rest = as_json(run(db_url, f"--json lists members All --after {ids[1]}"))
    assert [r["id"] for r in rest["results"]] == ids[2:] and rest["paging"] is None
    result = run(db_url, "lists members All --limit 2")
    assert f"more: --after {ids[1]}" in result.stderr
