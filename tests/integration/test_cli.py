"""The ``syncd`` command line, end to end on SQLite and PostgreSQL.

Each test drives the real Typer app against a migrated store (``--db db_url``) and checks
what a user or a script relies on: values, ids, exit codes (0 done, 1 refused, 2 bad
usage) and that a refusal is one ``error:`` line on stderr, never a traceback. Commands are
written as a user types them (``"records get contacts 3"``). Two tests run ``python -m
syncd`` in a subprocess to prove the same of the real process.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from config.loader import MAX_FILE_BYTES
from store import Store, head_revision
from syncd.cli import app

runner = CliRunner()

PETS_SCHEMA = """\
name: pets
labels: {singular: Pet, plural: Pets}
primaryDisplayProperty: pet_name
requiredProperties: [pet_name]
associatedObjects: [contacts]
properties:
  - name: pet_name
    label: Pet name
  - name: species
    type: enumeration
    fieldType: select
    options:
      - {label: Dog, value: dog}
      - {label: Cat, value: cat}
  - name: chip_number
    hasUniqueValue: true
"""
TIER = "properties create contacts --name tier --type enumeration"


def run(db_url: str | None, command: str, env: dict[str, str | None] | None = None) -> Result:
    """``syncd [--db URL] <command>``, the command split as a shell would split it."""
    args = shlex.split(command)
    return runner.invoke(app, ["--db", db_url, *args] if db_url else args, env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.output
    return result.stdout


def as_json(result: Result) -> Any:
    return json.loads(ok(result))


def refused(result: Result) -> str:
    """The one ``error:`` line of a refused command (exit 1, nothing on stdout)."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert result.stdout == ""
    assert "Traceback" not in result.output
    return lines[0]


def usage_error(result: Result) -> str:
    """Click's usage report (exit 2) with its box drawing flattened to one string."""
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.output
    return " ".join(result.stderr.translate(str.maketrans("", "", "│╭╮╰╯─")).split())


def create(db_url: str, object_name: str, **values: str) -> int:
    sets = " ".join(f"--set {shlex.quote(f'{k}={v}')}" for k, v in values.items())
    return int(ok(run(db_url, f"records create {object_name} {sets}")).strip())


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- records


def test_record_create_get_update_archive_restore(db_url: str) -> None:
    created = run(db_url, "records create contacts --set email=ann@example.com --set firstname=Ann")
    record_id = int(ok(created))
    assert created.stdout == f"{record_id}\n"  # the id alone, for scripts

    got = as_json(run(db_url, f"--json records get contacts {record_id}"))
    assert got["id"] == record_id
    assert got["properties"]["email"] == "ann@example.com"
    assert got["properties"]["hs_object_id"] == str(record_id)

    ok(run(db_url, f"records update contacts {record_id} --set lastname=Lee --set firstname="))
    got = as_json(
        run(db_url, f"--json records get contacts {record_id} --properties lastname,firstname")
    )
    assert got["properties"] == {"lastname": "Lee", "firstname": None}

    archived = ok(run(db_url, f"records archive contacts {record_id}"))
    assert archived.startswith(f"archived contacts {record_id}")
    gone = refused(run(db_url, f"records get contacts {record_id}"))
    assert gone.startswith(f"error: no contacts record {record_id}: it is archived; ")
    listed = as_json(run(db_url, "--json records list contacts --archived"))
    assert [r["id"] for r in listed["results"]] == [record_id]

    restored = as_json(run(db_url, f"--json records restore contacts {record_id}"))
    assert (restored["id"], restored["archived"]) == (record_id, False)
    listed = as_json(run(db_url, "--json records list contacts"))
    assert [r["id"] for r in listed["results"]] == [record_id]


