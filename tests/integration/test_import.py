"""CSV import on both databases: matching, modes, the error report, sources, multi-object."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from store import (
    AssociateSpec,
    CsvFileError,
    ImportRequest,
    PropertySpec,
    SourceType,
    Store,
    import_csv,
)
from store.db import tables as t
from tests.conftest import API
from tests.integration._import_helpers import by_email, report_rows, run, write_csv
from tests.integration._store_helpers import contact, labels_between


def test_rows_are_matched_by_name_or_label_and_written_with_the_import_source(
    store: Store, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "c.csv",
        [
            ["EMAIL", "Prénom", "Last Name", "Lifecycle Stage", "Shoe size"],
            ["ann@example.com", "Ann", "Lee", "lead", "38"],
            ["bob@example.com", "Bob", "", "customer", "44"],
        ],
    )
    summary = run(store, path, mapping={"Prénom": "firstname"})
    assert (summary.status, summary.rows, summary.created, summary.failed) == ("DONE", 2, 2, 0)
    assert summary.details["skipped_columns"] == {"Shoe size": "unmatched"}
    ann = by_email(store, "ann@example.com")
    assert (ann["firstname"], ann["lastname"], ann["lifecyclestage"]) == ("Ann", "Lee", "lead")
    assert "lastname" not in by_email(store, "bob@example.com")  # an empty cell sets nothing
    history = store.property_history("contacts", int(ann["hs_object_id"]), "firstname")
    assert (history[0].source_type, history[0].source_id) == (
        SourceType.IMPORT,
        f"import-{summary.id}",
    )
    assert store.get_import(summary.id) == summary
    assert [s.id for s in store.list_imports()] == [summary.id]


# One row per case: the object, mode, header, the bad row, the error type and its column.
ERROR_CASES = [
    ("contacts", "create", ["email"], ["not-an-email"], "INVALID_EMAIL", "email"),
    (
        "contacts", "create", ["email", "lifecyclestage"], ["a@x.com", "nope"],
        "INVALID_ENUMERATION_OPTION", "lifecyclestage",
    ),
    (
        "deals", "create", ["dealname", "dealstage", "amount"], ["D", "closedwon", "12,5"],
        "COULD_NOT_PARSE_NUMBER", "amount",
    ),
    (
        "deals", "create", ["dealname", "dealstage", "closedate"], ["D", "closedwon", "31/12/2024"],
        "COULD_NOT_PARSE_DATE", "closedate",
    ),
    (
        "deals", "create", ["dealname", "dealstage", "amount"], ["D", "", "5"],
        "MISSING_REQUIRED_PROPERTY", "dealstage",
    ),
    ("contacts", "create", ["email"], ["taken@example.com"], "DUPLICATE_UNIQUE_PROPERTY_VALUE", "email"),
    ("contacts", "create", ["email", "firstname"], ["a@x.com"], "INCORRECT_NUMBER_OF_COLUMNS", ""),
    ("contacts", "create", ["email"], ["a@x.com", "extra"], "INCORRECT_NUMBER_OF_COLUMNS", ""),
    ("contacts", "update", ["email", "firstname"], ["nobody@x.com", "N"], "UPDATE_ONLY_IMPORT", ""),
    ("contacts", "update", ["Record ID", "firstname"], ["999999", "N"], "UNKNOWN_RECORD_ID", ""),
    ("contacts", "update", ["Record ID", "firstname"], ["abc", "N"], "INVALID_OBJECT_ID", "Record ID"),
    ("contacts", "create", ["firstname"], ["x" * 70_000], "VALUE_TOO_LONG", "firstname"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("object_name", "mode", "header", "bad", "kind", "column"),
    ERROR_CASES,
    ids=[
        "invalid-email", "unknown-option", "bad-number", "bad-date", "missing-required",
        "duplicate", "too-few-cells", "too-many-cells", "update-only", "unknown-record-id",
        "record-id-not-a-number", "value-too-long",
    ],
)  # fmt: skip
def test_a_failing_row_is_reported_and_the_others_are_imported(
    store: Store,
    tmp_path: Path,
    object_name: str,
    mode: str,
    header: list[str],
    bad: list[str],
    kind: str,
    column: str,
) -> None:
    taken = contact(store, "taken@example.com")

    def good(n: int) -> list[str]:
        values = {
            "email": "taken@example.com" if mode == "update" else f"good{n}@example.com",
            "Record ID": str(taken.id),
            "firstname": "G",
            "dealname": f"Good {n}",
            "dealstage": "closedwon",
            "amount": "1",
        }
        return [values.get(h, "") for h in header]

    path = write_csv(tmp_path / "in.csv", [header, good(1), bad, good(2)])
    summary = run(store, path, object_name, mode=mode)
    assert summary.failed == 1 and summary.rows == 3
    (row,) = report_rows(summary)
    assert (row["row"], row["line"], row["errorType"], row["column"]) == ("2", "3", kind, column)
    assert row["reason"]
    assert summary.created + summary.updated + summary.unchanged == 2


def test_upsert_by_email_updates_and_creates(store: Store, tmp_path: Path) -> None:
    existing = contact(store, "Old@Example.com", firstname="Old")
    path = write_csv(
        tmp_path / "c.csv",
        [["Email", "First Name"], ["old@example.com", "New"], ["fresh@example.com", "F"]],
    )
    summary = run(store, path)
    assert (summary.created, summary.updated) == (1, 1)
    assert store.get_record("contacts", existing.id).properties["firstname"] == "New"


def test_upsert_by_record_id_and_by_a_custom_unique_property(store: Store, tmp_path: Path) -> None:
    store.create_property("contacts", PropertySpec("badge", "Badge", unique=True))
    a = contact(store, "a@example.com", badge="B-1")
    by_id = write_csv(tmp_path / "id.csv", [["Record ID", "City"], [str(a.id), "Oslo"]])
    assert run(store, by_id, mode="update").updated == 1
    by_badge = write_csv(tmp_path / "b.csv", [["badge", "city"], ["b-1", "Rome"], ["B-2", "Nice"]])
    summary = run(store, by_badge, id_property="badge")
    assert (summary.updated, summary.created) == (1, 1)
    assert store.get_record("contacts", a.id).properties["city"] == "Rome"


def test_a_record_named_twice_in_one_batch_is_updated_twice_in_file_order(
    store: Store, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "c.csv",
        [["email", "city"], ["a@x.com", "One"], ["b@x.com", "B"], ["A@x.com", "Two"]],
    )
    summary = run(store, path)
    assert (summary.created, summary.updated, summary.failed) == (2, 1, 0)
    assert by_email(store, "a@x.com")["city"] == "Two"


def test_duplicate_email_in_a_create_import_fails_the_second_row(
    store: Store, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "c.csv", [["email"], ["a@x.com"], ["a@x.com"]])
    summary = run(store, path, mode="create")
    assert (summary.created, summary.failed) == (1, 1)
    assert report_rows(summary)[0]["errorType"] == "DUPLICATE_UNIQUE_PROPERTY_VALUE"


def test_batches_write_many_rows_per_transaction(store: Store, tmp_path: Path) -> None:
    rows = [["email", "firstname"]] + [[f"p{i}@x.com", f"P{i}"] for i in range(1203)]
    path = write_csv(tmp_path / "c.csv", rows)
    summary = run(store, path, batch_size=500)
    assert (summary.rows, summary.created) == (1203, 1203)
    with store._engine.connect() as conn:
        changed_at = conn.execute(select(t.property_history.c.changed_at).distinct()).all()
    assert len(changed_at) == 3  # one transaction (one clock reading) per batch


def test_multi_object_rows_find_or_create_both_and_associate_with_a_label(
    store: Store, tmp_path: Path
) -> None:
    acme = store.create_record("companies", {"name": "Acme", "domain": "acme.com"}, API)
    path = write_csv(
        tmp_path / "m.csv",
        [
            ["Email", "First name", "Company domain", "Company name"],
            ["ann@acme.com", "Ann", "https://www.acme.com/", "Acme"],
            ["bob@globex.com", "Bob", "globex.com", "Globex"],
            ["cy@x.com", "Cy", "not a domain", "Bad"],
            ["dee@x.com", "Dee", "", ""],
        ],
    )
    summary = run(
        store,
        path,
        mapping={"Company domain": "companies.domain", "Company name": "companies.name"},
        associate=AssociateSpec("contacts", "companies", "Primary"),
    )
    assert (summary.created, summary.failed) == (3, 1)
    assert summary.details["other_objects"]["companies"] == {
        "created": 1,
        "updated": 1,  # Acme's domain is now written as the file gives it
        "unchanged": 0,
    }
    assert report_rows(summary)[0]["errorType"] == "INVALID_DOMAIN"
    ann = int(by_email(store, "ann@acme.com")["hs_object_id"])
    assert labels_between(store, "contacts", ann, "companies", acme.id) == {"(default)", "Primary"}
    globex = store.find_record("companies", "domain", "globex.com")
    bob = by_email(store, "bob@globex.com")
    assert bob["associatedcompanyid"] == str(globex.id)
    assert (
        store.list_associations("contacts", int(by_email(store, "dee@x.com")["hs_object_id"])) == []
    )


def test_unknown_association_label_refuses_the_file(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [["Email", "Domain"], ["a@x.com", "x.com"]])
    with pytest.raises(CsvFileError, match="ASSOCIATION_LABEL_NOT_FOUND"):
        run(
            store,
            path,
            mapping={"Domain": "companies.domain"},
            associate=AssociateSpec("contacts", "companies", "Boss"),
        )
    (failed,) = store.list_imports()
    assert failed.status == "FAILED" and "Boss" in failed.details["message"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strict": True}, "match no property (--strict): 'Shoe'"),
        ({"mode": "update", "mapping": {"Email": "ignore"}}, "needs a email column or a Record ID"),
        ({"id_property": "firstname"}, "contacts.firstname is not unique"),
        ({"mapping": {"Nope": "email"}}, "the file does not have"),
    ],
    ids=["strict-unmatched", "update-without-id", "id-property-not-unique", "mapping-bad-column"],
)
def test_file_wide_problems_refuse_the_import(
    store: Store, tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    path = write_csv(tmp_path / "c.csv", [["Email", "Shoe"], ["a@x.com", "3"]])
    with pytest.raises(CsvFileError, match=re.escape(message)):
        run(store, path, **options)
    assert store.list_records("contacts") == []


def test_progress_is_reported_per_batch_up_to_the_file_size(store: Store, tmp_path: Path) -> None:
    rows = [["email"]] + [[f"p{i}@x.com"] for i in range(1200)]
    path = write_csv(tmp_path / "c.csv", rows)
    seen: list[tuple[int, int]] = []
    import_csv(
        store,
        ImportRequest(path=path, object="contacts", batch_size=500),
        progress=lambda done, read: seen.append((done, read)),
    )
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (1200, path.stat().st_size)
    assert len(seen) <= 6  # once per batch, not per row


def test_many_rows_of_one_company_share_it(store: Store, tmp_path: Path) -> None:
    rows = [["Email", "Company domain", "Company name"]]
    rows += [[f"p{i}@acme.com", "acme.com", f"Acme {i}"] for i in range(5)]
    rows += [["q@x.com", "ACME.com", "Acme final"]]
    path = write_csv(tmp_path / "m.csv", rows)
    summary = run(
        store,
        path,
        mapping={"Company domain": "companies.domain", "Company name": "companies.name"},
        associate=AssociateSpec("contacts", "companies"),
    )
    assert (summary.created, summary.failed) == (6, 0)
    assert summary.details["other_objects"]["companies"]["created"] == 1
    acme = store.find_record("companies", "domain", "acme.com")
    assert acme.properties["name"] == "Acme final"
    assert acme.properties["num_associated_contacts"] == "6"
