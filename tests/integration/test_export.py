"""Export on both databases: CSV and JSON, formula guard, filters, and the import round trip."""

from __future__ import annotations

import csv
import io
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from store import Store, export_properties, iter_records, write_csv, write_json
from tests.conftest import API
from tests.integration._import_helpers import run as run_import
from tests.integration._store_helpers import props_without_automatic

runner = CliRunner()

AWKWARD = [
    {"email": "a@x.com", "firstname": "=1+1", "lastname": "-5", "city": "'=quoted"},
    {"email": "b@x.com", "firstname": "@SUM(A1)", "lastname": "+33", "city": "\tTab"},
    {"email": "c@x.com", "firstname": "Ann\nMarie", "lastname": 'O"Neil, Jr.', "city": "'plain"},
    {"email": "d@x.com", "firstname": "Zoë", "lifecyclestage": "customer", "jobtitle": "\rCR"},
    {"email": "e@x.com", "firstname": "''=x", "lastname": "'", "phone": "+1 415 555 0100"},
]


def cli(db_url: str, command: str) -> Result:
    return runner.invoke(app_(), ["--db", db_url, *shlex.split(command)])


def app_() -> Any:
    from syncd.cli import app

    return app


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def seed(store: Store) -> None:
    store.create_records("contacts", AWKWARD, API)
    store.create_records(
        "contacts", [{"email": f"bulk{i}@x.com", "firstname": f"B{i}"} for i in range(2100)], API
    )


def export_csv(store: Store, path: Path, properties: tuple[str, ...] = ()) -> Path:
    columns = export_properties(store, "contacts", properties)
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_csv(handle, columns, iter_records(store, "contacts"))
    return path


def live(store: Store) -> dict[str, dict[str, str]]:
    out = {}
    for record in iter_records(store, "contacts"):
        out[record.properties["email"]] = dict(props_without_automatic(record))
    return out


def test_export_guards_formula_cells(store: Store, tmp_path: Path) -> None:
    store.create_records("contacts", AWKWARD, API)
    path = export_csv(store, tmp_path / "c.csv", ("email", "firstname", "lastname", "city"))
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["hs_object_id", "email", "firstname", "lastname", "city"]
    assert rows[1][2:] == ["'=1+1", "'-5", "''=quoted"]
    assert rows[2][2:] == ["'@SUM(A1)", "'+33", "'\tTab"]
    assert rows[3][2:] == ["Ann\nMarie", 'O"Neil, Jr.', "'plain"]
    for row in rows:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_exported_csv_imports_back_with_zero_changes(store: Store, tmp_path: Path) -> None:
    seed(store)
    path = export_csv(store, tmp_path / "all.csv")
    head = store.journal_head()
    summary = run_import(store, path, mode="update")
    assert (summary.rows, summary.failed, summary.updated, summary.created) == (2105, 0, 0, 0)
    assert summary.unchanged == 2105
    assert store.journal_head() == head
    assert summary.details["skipped_columns"]["createdate"] == "read-only"


def test_exported_csv_into_an_emptied_store_gives_identical_records(
    store: Store, tmp_path: Path
) -> None:
    seed(store)
    before = live(store)
    path = export_csv(store, tmp_path / "all.csv")
    ids = [r.id for r in iter_records(store, "contacts")]
    for i in range(0, len(ids), 1000):
        store.archive_records("contacts", ids[i : i + 1000], API)
    assert live(store) == {}
    summary = run_import(store, path, mode="create")
    assert (summary.created, summary.failed) == (2105, 0)
    assert live(store) == before


def test_json_export_is_an_array_of_id_and_properties(store: Store) -> None:
    store.create_records("contacts", AWKWARD[:2], API)
    handle = io.StringIO()
    columns = export_properties(store, "contacts", ("email", "firstname", "lifecyclestage"))
    assert write_json(handle, columns, iter_records(store, "contacts")) == 2
    data = json.loads(handle.getvalue())
    assert [set(item) for item in data] == [{"id", "properties"}] * 2
    assert data[0]["properties"] == {"email": "a@x.com", "firstname": "=1+1"}  # JSON: no guard
    empty = io.StringIO()
    assert write_json(empty, columns, iter([])) == 0
    assert json.loads(empty.getvalue()) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("-o {out}.csv", {"a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com"}),
        ('--filter "lifecyclestage EQ customer" -o {out}.json', {"d@x.com"}),
        ('--filter "email IN a@x.com,c@x.com" --properties email -o {out}.csv', {"a@x.com", "c@x.com"}),
    ],
    ids=["all-csv", "filter-json", "filter-properties-csv"],
)  # fmt: skip
def test_cli_export(db_url: str, tmp_path: Path, args: str, expected: set[str]) -> None:
    with Store.open(db_url, migrate=False) as store:
        store.create_records("contacts", AWKWARD, API)
    out = tmp_path / "out"
    stdout = ok(cli(db_url, f"export contacts {args.format(out=out)}"))
    assert f"wrote {len(expected)} contacts record(s)" in stdout
    written = next(tmp_path.glob("out.*"))
    if written.suffix == ".json":
        emails = {item["properties"]["email"] for item in json.loads(written.read_text())}
    else:
        with written.open(newline="") as handle:
            emails = {row["email"] for row in csv.DictReader(handle)}
    assert emails == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("-o out.txt", "must end in .csv or .json"),
        ("--properties nosuch -o {tmp}/x.csv", "contacts has no property 'nosuch'"),
        ('--filter "email LIKE x" -o {tmp}/x.csv', "operator 'LIKE' unknown"),
    ],
    ids=["bad-suffix", "unknown-property", "bad-filter"],
)
def test_cli_export_refusals(db_url: str, tmp_path: Path, args: str, message: str) -> None:
    result = cli(db_url, f"export contacts {args.format(tmp=tmp_path)}")
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_cli_import_then_imports_list_and_show(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("Email,Vorname,Company domain\na@x.com,Ann,acme.com\nbad,Bob,globex.com\n")
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "columns: {Vorname: firstname, Company domain: companies.domain}\n"
        "associate: {from: contacts, to: companies, label: Primary}\n"
    )
    report = tmp_path / "errors.csv"
    stdout = ok(
        cli(
            db_url,
            f"import {data} --object contacts --mapping {mapping} --error-report {report}",
        )
    )
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in stdout
    assert "INVALID_EMAIL" in report.read_text()
    listed = json.loads(ok(cli(db_url, "--json imports list")))
    assert [(i["status"], i["created"], i["failed"]) for i in listed] == [("DONE", 1, 1)]
    shown = ok(cli(db_url, f"imports show {listed[0]['id']}"))
    for text in ("DONE", str(report), "companies", "2 created"):
        assert text in shown


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("columns: [a, b]\n", "columns: must be a mapping"),
        ("columns: {Email: email}\nassociate: {from: contacts}\n", "associate.to: must be"),
        ("- just a list\n", "a mapping file is a mapping"),
        ("Email: [email]\n", "Email: must be a property name"),
    ],
    ids=["columns-not-mapping", "associate-without-to", "not-a-mapping", "target-not-text"],
)
def test_cli_bad_mapping_file_is_refused_naming_the_key(
    db_url: str, tmp_path: Path, mapping: str, message: str
) -> None:
    data = tmp_path / "c.csv"
    data.write_text("Email\na@x.com\n")
    path = tmp_path / "map.yaml"
    path.write_text(mapping)
    result = cli(db_url, f"import {data} --object contacts --mapping {path}")
    assert result.exit_code == 1, result.output
    assert message in result.stderr