def test_record_history_shows_each_value_with_its_source(db_url: str) -> None:
    record_id = create(db_url, "contacts", email="h@example.com", lifecyclestage="lead")
    ok(run(db_url, f"records update contacts {record_id} --set lifecyclestage=customer"))
    got = as_json(
        run(
            db_url, f"--json records get contacts {record_id} --history --properties lifecyclestage"
        )
    )
    assert [(h["value"], h["sourceType"], h["sourceId"]) for h in got["history"]] == [
        ("customer", "CRM_UI", "cli"),
        ("lead", "CRM_UI", "cli"),
    ]
    table = ok(run(db_url, f"records get contacts {record_id} --history"))
    assert "history (newest first)" in table
    assert "CRM_UI (cli)" in table


def test_merge_keeps_winner_fills_gaps_and_moves_associations(db_url: str) -> None:
    winner = create(db_url, "contacts", email="w@example.com", firstname="Win")
    loser = create(db_url, "contacts", email="l@example.com", firstname="Lose", jobtitle="CTO")
    company = create(db_url, "companies", name="Acme", domain="acme.example")
    ok(run(db_url, f"associations create contacts {loser} companies {company}"))

    merged = as_json(run(db_url, f"--json records merge contacts {winner} {loser}"))
    assert merged["id"] == winner
    assert merged["properties"]["firstname"] == "Win"
    assert merged["properties"]["jobtitle"] == "CTO"

    via_loser = run(db_url, f"--json records get contacts {loser}")
    assert json.loads(ok(via_loser))["id"] == winner
    assert f"contacts {loser} was merged into {winner}" in via_loser.stderr
    links = as_json(run(db_url, f"--json associations list contacts {winner}"))
    assert [(a["toObject"], a["toId"]) for a in links] == [("companies", company)]
    text = ok(run(db_url, f"records merge contacts {winner} {create(db_url, 'contacts')}"))
    assert text.startswith("merged contacts ")


def test_list_pages_with_after(db_url: str) -> None:
    ids = [create(db_url, "contacts", email=f"p{i}@example.com") for i in range(3)]
    first = as_json(run(db_url, "--json records list contacts --limit 2"))
    assert [r["id"] for r in first["results"]] == ids[:2]
    after = first["paging"]["next"]["after"]
    rest = as_json(run(db_url, f"--json records list contacts --after {after}"))
    assert [r["id"] for r in rest["results"]] == ids[2:]
    assert rest["paging"] is None
    assert "p0@example.com" in ok(run(db_url, "records list contacts"))


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("records create contactz", "no object 'contactz'; did you mean 'contacts'?"),
        (
            "records create contacts --set emial=a@example.com",
            "contacts has no property 'emial'; did you mean 'email'?",
        ),
        (
            "records create companies --set numberofemployees=lots",
            "companies.numberofemployees: 'lots' is not valid: expected a number",
        ),
        ("records create contacts --set email=nope", "contacts.email: 'nope' is not valid"),
        ("properties archive contacts email", "contacts.email is built in"),
        ("records get contacts 999", "no contacts record 999"),
        ("records get contacts 1 --properties emial", "did you mean 'email'?"),
        ("objects archive contacts", "contacts is a standard object"),
    ],
    ids=["object", "property", "number", "email", "builtin", "record", "get-prop", "std-object"],
)
def test_refusals_exit_1_with_one_error_line(db_url: str, command: str, expected: str) -> None:
    create(db_url, "contacts", email="one@example.com")  # record 1 exists
    assert expected in refused(run(db_url, command))


def test_duplicate_email_is_refused_naming_the_existing_record(db_url: str) -> None:
    existing = create(db_url, "contacts", email="dup@example.com")
    line = refused(run(db_url, "records create contacts --set email=DUP@example.com"))
    assert line == f"error: contacts.email: 'DUP@example.com' already belongs to record {existing}"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("records create contacts --set email", "expected PROPERTY=VALUE"),
        ("records create contacts --set =x", "expected PROPERTY=VALUE"),
        ("records get contacts abc", "Invalid value for 'ID'"),
        ("records merge contacts 1 two", "Invalid value for 'LOSER'"),
        ("records update contacts 1", "nothing to change"),
        (f"{TIER} --field-type select --option gold", "expected VALUE=LABEL"),
        ("records list contacts --limit 0", "--limit"),
        ("records frobnicate", "No such command"),
    ],
    ids=["no-equals", "no-name", "id", "merge-id", "no-set", "option", "limit", "command"],
)
def test_usage_errors_exit_2(db_url: str, command: str, expected: str) -> None:
    assert expected in usage_error(run(db_url, command))


