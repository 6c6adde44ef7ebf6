"""Each transform, one value at a time: what it reads, what it writes back, what it refuses.

Tables of (transform, input, expected) with ids; every refusal must be a MappingError naming
the transform and the value, never a TypeError or ValueError from deep inside.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from mapping import (
    E164,
    SKIP,
    Boolean,
    Constant,
    DateFormat,
    DateTimeFormat,
    Default,
    EnumMap,
    Identity,
    Lowercase,
    MappingError,
    Number,
    SplitJoin,
    Transform,
    Trim,
    Uppercase,
)

HUGE = "9" * 1_000_000
STATUS = EnumMap(values={"active": "customer", "prospect": "lead", "trial": "lead"})

TO_CRM_OK: list[tuple[str, Transform, object, object]] = [
    ("identity-text", Identity(), "Ada", "Ada"),
    ("identity-none", Identity(), None, None),
    ("identity-int", Identity(), 42, "42"),
    ("identity-float", Identity(), 1.50, "1.5"),
    ("identity-bool", Identity(), True, "true"),
    ("lowercase", Lowercase(), "Ada@Example.COM", "ada@example.com"),
    ("lowercase-none", Lowercase(), None, None),
    ("uppercase", Uppercase(), "de", "DE"),
    ("trim", Trim(), "  Ada \n", "Ada"),
    ("trim-blank-clears", Trim(), "   ", None),
    ("e164-national-de", E164("DE"), "030 123456", "+4930123456"),
    ("e164-international", E164("US"), "+44 20 7946 0958", "+442079460958"),
    ("e164-us-default", E164(), "(202) 555-0143", "+12025550143"),
    ("e164-blank", E164(), "  ", None),
    ("e164-tel-uri", E164("US"), "tel:+45-1234-5678", "+4512345678"),
    ("date-german", DateFormat("%d.%m.%Y"), "31.12.2024", "2024-12-31"),
    ("date-iso", DateFormat(), "2024-02-29", "2024-02-29"),
    ("date-object", DateFormat("%d.%m.%Y"), date(2024, 1, 2), "2024-01-02"),
    ("date-empty", DateFormat(), "", None),
    (
        "datetime-berlin-winter",
        DateTimeFormat("%d.%m.%Y %H:%M", "Europe/Berlin"),
        "31.12.2024 10:00",
        "2024-12-31T09:00:00.000Z",
    ),
    (
        "datetime-berlin-summer",
        DateTimeFormat("%d.%m.%Y %H:%M", "Europe/Berlin"),
        "01.07.2024 10:00",
        "2024-07-01T08:00:00.000Z",
    ),
    (
        "datetime-iso-offset",
        DateTimeFormat(),
        "2024-05-01T09:30:00.123+02:00",
        "2024-05-01T07:30:00.123Z",
    ),
    (
        "datetime-iso-z",
        DateTimeFormat(timezone="Asia/Tokyo"),
        "2024-05-01T09:30:00Z",
        "2024-05-01T09:30:00.000Z",
    ),
    (
        "datetime-iso-naive-is-local",
        DateTimeFormat(timezone="Asia/Tokyo"),
        "2024-05-01T09:30:00",
        "2024-05-01T00:30:00.000Z",
    ),
    (
        "datetime-object-aware",
        DateTimeFormat(),
        datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=-5))),
        "2024-01-01T17:00:00.000Z",
    ),
    (
        "datetime-micro-truncated",
        DateTimeFormat(),
        "2024-05-01T09:30:00.123999Z",
        "2024-05-01T09:30:00.123Z",
    ),
    ("number-plain", Number(), "1234.50", "1234.5"),
    ("number-comma-grouped", Number(",", "."), "1.234,5", "1234.5"),
    ("number-comma-ungrouped", Number(",", "."), "1234,5", "1234.5"),
    ("number-dot-grouped", Number(".", ","), "-1,234,567.00", "-1234567"),
    ("number-space-grouped", Number(",", " "), "1 234,5", "1234.5"),
    ("number-zero", Number(), "-0.000", "0"),
    ("number-int", Number(), 10, "10"),
    ("number-float", Number(), 0.1, "0.1"),
    ("number-decimal", Number(), Decimal("1E+3"), "1000"),
    ("bool-yes", Boolean(), "Yes", "true"),
    ("bool-zero", Boolean(), "0", "false"),
    ("bool-int", Boolean(), 1, "true"),
    ("bool-real", Boolean(true=(True,), false=(False,)), False, "false"),
    ("bool-real-with-default-words", Boolean(), True, "true"),
    ("bool-custom", Boolean(true=("ja",), false=("nein",)), " NEIN ", "false"),
    ("enum-mapped", STATUS, "active", "customer"),
    ("enum-many-to-one", STATUS, "trial", "lead"),
    ("enum-int-key", EnumMap(values={1: "one"}), 1, "one"),
    ("enum-skip", EnumMap(values={"a": "b"}, unmapped="skip"), "zzz", SKIP),
    (
        "enum-default",
        EnumMap(values={"a": "b"}, unmapped="default", default="other"),
        "zzz",
        "other",
    ),
    ("split-name", SplitJoin(), "Ada King Lovelace", ("Ada", "King Lovelace")),
    ("split-right", SplitJoin(from_right=True), "Ada King Lovelace", ("Ada King", "Lovelace")),
    ("split-one-word", SplitJoin(), "Cher", ("Cher", None)),
    ("split-none", SplitJoin(), None, (None, None)),
    ("split-three", SplitJoin(",", 3), "a, b, c, d", ("a", "b", "c, d")),
    ("constant", Constant("shop"), "ignored", "shop"),
    ("constant-missing", Constant("shop"), None, "shop"),
    ("default-fills", Default("n/a"), None, "n/a"),
    ("default-keeps", Default("n/a"), "x", "x"),
]


@pytest.mark.parametrize(
    ("transform", "raw", "expected"), [c[1:] for c in TO_CRM_OK], ids=[c[0] for c in TO_CRM_OK]
)
def test_to_crm_reads(transform: Transform, raw: object, expected: object) -> None:
    assert transform.to_crm(raw) == expected


TO_EXTERNAL_OK: list[tuple[str, Transform, object, object]] = [
    ("identity", Identity(), "x", "x"),
    ("lowercase-is-identity", Lowercase(), "Ada", "Ada"),
    ("e164-is-identity", E164(), "+4930123456", "+4930123456"),
    ("date-german", DateFormat("%d.%m.%Y"), "2024-12-31", "31.12.2024"),
    ("date-old-year-four-digits", DateFormat("%d.%m.%Y"), "0099-01-02", "02.01.0099"),
    ("date-none", DateFormat(), None, None),
    (
        "datetime-berlin",
        DateTimeFormat("%d.%m.%Y %H:%M", "Europe/Berlin"),
        "2024-07-01T08:00:00.000Z",
        "01.07.2024 10:00",
    ),
    (
        "datetime-iso",
        DateTimeFormat(timezone="Asia/Tokyo"),
        "2024-05-01T00:30:00.000Z",
        "2024-05-01T09:30:00.000+09:00",
    ),
    ("number-comma", Number(",", "."), "-1234.5", "-1234,5"),
    ("number-dot", Number(), "7", "7"),
    ("bool-true", Boolean(), "true", "yes"),
    ("bool-false-native", Boolean(true=(True,), false=(False,)), "false", False),
    ("enum-reverse", STATUS, "customer", "active"),
    ("enum-reverse-first-wins", STATUS, "lead", "prospect"),
    ("enum-skip", EnumMap(values={"a": "b"}, unmapped="skip"), "zzz", SKIP),
    (
        "enum-external-default",
        EnumMap(values={"a": "b"}, unmapped="default", default="b", external_default="a"),
        "zzz",
        "a",
    ),
    ("split-join", SplitJoin(), ("Ada", "Lovelace"), "Ada Lovelace"),
    ("split-join-missing-last", SplitJoin(), ("Cher", None), "Cher"),
    ("split-join-all-none", SplitJoin(), (None, None), None),
]


@pytest.mark.parametrize(
    ("transform", "value", "expected"),
    [c[1:] for c in TO_EXTERNAL_OK],
    ids=[c[0] for c in TO_EXTERNAL_OK],
)
def test_to_external_writes(transform: Transform, value: object, expected: object) -> None:
    assert transform.to_external(value) == expected


TO_CRM_REFUSED: list[tuple[str, Transform, object]] = [
    ("identity-list", Identity(), ["a"]),
    ("identity-dict", Identity(), {"a": 1}),
    ("identity-nan", Identity(), float("nan")),
    ("lowercase-int", Lowercase(), 5),
    ("trim-bytes", Trim(), b"x"),
    ("e164-letters", E164(), "call me"),
    ("e164-too-short", E164("DE"), "1"),
    ("e164-huge", E164(), HUGE),
    ("e164-int", E164(), 4930123456),
    ("date-unparseable", DateFormat("%d.%m.%Y"), "2024-12-31"),
    ("date-feb-30", DateFormat(), "2024-02-30"),
    ("date-datetime", DateFormat(), datetime(2024, 1, 1, tzinfo=UTC)),
    ("date-int", DateFormat(), 20240101),
    ("date-huge", DateFormat(), HUGE),
    ("datetime-garbage", DateTimeFormat(), "yesterday"),
    ("datetime-wrong-format", DateTimeFormat("%d.%m.%Y %H:%M"), "2024-01-01 10:00"),
    ("datetime-float", DateTimeFormat(), 1.5),
    ("datetime-overflow", DateTimeFormat(timezone="Asia/Tokyo"), "0001-01-01T05:00:00"),
    ("number-1,2,3", Number(), "1,2,3"),
    ("number-1,2,3-grouped", Number(".", ","), "1,2,3"),
    ("number-bad-group", Number(",", "."), "12.34,5"),
    ("number-dot-when-comma", Number(",", "."), "1234.5"),
    ("number-arabic-digits", Number(), "\u0663"),
    ("number-two-decimals", Number(), "1.2.3"),
    ("number-letters", Number(), "12abc"),
    ("number-exponent", Number(), "1e5"),
    ("number-bool", Number(), True),
    ("number-inf", Number(), float("inf")),
    ("number-huge-text", Number(), HUGE),
    ("number-too-many-digits", Number(), Decimal("1e70")),
    ("number-list", Number(), [1]),
    ("bool-maybe", Boolean(), "maybe"),
    ("bool-float", Boolean(), 1.0),
    ("bool-two", Boolean(), 2),
    ("bool-huge", Boolean(), HUGE),
    ("enum-unknown-error", STATUS, "churned"),
    ("enum-unhashable", STATUS, ["active"]),
    ("split-int", SplitJoin(), 7),
    ("split-huge", SplitJoin(), "x" * 70_000),
]


@pytest.mark.parametrize(
    ("transform", "raw"), [c[1:] for c in TO_CRM_REFUSED], ids=[c[0] for c in TO_CRM_REFUSED]
)
def test_to_crm_refuses_as_record_error(transform: Transform, raw: object) -> None:
    with pytest.raises(MappingError) as caught:
        transform.to_crm(raw)
    assert caught.value.transform == transform.name
    assert caught.value.field is None
    assert len(str(caught.value)) < 1_000  # a hostile value never floods the log line


TO_EXTERNAL_REFUSED: list[tuple[str, Transform, object]] = [
    ("date-not-canonical", DateFormat("%d.%m.%Y"), "31.12.2024"),
    ("date-int", DateFormat(), 1),
    ("datetime-no-zone", DateTimeFormat(), "2024-01-01T10:00:00"),
    ("datetime-garbage", DateTimeFormat(), "soon"),
    ("datetime-int", DateTimeFormat(), 5),
    (
        "datetime-overflow",
        DateTimeFormat(timezone="Pacific/Kiritimati"),
        "9999-12-31T23:00:00.000Z",
    ),
    ("number-comma-input", Number(",", "."), "1,5"),
    ("number-not-text", Number(), 15),
    ("bool-yes", Boolean(), "yes"),
    ("enum-unmapped-error", STATUS, "other"),
    (
        "enum-default-without-external",
        EnumMap(values={"a": "b"}, unmapped="default", default="b"),
        "zzz",
    ),
    ("split-not-tuple", SplitJoin(), "Ada Lovelace"),
    ("split-wrong-count", SplitJoin(), ("a", "b", "c")),
    ("split-non-text", SplitJoin(), ("a", 1)),
]


@pytest.mark.parametrize(
    ("transform", "value"),
    [c[1:] for c in TO_EXTERNAL_REFUSED],
    ids=[c[0] for c in TO_EXTERNAL_REFUSED],
)
def test_to_external_refuses_as_record_error(transform: Transform, value: object) -> None:
    with pytest.raises(MappingError) as caught:
        transform.to_external(value)
    assert caught.value.transform == transform.name


def test_error_carries_data_for_logs() -> None:
    with pytest.raises(MappingError) as caught:
        Number().to_crm(HUGE)
    error = caught.value.for_field("amount")
    assert error.field == "amount"
    assert error.data == {"field": "amount", "value": error.value, "transform": "number"}
    assert isinstance(error.value, str) and len(error.value) < 300
    assert "amount" in str(error) and "number" in str(error)


INVERTIBLE = [
    ("identity", Identity(), True),
    ("lowercase", Lowercase(), False),
    ("uppercase", Uppercase(), False),
    ("trim", Trim(), False),
    ("e164", E164(), False),
    ("date", DateFormat(), True),
    ("datetime", DateTimeFormat(), True),
    ("number", Number(), True),
    ("boolean", Boolean(), True),
    ("enum-one-to-one", EnumMap(values={"a": "b"}), True),
    ("enum-many-to-one", STATUS, False),
    ("split", SplitJoin(), True),
    ("constant", Constant("x"), False),
]


@pytest.mark.parametrize(
    ("transform", "expected"), [c[1:] for c in INVERTIBLE], ids=[c[0] for c in INVERTIBLE]
)
def test_invertible_flag(transform: Transform, expected: bool) -> None:
    assert transform.invertible is expected


def test_ambiguous_local_hour_reads_the_first_instant() -> None:
    # Documented limit: 02:30 on 27 Oct 2024 happened twice in Berlin; without %z we read the first.
    berlin = DateTimeFormat("%Y-%m-%d %H:%M", "Europe/Berlin")
    assert berlin.to_crm("2024-10-27 02:30") == "2024-10-27T00:30:00.000Z"
    assert berlin.to_external("2024-10-27T01:30:00.000Z") == "2024-10-27 02:30"
