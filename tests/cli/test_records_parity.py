"""``syncd records`` and ``syncd associations`` as a user types them (issue 18.8): an archived
record can be shown, a wrong object's id is refused, ``search --properties`` shapes the table.
SQLite and PostgreSQL."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from store import Store
from syncd.cli import app
from tests.conftest import API

runner = CliRunner()


def _run(db_url: str, *args: str) -> Result:
    result = runner.invoke(app, ["--db", db_url, *args], env={"COLUMNS": "200"})
    assert "Traceback" not in result.output
    return result


def test_records_get_shows_an_archived_record_when_asked(db_url: str, store: Store) -> None:
    made = store.create_record("contacts", {"email": "gone@example.com"}, API)
    store.archive_records("contacts", [made.id], API)
    refused = _run(db_url, "records", "get", "contacts", str(made.id))
    assert refused.exit_code == 1
    assert "is archived" in refused.stderr and "--archived" in refused.stderr
    shown = _run(db_url, "records", "get", "contacts", str(made.id), "--archived")
    assert shown.exit_code == 0, shown.stderr
    assert "(archived)" in shown.stdout and "gone@example.com" in shown.stdout
    as_json = _run(db_url, "--json", "records", "get", "contacts", str(made.id), "--archived")
    body = json.loads(as_json.stdout)
    assert (body["id"], body["archived"]) == (made.id, True)
    assert body["properties"]["email"] == "gone@example.com"
    # A live record reads the same with or without the flag; an unknown id is still refused.
    live = store.create_record("contacts", {"email": "here@example.com"}, API)
    both = _run(db_url, "--json", "records", "get", "contacts", str(live.id), "--archived")
    assert json.loads(both.stdout)["archived"] is False
    missing = _run(db_url, "records", "get", "contacts", "999999", "--archived")
    assert missing.exit_code == 1 and "no contacts record 999999" in missing.stderr


def test_associations_list_refuses_another_objects_id(db_url: str, store: Store) -> None:
    company = store.create_record("companies", {"name": "Acme"}, API)
    contact = store.create_record("contacts", {"email": "ann@example.com"}, API)
    store.associate("companies", company.id, "contacts", contact.id, API)
    wrong = _run(db_url, "associations", "list", "contacts", str(company.id))
    assert wrong.exit_code == 1
    assert wrong.stderr.strip() == f"error: no contacts record {company.id}"
    right = _run(db_url, "--json", "associations", "list", "companies", str(company.id))
    assert [a["toId"] for a in json.loads(right.stdout)] == [contact.id]


def test_search_properties_are_the_table_columns(db_url: str, store: Store) -> None:
    store.create_record(
        "contacts",
        {"email": "ann@example.com", "firstname": "Ann", "jobtitle": "Pilot", "city": "Oslo"},
        API,
    )
    table = _run(db_url, "records", "search", "contacts", "--properties", "jobtitle,city")
    assert table.exit_code == 0, table.stderr
    header = next(line for line in table.stdout.splitlines() if " id " in line)
    assert "jobtitle" in header and "city" in header
    assert "Pilot" in table.stdout and "Oslo" in table.stdout
    assert "firstname" not in header and "Ann" not in table.stdout