def test_no_password_is_ever_printed() -> None:
    result = run("postgresql://syncd:s3cr3t-pw@127.0.0.1:1/none", "records list contacts")
    line = refused(result)
    assert "cannot reach the database postgresql://syncd:***@127.0.0.1:1/none" in line
    assert "s3cr3t-pw" not in result.output


def test_unexpected_exception_is_one_line_unless_debugging(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(Store, "list_objects", broken)
    result = run(db_url, "objects list", env={"SYNCD_DEBUG": None})
    assert result.exit_code == 1
    assert result.stderr == (
        "internal error: ZeroDivisionError: boom (set SYNCD_DEBUG=1 for the traceback)\n"
    )
    debug = run(db_url, "objects list", env={"SYNCD_DEBUG": "1"})
    assert isinstance(debug.exception, ZeroDivisionError)


# ---------------------------------------------------------------- configuration


def test_store_url_precedence(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = f"sqlite:///{tmp_path}/no/such/dir/x.db"
    write(tmp_path, "syncd.yaml", 'store:\n  url: "${CLI_TEST_DB}"\n')
    # ./syncd.yaml's url, its secret expanded from the environment
    env: dict[str, str | None] = {"CLI_TEST_DB": db_url, "SYNCD_DB": None}
    record_id = int(ok(run(None, "records create contacts", env=env)))
    # SYNCD_DB beats the config file; --db beats SYNCD_DB
    env = {"SYNCD_DB": db_url, "CLI_TEST_DB": missing}
    assert (
        as_json(run(None, f"--json records get contacts {record_id}", env=env))["id"] == record_id
    )
    ok(run(db_url, f"records get contacts {record_id}", env={"SYNCD_DB": missing}))

    line = refused(run(None, "records list contacts", env={"SYNCD_DB": None, "CLI_TEST_DB": None}))
    assert (
        line == "error: syncd.yaml: store.url: environment variable CLI_TEST_DB is not set (line 2)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("store:\n  url: [1, 2\n", "invalid YAML at line 3, column 1"),
        ("store: sqlite:///x.db\n", "store: expected a mapping such as {url: ...}, got a text"),
        ("store:\n  uri: sqlite:///x.db\n", "store.uri: unknown key; the store section has: url"),
        ("store:\n  url: 5\n", "store.url: expected a database URL text, got a number (line 2)"),
    ],
    ids=["yaml", "shape", "key", "type"],
)
def test_broken_config_file_is_refused_naming_file_and_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, "conf.yaml", text)
    line = refused(run(None, f"--config {path} db upgrade", env={"SYNCD_DB": None}))
    assert line.startswith(f"error: {path}: ")
    assert expected in line


def test_db_upgrade_reports_the_revision(db_url: str) -> None:
    assert f"schema at revision {head_revision()} (head)" in ok(run(db_url, "db upgrade"))
    assert as_json(run(db_url, "--json db upgrade"))["revision"] == head_revision()


# ---------------------------------------------------------------- objects


def test_object_from_schema_file(db_url: str, tmp_path: Path) -> None:
    schema = write(tmp_path, "schema.yaml", PETS_SCHEMA)
    assert "created object pets (2-" in ok(run(db_url, f"objects create --file {schema}"))
    shown = as_json(run(db_url, "--json objects show pets"))
    assert shown["labels"] == {"singular": "Pet", "plural": "Pets"}
    props = {p["name"]: p for p in shown["properties"]}
    assert props["chip_number"]["hasUniqueValue"] is True
    assert props["chip_number"]["label"] == "Chip Number"  # defaulted from the name
    assert [o["value"] for o in props["species"]["options"]] == ["dog", "cat"]

    pet = create(db_url, "pets", pet_name="Rex", species="dog")
    bad = refused(run(db_url, "records create pets --set pet_name=Tom --set species=fish"))
    assert "pets.species: 'fish' is not valid: not an option" in bad
    assert "pets.pet_name: no value is not valid: required" in refused(
        run(db_url, "records create pets --set species=cat")
    )
    owner = create(db_url, "contacts", email="owner@example.com")
    ok(run(db_url, f"associations create pets {pet} contacts {owner}"))

    changes = write(tmp_path, "changes.yaml", "labels: {singular: Animal}\ndescription: Furry\n")
    ok(run(db_url, f"objects update pets --file {changes}"))
    shown = as_json(run(db_url, "--json objects show pets"))
    assert (shown["labels"]["singular"], shown["description"]) == ("Animal", "Furry")
    names = [o["name"] for o in as_json(run(db_url, "--json objects list"))]
    assert "pets" in names
    assert "contacts" in names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: pets\nlabels: {singular: Pet\n", "invalid YAML at line 3"),
        (
            PETS_SCHEMA.replace("    hasUniqueValue", "    hasUniqueValu"),
            "properties[2].hasUniqueValu: unknown key; did you mean 'hasUniqueValue'? (line 16)",
        ),
        (
            PETS_SCHEMA.replace("    type: enumeration", "    type: 5"),
            "properties[1].type: Input should be 'string', 'number', 'date', 'datetime', "
            "'enumeration' or 'bool'; got 5 (line 10)",
        ),
        (
            PETS_SCHEMA.replace("labels: {singular: Pet, plural: Pets}\n", ""),
            "labels: required key is missing",
        ),
        (
            PETS_SCHEMA.replace("[pet_name]", "pet_name"),
            "requiredProperties: Input should be a valid list, got a text (line 4)",
        ),
        ("- just\n- a list\n", "(top level): expected a mapping with keys such as name, labels"),
        ("# " + "x" * MAX_FILE_BYTES, "larger than the 1 MB limit"),
    ],
    ids=["yaml", "unknown-key", "wrong-type", "missing-key", "not-a-list", "not-a-map", "size"],
)
def test_bad_schema_file_is_refused_naming_file_and_key(
    db_url: str, tmp_path: Path, text: str, expected: str
) -> None:
    schema = write(tmp_path, "schema.yaml", text)
    line = refused(run(db_url, f"objects create --file {schema}"))
    assert line.startswith(f"error: {schema}: ")
    assert expected in line
    assert refused(run(db_url, "objects show pets")).startswith("error: no object 'pets'")


