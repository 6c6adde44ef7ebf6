"""``syncd tokens`` as an operator runs it, on SQLite and PostgreSQL.

The secret is printed once and works; lists never show it; revoke takes effect; every
refusal is one ``error:`` line with exit 1.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from store import Store
from syncd.cli import app

runner = CliRunner()


def run(db_url: str, command: str) -> Result:
    return runner.invoke(app, ["--db", db_url, *shlex.split(command)])


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.output
    return result.stdout


def refused(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


def as_json(result: Result) -> Any:
    return json.loads(ok(result))


def test_create_prints_the_secret_once_and_it_verifies(db_url: str, store: Store) -> None:
    out = ok(run(db_url, "tokens create ci --scopes write"))
    lines = out.splitlines()
    assert lines[0] == "Created API token ci (scopes: read, write):"
    secret = lines[1]
    assert secret.startswith("syncd_") and len(secret) > 40
    assert "will not be shown again" in lines[2]
    token = store.verify_api_token(secret)
    assert token is not None and token.name == "ci" and token.scopes == ("read", "write")
    # Neither the list nor the JSON list shows it.
    listed = ok(run(db_url, "tokens list"))
    assert "ci" in listed and secret not in listed and secret[:12] in listed
    assert secret not in ok(run(db_url, "--json tokens list"))


def test_create_defaults_to_read_only(db_url: str, store: Store) -> None:
    created = as_json(run(db_url, "--json tokens create reporting"))
    assert set(created) == {"name", "scopes", "token"}
    assert created["scopes"] == ["read"]
    token = store.verify_api_token(created["token"])
    assert token is not None and token.scopes == ("read",)


def test_list_json_and_revoke(db_url: str, store: Store) -> None:
    secret = as_json(run(db_url, "--json tokens create a --scopes read,write"))["token"]
    as_json(run(db_url, "--json tokens create b"))
    listed = as_json(run(db_url, "--json tokens list"))
    assert [(t["name"], t["scopes"], t["revokedAt"]) for t in listed] == [
        ("a", ["read", "write"], None),
        ("b", ["read"], None),
    ]
    assert all(t["prefix"].startswith("syncd_") and t["createdAt"] for t in listed)
    assert "refused from now on" in ok(run(db_url, "tokens revoke a"))
    assert store.verify_api_token(secret) is None
    assert [t["name"] for t in as_json(run(db_url, "--json tokens list"))] == ["b"]
    everything = as_json(run(db_url, "--json tokens list --all"))
    assert [t["name"] for t in everything] == ["a", "b"]
    assert everything[0]["revokedAt"] is not None
    assert "already revoked" in ok(run(db_url, "tokens revoke a"))
    assert as_json(run(db_url, "--json tokens revoke a"))["revokedAt"] == everything[0]["revokedAt"]


def test_an_empty_list_says_so(db_url: str) -> None:
    assert "none" in ok(run(db_url, "tokens list"))
    assert as_json(run(db_url, "--json tokens list")) == []


REFUSALS = {
    "unknown scope": ("tokens create x --scopes admin", "unknown token scope 'admin'"),
    "empty scopes": ("tokens create x --scopes ,", "at least one scope"),
    "bad name": ("tokens create 'has space'", "token name 'has space' is not valid"),
    "name too long": ("tokens create " + "n" * 101, "is not valid: 1 to 100"),
    "control character": ("tokens create 'a\tb'", "is not valid"),
    "revoke unknown": ("tokens revoke ghost", "no API token named 'ghost'"),
}


@pytest.mark.parametrize(("command", "words"), REFUSALS.values(), ids=REFUSALS.keys())
def test_refusals_are_one_line(db_url: str, command: str, words: str) -> None:
    assert words in refused(run(db_url, command))


def test_a_name_is_never_reused(db_url: str) -> None:
    ok(run(db_url, "tokens create dup"))
    assert "a token named 'dup' already exists" in refused(run(db_url, "tokens create dup"))
    ok(run(db_url, "tokens revoke dup"))
    line = refused(run(db_url, "tokens create dup --scopes write"))
    assert "a revoked token named 'dup' already exists" in line
    assert "choose another name" in line
