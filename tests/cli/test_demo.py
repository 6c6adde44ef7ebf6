"""``syncd demo``: what it narrates must be what both databases hold afterwards.

Each run drives the real daemon for a few seconds, so the tests share runs where they can:
one CLI run checks the story and the facts, one checks that a re-run starts afresh, one is a
real ``python -m syncd`` process (plain text when piped).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from store import Store
from syncd.cli import app
from syncd.daemon.process_lock import ProcessLock
from syncd.demo.script import CRM_CONTACTS
from syncd.demo.shop import SHOP_CUSTOMERS

runner = CliRunner()
FILES = ("syncd-demo.yaml", "syncd.db", "demo-shop.db")


def demo(*args: str) -> Result:
    return runner.invoke(app, ["demo", *args])


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


def shop_rows(directory: Path, table: str) -> list[dict[str, Any]]:
    engine = create_engine(f"sqlite:///{directory / 'demo-shop.db'}")
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {table}"))]
    finally:
        engine.dispose()


def crm_contacts(store: Store) -> dict[str, dict[str, Any]]:
    return {
        str(r.properties["email"]): dict(r.properties) | {"id": r.id}
        for r in store.list_records("contacts", limit=1000)
    }


def assert_demo_facts(directory: Path) -> None:
    """Both sides hold the same people, every narrated edit arrived, one conflict settled."""
    customers = {str(r["email"]): r for r in shop_rows(directory, "customers")}
    companies = {str(r["domain"]): r for r in shop_rows(directory, "companies")}
    with Store.open(f"sqlite:///{directory / 'syncd.db'}") as store:
        contacts = crm_contacts(store)
        crm_domains = {
            str(r.properties["domain"]) for r in store.list_records("companies", limit=1000)
        }
        conflicts = store.list_conflicts()
    # Seeded on both sides, one person in common (Ann), plus the contact made in step 4.
    expected = {c[0] for c in CRM_CONTACTS} | {c[0] for c in SHOP_CUSTOMERS}
    assert set(contacts) == set(customers) == expected | {"eve@globex.example"}
    assert len(shop_rows(directory, "customers")) == len(contacts) == 14  # no duplicates
    assert (
        crm_domains
        == set(companies)
        == {
            "acme.example",
            "globex.example",
            "initech.example",
            "hooli.example",
        }
    )
    # Ann was matched by email: the CRM record took the shop's phone, in E.164.
    assert contacts["ann@acme.example"]["phone"] == "+49301234567"
    # 2: the shop's edit reached the CRM.
    assert contacts["joanna@initech.example"]["firstname"] == "Jo"
    # 3: the CRM's edit reached the shop.
    assert customers["bob@acme.example"]["phone"] == "+4915112345678"
    # 4: the new CRM contact was created in the shop, linked to its company's shop row.
    eve = customers["eve@globex.example"]
    assert (eve["first_name"], eve["last_name"], eve["stage"]) == ("Eve", "Park", "prospect")
    assert eve["company_id"] == str(companies["globex.example"]["id"])
    # 5: one conflict, settled by most_recent for the later (shop) edit, on both sides.
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert (conflict.field, conflict.rule, conflict.winner, conflict.open) == (
        "lastname",
        "most_recent",
        "external",
        False,
    )
    assert conflict.crm_id == contacts["monica@hooli.example"]["id"]
    assert contacts["monica@hooli.example"]["lastname"] == "Hall-Shop"
    assert customers["monica@hooli.example"]["last_name"] == "Hall-Shop"


def test_demo_narrates_two_way_sync_and_both_databases_agree(tmp_path: Path) -> None:
    out = ok(demo("--dir", str(tmp_path)))

    assert_demo_facts(tmp_path)
    for heading in (
        "1. Initial sync",
        "2. An edit in the shop",
        "3. An edit in the CRM",
        "4. A new contact in the CRM",
        "5. The same field edited on both sides",
    ):
        assert heading in out
    assert "13 contacts/customers" in out
    assert "conflict 1 on lastname" in out
    assert "shop-customers" in out and "idle" in out  # the status table
    assert "lastname: Hall-Crm -> Hall-Shop" in out  # the last log rows
    config = tmp_path / "syncd-demo.yaml"
    assert f"syncd --config {config} status" in out
    assert f"syncd --config {config} conflicts list" in out
    # The suggested commands work on what the demo left behind.
    listed = json.loads(
        ok(runner.invoke(app, ["--config", str(config), "--json", "conflicts", "list"]))
    )
    assert [c["field"] for c in listed] == ["lastname"]


def test_rerun_starts_afresh_and_json_is_a_summary(tmp_path: Path) -> None:
    first = json.loads(ok(demo("--dir", str(tmp_path), "--json")))
    second = json.loads(ok(runner.invoke(app, ["--json", "demo", "--dir", str(tmp_path)])))

    # Without a reset the second run would find 2 conflicts and Eve already in the shop.
    assert_demo_facts(tmp_path)
    for summary in (first, second):
        assert summary["crm"] == {"contacts": 14, "companies": 4}
        assert summary["shop_counts"] == {"customers": 14, "companies": 4}
        assert [s["step"] for s in summary["steps"]] == [1, 2, 3, 4, 5]
        assert len(summary["conflicts"]) == 1
        assert summary["conflicts"][0]["winner"] == "external"
        assert {s["name"] for s in summary["status"]} == {"shop-companies", "shop-customers"}
        assert summary["seconds"] < 60


@pytest.mark.parametrize("name", FILES)
def test_a_file_the_demo_did_not_write_is_refused_and_left_alone(tmp_path: Path, name: str) -> None:
    theirs = tmp_path / name
    if name == "syncd.db":
        with Store.open(f"sqlite:///{theirs}"):  # someone's real store
            pass
    else:
        theirs.write_text("not yours\n")
    before = theirs.read_bytes()

    message = refused(demo("--dir", str(tmp_path)))

    assert str(theirs) in message and "not written by `syncd demo`" in message
    assert theirs.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing else written


def test_a_directory_that_is_missing_or_in_use_is_refused(tmp_path: Path) -> None:
    assert "no such directory" in refused(demo("--dir", str(tmp_path / "nope")))
    # A daemon still running on the demo's store keeps it: the demo does not pull it away.
    (tmp_path / "syncd.db").touch()
    lock = ProcessLock.acquire((tmp_path / "syncd.db").resolve())
    try:
        (tmp_path / "syncd.db").unlink()
        assert "already uses" in refused(demo("--dir", str(tmp_path)))
    finally:
        lock.release()


def test_the_real_process_tells_the_story_in_plain_text(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SYNCD_DB", "SYNCD_DEBUG")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "demo", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 60
    assert "\x1b[" not in done.stdout  # piped: no colour codes
    assert "5. The same field edited on both sides" in done.stdout
    assert "syncd --config syncd-demo.yaml status" in done.stdout  # cwd: the short form
    assert done.stderr == ""
    assert_demo_facts(tmp_path)


def test_a_step_that_does_not_happen_is_one_error_line_and_stops_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("syncd.demo.script.STEP_TIMEOUT", 0.0)

    message = refused(demo("--dir", str(tmp_path)))

    assert "did not happen" in message
    assert f"syncd --config {tmp_path / 'syncd-demo.yaml'} logs" in message
    # The daemon was stopped: its lock on the store is free again.
    ProcessLock.acquire((tmp_path / "syncd.db").resolve()).release()