def test_schema_file_with_several_problems_reports_each(db_url: str, tmp_path: Path) -> None:
    text = PETS_SCHEMA.replace("name: pets\n", "").replace("label: Pet name", "lable: Pet name")
    schema = write(tmp_path, "schema.yaml", text)
    result = run(db_url, f"objects create --file {schema}")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {schema}: name: required key is missing (line 1)",
        f"error: {schema}: properties[0].lable: unknown key; did you mean 'label'? (line 7)",
    ]


# ---------------------------------------------------------------- properties


def test_property_options_update_reports_orphaned_values(db_url: str) -> None:
    options = "--option gold=Gold --option silver=Silver --option bronze=Bronze"
    ok(run(db_url, f"{TIER} --field-type select {options}"))
    gold = create(db_url, "contacts", email="g@example.com", tier="gold")
    silver = create(db_url, "contacts", email="s@example.com", tier="silver")

    result = run(
        db_url, "properties update contacts tier --option gold=Gold --option bronze=Bronze"
    )
    assert result.exit_code == 0
    assert result.stderr == (
        "warning: contacts.tier: 1 stored value(s) no longer match an option: "
        f"record {silver}: 'silver'\n"
    )
    changes = "--add-option platinum=Platinum --hide-option bronze --label 'Loyalty tier'"
    shown = as_json(run(db_url, f"--json properties update contacts tier {changes}"))
    assert shown["label"] == "Loyalty tier"
    assert [(o["value"], o["hidden"]) for o in shown["options"]] == [
        ("gold", False),
        ("bronze", True),
        ("platinum", False),
    ]
    assert shown["invalidValues"] == [{"recordId": silver, "value": "silver"}]
    assert "no option 'tin' to hide" in refused(
        run(db_url, "properties update contacts tier --hide-option tin")
    )
    got = as_json(run(db_url, f"--json records get contacts {gold}"))
    assert got["properties"]["tier"] == "gold"


