"""Bulk edits on SQLite and PostgreSQL: ``Store.bulk_update`` and ``records update --filter``."""

from __future__ import annotations

import shlex

import pytest

from store import (
    ChangeSource,
    DuplicateError,
    FilterGroup,
    NotFoundError,
    SearchError,
    SourceType,
    Store,
    StoreError,
    parse_filter_expression,
)
from syncd.cli import app
from syncd.cli import records as records_cli
from tests.conftest import API
from tests.integration._store_helpers import contact
from tests.integration.test_cli import as_json, create, ok, refused, run, runner, usage_error

BULK = ChangeSource(SourceType.BULK_EDIT, "cli")


def where(*expressions: str) -> tuple[FilterGroup, ...]:
    return (FilterGroup(tuple(parse_filter_expression(e) for e in expressions)),)


def test_bulk_update_changes_every_match_in_batches(store: Store) -> None:
    leads = store.create_records(
        "contacts", [{"email": f"l{i}@x.com", "lifecyclestage": "lead"} for i in range(7)], API
    ).records
    other = contact(store, lifecyclestage="customer")
    store.update_record("contacts", leads[0].id, {"lastname": "Done"}, API)
    report = store.bulk_update(
        "contacts", where("lifecyclestage EQ lead"), {"lastname": "Done"}, BULK, batch=3
    )
    assert (report.matched, report.updated, report.unchanged, report.failed) == (7, 6, 1, 0)
    got = store.get_records("contacts", [r.id for r in leads] + [other.id])
    assert {got[r.id].properties["lastname"] for r in leads} == {"Done"}
    assert "lastname" not in got[other.id].properties
    history = store.property_history("contacts", leads[1].id, "lastname")
    assert (history[0].source_type, history[0].source_id) == (SourceType.BULK_EDIT, "cli")


def test_bulk_update_partial_failures_stop_nothing(store: Store) -> None:
    ids = [
        r.id
        for r in store.create_records(
            "contacts", [{"email": f"d{i}@x.com", "lifecyclestage": "lead"} for i in range(9)], API
        ).records
    ]
    # A unique value: the first record takes it, every other one is refused.
    report = store.bulk_update(
        "contacts",
        where("lifecyclestage EQ lead"),
        {"lastname": "Q", "email": "one@x.com"},
        BULK,
        batch=4,
    )
    assert (report.matched, report.updated, report.failed) == (9, 1, 8)
    assert len(report.failures) == 5  # the first examples only
    assert [rid for rid, _ in report.failures] == ids[1:6]
    assert all("one@x.com" in str(exc) for _, exc in report.failures)
    assert any(isinstance(exc, DuplicateError) for _, exc in report.failures)
    assert store.get_record("contacts", ids[0]).properties["email"] == "one@x.com"
    assert "lastname" not in store.get_record("contacts", ids[1]).properties


def test_bulk_update_with_or_groups_and_no_matches(store: Store) -> None:
    a = contact(store, lifecyclestage="lead")
    b = contact(store, firstname="Zed")
    contact(store)
    groups = (*where("lifecyclestage EQ lead"), *where("firstname EQ zed"))
    report = store.bulk_update("contacts", groups, {"lastname": "X"}, BULK)
    assert (report.matched, report.updated) == (2, 2)
    assert store.get_record("contacts", a.id).properties["lastname"] == "X"
    assert store.get_record("contacts", b.id).properties["lastname"] == "X"
    none = store.bulk_update("contacts", where("firstname EQ nobody"), {"lastname": "X"}, BULK)
    assert (none.matched, none.updated, none.failed) == (0, 0, 0)


def test_bulk_update_does_not_chase_records_it_makes_match(store: Store) -> None:
    a = contact(store, lifecyclestage="lead")
    report = store.bulk_update(
        "contacts", where("lifecyclestage EQ lead"), {"lifecyclestage": "customer"}, BULK
    )
    assert (report.matched, report.updated) == (1, 1)
    assert store.get_record("contacts", a.id).properties["lifecyclestage"] == "customer"


@pytest.mark.parametrize(
    ("object_name", "groups", "properties", "error", "message"),
    [
        ("nope", (), {"a": "1"}, NotFoundError, "nope"),
        ("contacts", where("nope EQ 1"), {"lastname": "x"}, SearchError, "no property 'nope'"),
        ("contacts", (), {"lastnme": "x"}, NotFoundError, "did you mean 'lastname'"),
        ("contacts", (), {}, StoreError, "nothing to change"),
    ],
    ids=["unknown-object", "unknown-filter-property", "unknown-set-property", "nothing-to-set"],
)
def test_bulk_update_refusals(
    store: Store,
    object_name: str,
    groups: tuple[FilterGroup, ...],
    properties: dict[str, str],
    error: type[Exception],
    message: str,
) -> None:
    a = contact(store)
    with pytest.raises(error, match=message):
        store.bulk_update(object_name, groups, properties, BULK)
    assert store.get_record("contacts", a.id).updated_at == a.updated_at


# ------------------------------------------------------------------ CLI


def lastnames(db_url: str, ids: list[int]) -> list[str | None]:
    return [
        as_json(run(db_url, f"--json records get contacts {i}"))["properties"].get("lastname")
        for i in ids
    ]


