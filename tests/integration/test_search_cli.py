"""``syncd records search`` end to end on SQLite and PostgreSQL: flags, JSON, paging, errors."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from store import Store
from syncd.cli import app
from syncd.cli._filters import MAX_FILTER_JSON
from tests.conftest import API

runner = CliRunner()


def run(db_url: str, command: str) -> Result:
    return runner.invoke(app, ["--db", db_url, *shlex.split(command)])


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


def refused(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def contacts(store: Store) -> list[int]:
    rows = [
        {"email": "ann@hubspot.com", "firstname": "Ann", "lifecyclestage": "lead", "city": "Oslo"},
        {"email": "bob@hubspot.com", "firstname": "Bob", "lifecyclestage": "customer"},
        {"email": "cat@other.org", "firstname": "Cat", "lifecyclestage": "lead", "city": "Rome"},
    ]
    return [store.create_record("contacts", r, API).id for r in rows]


def test_filters_are_anded_and_json_has_hubspot_shape(db_url: str, contacts: list[int]) -> None:
    body = as_json(
        run(
            db_url,
            "--json records search contacts --filter 'email CONTAINS_TOKEN *@hubspot.com' "
            "--filter 'lifecyclestage EQ lead' --properties email,firstname",
        )
    )
    assert body["total"] == 1
    assert [r["id"] for r in body["results"]] == [contacts[0]]
    assert body["results"][0]["properties"] == {"email": "ann@hubspot.com", "firstname": "Ann"}
    assert "paging" not in body


def test_or_and_sort_and_paging_round_trip(db_url: str, contacts: list[int]) -> None:
    command = (
        "--json records search contacts --or --filter 'city EQ oslo' --filter 'city EQ ROME' "
        "--sort firstname:desc --limit 1"
    )
    first = as_json(run(db_url, command))
    assert first["total"] == 2
    cursor = first["paging"]["next"]["after"]
    second = as_json(run(db_url, f"{command} --after {cursor}"))
    assert [r["id"] for r in first["results"] + second["results"]] == [contacts[2], contacts[0]]
    assert "paging" not in second


def test_table_output_prints_the_next_cursor(db_url: str, contacts: list[int]) -> None:
    result = run(db_url, "records search contacts --filter 'email HAS_PROPERTY' --limit 2")
    assert result.exit_code == 0, result.output
    assert "3 found" in result.stdout
    assert "next page: --after " in result.stdout


def test_filter_json_file(db_url: str, contacts: list[int], tmp_path: Path) -> None:
    path = tmp_path / "filters.json"
    groups = [
        {"filters": [{"propertyName": "lifecyclestage", "operator": "IN", "values": ["customer"]}]}
    ]
    path.write_text(json.dumps({"filterGroups": groups}))
    body = as_json(run(db_url, f"--json records search contacts --filter-json {path}"))
    assert [r["id"] for r in body["results"]] == [contacts[1]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"filterGroups": [', r"filters.json:1:\d+: broken JSON"),
        (
            '{"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQQ"}]}]}',
            "'EQQ' unknown; did you mean 'EQ'",
        ),
        (" " * (MAX_FILTER_JSON + 1), "larger than"),
        ('{"filterGroups": {"a": 1}}', "filterGroups: expected a list"),
    ],
    ids=["broken", "bad-operator", "too-big", "wrong-shape"],
)
def test_bad_filter_json_is_refused(
    db_url: str, contacts: list[int], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "filters.json"
    path.write_text(content)
    line = refused(run(db_url, f"records search contacts --filter-json {path}"))
    assert re.search(message, line), line


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            "records search contacts --filter 'emial EQ x'",
            "has no property 'emial'; did you mean 'email'",
        ),
        ("records search contacts --after nonsense", "after: not a cursor"),
        ("records search contacts --sort nosuch", "has no property 'nosuch'"),
        ("records search nosuch", "no object 'nosuch'"),
    ],
    ids=["unknown-property", "bad-cursor", "bad-sort", "unknown-object"],
)
def test_refusals_are_one_error_line(
    db_url: str, contacts: list[int], command: str, message: str
) -> None:
    assert message in refused(run(db_url, command))


@pytest.mark.parametrize(
    "command",
    ["records search contacts --filter 'email'", "records search contacts --limit 0"],
    ids=["filter-without-operator", "limit-zero"],
)
def test_usage_errors_exit_2(db_url: str, command: str) -> None:
    assert run(db_url, command).exit_code == 2