def test_property_archive_list_and_restore(db_url: str) -> None:
    ok(run(db_url, "properties create contacts --name shoe_size --type number --field-type number"))
    shown = as_json(run(db_url, "--json properties show contacts shoe_size"))
    assert (shown["label"], shown["type"], shown["builtin"]) == ("Shoe Size", "number", False)
    ok(run(db_url, "properties archive contacts shoe_size"))
    live = as_json(run(db_url, "--json properties list contacts"))
    assert "shoe_size" not in [p["name"] for p in live]
    archived = as_json(run(db_url, "--json properties list contacts --archived"))
    assert [p["name"] for p in archived] == ["shoe_size"]
    assert "--restore" in refused(run(db_url, "records create contacts --set shoe_size=42"))
    assert "(restored)" in ok(run(db_url, "properties update contacts shoe_size --restore"))
    create(db_url, "contacts", shoe_size="42")


def test_property_export_csv(db_url: str, tmp_path: Path) -> None:
    options = "--option gold=Gold --option 'silver=Silver tier'"
    ok(run(db_url, f"{TIER} --field-type radio {options} --description 'Loyalty tier'"))
    out = tmp_path / "props.csv"
    assert f"to {out}" in ok(run(db_url, f"properties export contacts -o {out}"))
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = {row["name"]: row for row in reader}
    assert reader.fieldnames == [
        "name",
        "label",
        "type",
        "fieldType",
        "groupName",
        "description",
        "options",
        "unique",
        "readOnly",
        "builtin",
    ]
    assert rows["tier"] == {
        "name": "tier",
        "label": "Tier",
        "type": "enumeration",
        "fieldType": "radio",
        "groupName": "contactinformation",
        "description": "Loyalty tier",
        "options": "gold=Gold;silver=Silver tier",
        "unique": "false",
        "readOnly": "false",
        "builtin": "false",
    }
    assert (rows["email"]["unique"], rows["email"]["builtin"]) == ("true", "true")
    assert rows["hs_object_id"]["readOnly"] == "true"
    assert len(rows) == len(as_json(run(db_url, "--json properties list contacts")))


# ---------------------------------------------------------------- associations and labels


def test_associations_with_primary_label_update_counts(db_url: str) -> None:
    contact = create(db_url, "contacts", email="c@example.com")
    company = create(db_url, "companies", name="Acme", domain="acme.example")
    pair = f"contacts {contact} companies {company}"
    out = ok(run(db_url, f"associations create {pair} --label primary"))
    assert out == f"associated contacts {contact} → companies {company} as Primary\n"
    links = as_json(run(db_url, f"--json associations list companies {company}"))
    assert [(a["toObject"], a["toId"]) for a in links] == [("contacts", contact)]
    assert {x["label"] for x in links[0]["labels"]} == {None, "Primary"}
    got = as_json(run(db_url, f"--json records get companies {company}"))
    assert got["properties"]["num_associated_contacts"] == "1"

    ok(run(db_url, f"associations remove {pair} --label Primary"))
    left = as_json(run(db_url, f"--json associations list contacts {contact}"))
    assert [x["label"] for x in left[0]["labels"]] == [None]
    ok(run(db_url, f"associations remove {pair}"))
    assert as_json(run(db_url, f"--json associations list contacts {contact}")) == []
    got = as_json(run(db_url, f"--json records get companies {company}"))
    assert got["properties"]["num_associated_contacts"] == "0"
    line = refused(run(db_url, f"associations create {pair} --label Boss"))
    assert "no association label 'Boss' from contacts to companies" in line