def test_cli_bulk_edit_with_yes(db_url: str) -> None:
    ids = [create(db_url, "contacts", email=f"c{i}@x.com", lifecyclestage="lead") for i in range(3)]
    other = create(db_url, "contacts", email="o@x.com")
    out = ok(
        run(
            db_url,
            "records update contacts --filter 'lifecyclestage EQ lead' --set lastname=Z --yes",
        )
    )
    assert "contacts: 3 updated, 0 unchanged, 0 failed (of 3 matching)" in out
    assert lastnames(db_url, [*ids, other]) == ["Z", "Z", "Z", None]
    again = as_json(
        run(db_url, "--json records update contacts -f 'lifecyclestage EQ lead' -s lastname=Z -y")
    )
    assert again == {
        "object": "contacts",
        "matched": 3,
        "updated": 0,
        "unchanged": 3,
        "failed": 0,
        "failures": [],
    }
    journal = as_json(run(db_url, "--json journal"))
    sources = {(e["sourceType"], e["sourceId"]) for e in journal if e["op"] == "update"}
    assert sources == {("BULK_EDIT", "cli")}


def test_cli_bulk_edit_without_a_terminal_or_yes_is_refused(db_url: str) -> None:
    a = create(db_url, "contacts", email="a@x.com", lifecyclestage="lead")
    line = refused(run(db_url, "records update contacts -f 'lifecyclestage EQ lead' -s lastname=Z"))
    assert "1 contacts records match; pass --yes to change them" in line
    assert lastnames(db_url, [a]) == [None]


@pytest.mark.parametrize(
    ("answer", "changed"),
    [("y\n", True), ("n\n", False), ("\n", False)],
    ids=["yes", "no", "default"],
)
def test_cli_bulk_edit_asks_first(
    db_url: str, monkeypatch: pytest.MonkeyPatch, answer: str, changed: bool
) -> None:
    a = create(db_url, "contacts", email="a@x.com", lifecyclestage="lead")
    b = create(db_url, "contacts", email="b@x.com", lifecyclestage="lead")
    monkeypatch.setattr(records_cli, "can_prompt", lambda: True)
    result = runner.invoke(
        app,
        [
            "--db",
            db_url,
            *shlex.split("records update contacts -f 'lifecyclestage EQ lead' -s lastname=Z"),
        ],
        input=answer,
    )
    assert "Set lastname='Z' on 2 contacts records?" in result.stderr
    if changed:
        assert result.exit_code == 0, result.output
        assert "2 updated" in result.stdout
    else:
        assert result.exit_code == 1
        assert "not confirmed; nothing changed" in result.stderr
    assert lastnames(db_url, [a, b]) == (["Z", "Z"] if changed else [None, None])


def test_cli_bulk_edit_partial_failure_reports_and_exits_1(db_url: str) -> None:
    ids = [create(db_url, "contacts", email=f"c{i}@x.com", lifecyclestage="lead") for i in range(3)]
    result = run(
        db_url,
        "records update contacts -f 'lifecyclestage EQ lead' -s email=same@x.com -s lastname=Q --yes",
    )
    assert result.exit_code == 1
    assert "contacts: 1 updated, 0 unchanged, 2 failed (of 3 matching)" in result.stdout
    assert result.stderr.startswith("error: 2 contacts records not changed, e.g. ")
    assert f"{ids[1]}: " in result.stderr and "same@x.com" in result.stderr
    assert lastnames(db_url, ids) == ["Q", None, None]


def test_cli_bulk_edit_with_no_match(db_url: str) -> None:
    create(db_url, "contacts", email="a@x.com")
    out = ok(run(db_url, "records update contacts -f 'lifecyclestage EQ lead' -s lastname=Z"))
    assert "no contacts records match; nothing to change" in out


def test_cli_single_record_update_still_works(db_url: str) -> None:
    a = create(db_url, "contacts", email="a@x.com")
    out = ok(run(db_url, f"records update contacts {a} --set lastname=Solo"))
    assert "Solo" in out
    assert lastnames(db_url, [a]) == ["Solo"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("records update contacts 1 -f 'email HAS_PROPERTY' -s lastname=Z", "not both"),
        ("records update contacts -s lastname=Z", "give a record ID, or --filter"),
        ("records update contacts -f 'email HAS_PROPERTY'", "nothing to change"),
        ("records update contacts -f 'email' -s lastname=Z --yes", "expected PROPERTY OPERATOR"),
    ],
    ids=["id-and-filter", "neither", "no-set", "bad-filter"],
)
def test_cli_bulk_edit_usage_errors(db_url: str, command: str, message: str) -> None:
    assert message in usage_error(run(db_url, command))


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("records update contacts -f 'nope EQ 1' -s lastname=Z --yes", "no property 'nope'"),
        ("records update contacts -f 'email HAS_PROPERTY' -s lastnme=Z --yes", "did you mean"),
        ("records update nope -f 'email HAS_PROPERTY' -s lastname=Z --yes", "nope"),
    ],
    ids=["unknown-filter-property", "unknown-set-property", "unknown-object"],
)
def test_cli_bulk_edit_refusals(db_url: str, command: str, message: str) -> None:
    create(db_url, "contacts", email="a@x.com")
    assert message in refused(run(db_url, command))
