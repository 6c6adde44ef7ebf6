"""Column matching, the formula guard and error types: pure rules, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.csv.columns import (
    error_type,
    guard_formula,
    match_columns,
    normalise_header,
    unguard_formula,
)
from store.errors import DuplicateError, NotFoundError, ValidationError
from store.models import OptionSpec, PropertyDef

_T = datetime(2024, 1, 1, tzinfo=UTC)


def prop(
    name: str,
    label: str,
    type_: str = "string",
    field_type: str = "text",
    *,
    read_only: bool = False,
    unique: bool = False,
    format_: str | None = None,
    obj: str = "contacts",
) -> PropertyDef:
    return PropertyDef(
        object=obj,
        name=name,
        label=label,
        type=type_,
        field_type=field_type,
        group=None,
        description="",
        options=(OptionSpec("lead", "Lead"),) if type_ == "enumeration" else (),
        unique=unique,
        read_only=read_only,
        format=format_,
        builtin=True,
        archived=False,
        display_order=0,
        created_at=_T,
        updated_at=_T,
    )


CONTACTS = {
    p.name: p
    for p in (
        prop("email", "Email", unique=True, format_="email"),
        prop("firstname", "First Name"),
        prop("lastname", "Last Name"),
        prop("hs_object_id", "Record ID", "number", "number", read_only=True),
        prop("createdate", "Create Date", "datetime", "date", read_only=True),
        prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio"),
        prop("city", "Ville"),
    )
}
COMPANIES = {
    p.name: p
    for p in (
        prop("domain", "Company Domain Name", unique=True, format_="domain", obj="companies"),
        prop("name", "Name", obj="companies"),
    )
}
OBJECTS = {"contacts": CONTACTS, "companies": COMPANIES}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Email", "email"),
        ("  First   Name ", "first name"),
        ("Prénom", "prenom"),
        ("ÉMAIL", "email"),
        ("Straße", "strasse"),
        ("ﬁrst", "first"),  # NFKD folds the ligature
    ],
    ids=["case", "spaces", "accent", "upper-accent", "casefold-sharp-s", "ligature"],
)
def test_normalise_header(raw: str, expected: str) -> None:
    assert normalise_header(raw) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("email", ("contacts", "email", None)),
        ("EMAIL", ("contacts", "email", None)),
        ("First Name", ("contacts", "firstname", None)),
        ("ville", ("contacts", "city", None)),
        ("Vîlle", ("contacts", "city", None)),
        ("Record ID", ("contacts", "hs_object_id", None)),
        ("hs_object_id", ("contacts", "hs_object_id", None)),
        ("Create Date", ("contacts", "createdate", "read-only")),
        ("Favourite colour", (None, None, "unmatched")),
    ],
    ids=[
        "name",
        "name-upper",
        "label",
        "label-other-language",
        "label-accent",
        "record-id-label",
        "record-id-name",
        "read-only-skipped",
        "unmatched",
    ],
)
def test_header_matches_by_name_or_label(
    header: str, expected: tuple[str | None, str | None, str | None]
) -> None:
    plan = match_columns([header], "contacts", OBJECTS)
    col = plan.columns[0]
    assert (col.object, col.prop, col.skipped) == expected
    assert plan.problems == ()


def test_mapping_wins_and_reaches_another_object() -> None:
    plan = match_columns(
        ["E-mail address", "Company domain", "Notes", "email2"],
        "contacts",
        OBJECTS,
        {"e-mail ADDRESS": "email", "Company domain": "companies.domain", "Notes": "ignore"},
    )
    got = [(c.object, c.prop, c.skipped) for c in plan.columns]
    assert got == [
        ("contacts", "email", None),
        ("companies", "domain", None),
        (None, None, "ignored"),
        (None, None, "unmatched"),
    ]
    assert plan.objects() == ("contacts", "companies")
    assert [c.name for c in plan.unmatched] == ["email2"]


@pytest.mark.parametrize(
    ("headers", "mapping", "problem"),
    [
        (["Email", "email"], {}, "duplicate column name 'email'"),
        (["Prénom", "prenom"], {}, "duplicate column name"),
        (["Email"], {"Mail": "email"}, "the file does not have"),
        (["Mail"], {"Mail": "nosuch"}, "has no property 'nosuch'"),
        (["Mail"], {"Mail": "deals.amount"}, "not part of this import"),
        (["Mail"], {"Mail": "createdate"}, "read-only"),
        (["Email", "Mail"], {"Mail": "email"}, "both feed contacts.email"),
    ],
    ids=[
        "duplicate-header",
        "duplicate-after-normalising",
        "mapping-unknown-column",
        "mapping-unknown-property",
        "mapping-unknown-object",
        "mapping-read-only",
        "two-columns-one-property",
    ],
)
def test_plan_problems(headers: list[str], mapping: dict[str, str], problem: str) -> None:
    plan = match_columns(headers, "contacts", OBJECTS, mapping)
    assert any(problem in p for p in plan.problems), plan.problems


@pytest.mark.parametrize(
    ("value", "guarded"),
    [
        ("=1+1", "'=1+1"),
        ("+33 1 23", "'+33 1 23"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=1", "''=1"),
        ("'hello", "'hello"),
        ("plain", "plain"),
        ("", ""),
        ("'", "'"),
        ("a=b", "a=b"),
    ],
    ids=[
        "equals",
        "plus",
        "minus",
        "at",
        "tab",
        "cr",
        "already-apostrophe-formula",
        "apostrophe-text",
        "plain",
        "empty",
        "lone-apostrophe",
        "equals-inside",
    ],
)
def test_formula_guard(value: str, guarded: str) -> None:
    assert guard_formula(value) == guarded
    assert unguard_formula(guarded) == value


@given(st.text())
def test_unguard_undoes_guard_for_every_string(value: str) -> None:
    assert unguard_formula(guard_formula(value)) == value


@given(st.text())
def test_a_guarded_cell_never_starts_with_a_trigger(value: str) -> None:
    assert guard_formula(value)[:1] not in set("=+-@\t\r")


_EMAIL = CONTACTS["email"]
_STAGE = CONTACTS["lifecyclestage"]
_NUMBER = prop("amount", "Amount", "number", "number", obj="deals")
_DATE = prop("closedate", "Close Date", "datetime", "date", obj="deals")


@pytest.mark.parametrize(
    ("exc", "definition", "expected"),
    [
        (ValidationError("contacts", "email", "x", "not an email"), _EMAIL, "INVALID_EMAIL"),
        (
            ValidationError("contacts", "s", "x", "not an option"),
            _STAGE,
            "INVALID_ENUMERATION_OPTION",
        ),
        (
            ValidationError("deals", "amount", "x", "expected a number"),
            _NUMBER,
            "COULD_NOT_PARSE_NUMBER",
        ),
        (ValidationError("deals", "closedate", "x", "expected ISO"), _DATE, "COULD_NOT_PARSE_DATE"),
        (
            ValidationError("deals", "dealname", None, "required: every"),
            None,
            "MISSING_REQUIRED_PROPERTY",
        ),
        (
            DuplicateError("contacts", "email", "a@b.c", 7),
            _EMAIL,
            "DUPLICATE_UNIQUE_PROPERTY_VALUE",
        ),
        (
            ValidationError("contacts", "email", "a", "the same value is in input 3 of this batch"),
            _EMAIL,
            "DUPLICATE_UNIQUE_PROPERTY_VALUE",
        ),
        (ValidationError("contacts", "city", "x", "longer than 65536"), None, "VALUE_TOO_LONG"),
        (NotFoundError("no contacts record 9"), None, "UNKNOWN_RECORD_ID"),
    ],
    ids=["email", "enum", "number", "date", "required", "duplicate", "dup-in-batch", "long", "id"],
)
def test_error_types(exc: Exception, definition: PropertyDef | None, expected: str) -> None:
    assert error_type(exc, definition) == expected