@pytest.mark.parametrize(
    ("obj", "label", "inverse"),
    [("contacts", "Manager", "Employee"), ("companies", "Holding", "Subsidiary")],
    ids=["contacts", "companies"],
)
def test_labels_with_inverse_read_from_each_side(
    db_url: str, obj: str, label: str, inverse: str
) -> None:
    created = as_json(
        run(db_url, f"--json labels create {obj} {obj} --label {label} --inverse {inverse}")
    )
    assert sorted(x["label"] for x in created) == sorted([label, inverse])
    first, second = (create(db_url, obj) for _ in range(2))
    ok(run(db_url, f"associations create {obj} {first} {obj} {second} --label {label}"))
    from_first = as_json(run(db_url, f"--json associations list {obj} {first}"))
    from_second = as_json(run(db_url, f"--json associations list {obj} {second}"))
    assert [(a["toId"], {x["label"] for x in a["labels"]}) for a in from_first] == [
        (second, {None, label})
    ]
    assert [(a["toId"], {x["label"] for x in a["labels"]}) for a in from_second] == [
        (first, {None, inverse})
    ]
    listed = as_json(run(db_url, f"--json labels list {obj} {obj}"))
    assert {label, inverse} <= {x["label"] for x in listed}
    assert "already exists" in refused(run(db_url, f"labels create {obj} {obj} --label {label}"))


# ---------------------------------------------------------------- journal


def test_journal_lists_writes_in_order(db_url: str) -> None:
    record_id = create(db_url, "contacts", email="j@example.com")
    ok(run(db_url, f"records update contacts {record_id} --set firstname=Jo"))
    ok(run(db_url, f"records archive contacts {record_id}"))
    entries = as_json(run(db_url, "--json journal"))
    assert [(e["seq"], e["op"], e["recordId"]) for e in entries] == [
        (1, "create", record_id),
        (2, "update", record_id),
        (3, "archive", record_id),
    ]
    assert entries[1]["changes"] == {"firstname": [None, "Jo"]}
    assert [e["seq"] for e in as_json(run(db_url, "--json journal --after 1"))] == [2, 3]
    table = ok(run(db_url, "journal --limit 2"))
    assert "firstname: None → 'Jo'" in table
    assert "CRM_UI (cli)" in table
    assert "archive" not in table


# ---------------------------------------------------------------- the real process


def _syncd(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SYNCD_DB", "SYNCD_DEBUG")}
    return subprocess.run(
        [sys.executable, "-m", "syncd", *shlex.split(command)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_console_script_exit_codes_on_sqlite(tmp_path: Path) -> None:
    db = f"--db sqlite:///{tmp_path / 'cli.db'}"
    created = _syncd(f"{db} records create contacts --set email=a@b.example", tmp_path)
    assert (created.returncode, created.stderr) == (0, "")
    record_id = int(created.stdout)

    duplicate = _syncd(f"{db} records create contacts --set email=a@b.example", tmp_path)
    assert duplicate.returncode == 1
    assert duplicate.stderr == (
        f"error: contacts.email: 'a@b.example' already belongs to record {record_id}\n"
    )
    bad_id = _syncd(f"{db} records get contacts x1", tmp_path)
    assert bad_id.returncode == 2
    assert "Invalid value for 'ID'" in bad_id.stderr
    assert "Traceback" not in bad_id.stderr


def test_console_script_refuses_broken_config_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "syncd.yaml").write_text("store:\n  url: [unclosed\n", encoding="utf-8")
    result = _syncd("records list contacts", tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: syncd.yaml: invalid YAML at line 3")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "syncd.db").exists()  # no store was opened on a guess

    (tmp_path / "syncd.yaml").write_text(f"store: {{url: 'sqlite:///{tmp_path}/c.db'}}\n")
    listed = _syncd("--json records list contacts", tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"results": [], "paging": None}
