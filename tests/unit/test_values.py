"""Property values: every value checked against its definition, stored in one canonical form.

Pure: no database. The tables say what a writer may send and what is stored for it; the
hypothesis laws say that the stored form is a fixed point (storing it again changes nothing)
and that a number keeps its exact value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.errors import ValidationError
from store.models import OptionSpec, PropertyDef
from store.values import MAX_VALUE_LENGTH, canonical_value, normalise_domain, unique_key

_T0 = datetime(2024, 1, 1, tzinfo=UTC)


def make_prop(
    type_: str = "string",
    field_type: str = "text",
    *,
    name: str = "p",
    options: tuple[str, ...] = (),
    format: str | None = None,
) -> PropertyDef:
    return PropertyDef(
        object="things",
        name=name,
        label=name.title(),
        type=type_,
        field_type=field_type,
        group=None,
        description="",
        options=tuple(OptionSpec(v, v.title()) for v in options),
        unique=False,
        read_only=False,
        format=format,
        builtin=False,
        archived=False,
        display_order=0,
        created_at=_T0,
        updated_at=_T0,
    )


TEXT = make_prop()
NUMBER = make_prop("number", "number")
DATE = make_prop("date", "date")
DATETIME = make_prop("datetime", "date")
BOOL = make_prop("bool", "booleancheckbox")
SELECT = make_prop("enumeration", "select", options=("lead", "customer"))
CHECKBOX = make_prop("enumeration", "checkbox", options=("a", "b", "c"))
YES_NO = make_prop("enumeration", "booleancheckbox", options=("true", "false"))
EMAIL = make_prop(format="email", name="email")
DOMAIN = make_prop(format="domain", name="domain")
PHONE = make_prop(field_type="phonenumber", name="phone")

PROPS = {
    "text": TEXT,
    "number": NUMBER,
    "date": DATE,
    "datetime": DATETIME,
    "bool": BOOL,
    "select": SELECT,
    "checkbox": CHECKBOX,
    "yesno": YES_NO,
    "email": EMAIL,
    "domain": DOMAIN,
    "phone": PHONE,
}


def canonical(prop: PropertyDef, raw: object, current: str | None = None) -> str | None:
    return canonical_value("things", prop, raw, current=current)


# ---------------------------------------------------------------- accepted values

ACCEPTED: list[tuple[str, str, object, str | None, str | None]] = [
    # (id, prop, raw, current, stored)
    ("text", "text", "hello", None, "hello"),
    ("text-emoji", "text", "Zoë 🚀 日本", None, "Zoë 🚀 日本"),
    ("text-sql", "text", "'); DROP TABLE records;--", None, "'); DROP TABLE records;--"),
    ("text-at-limit", "text", "x" * MAX_VALUE_LENGTH, None, "x" * MAX_VALUE_LENGTH),
    ("number-int", "number", 42, None, "42"),
    ("number-text", "number", "42", None, "42"),
    ("number-trailing-zeros", "number", "-3.50", None, "-3.5"),
    ("number-exponent", "number", "1e3", None, "1000"),
    ("number-small-exponent", "number", "1E-3", None, "0.001"),
    ("number-plus-sign", "number", "+7", None, "7"),
    ("number-spaces", "number", " 12 ", None, "12"),
    ("number-float", "number", 1.5, None, "1.5"),
    ("number-decimal", "number", Decimal("2.500"), None, "2.5"),
    ("number-negative-zero", "number", "-0.0", None, "0"),
    ("number-leading-dot", "number", ".5", None, "0.5"),
    (
        "number-40-digits-exact",
        "number",
        "1234567890123456789012345678901234567890",
        None,
        "1234567890123456789012345678901234567890",
    ),
    (
        "number-many-decimals-exact",
        "number",
        "0.12345678901234567890123456789012345",
        None,
        "0.12345678901234567890123456789012345",
    ),
    ("date-iso", "date", "2024-02-29", None, "2024-02-29"),
    ("date-object", "date", date(2024, 1, 5), None, "2024-01-05"),
    ("date-epoch-ms-midnight", "date", "1704067200000", None, "2024-01-01"),
    ("date-epoch-ms-int", "date", 1704067200000, None, "2024-01-01"),
    ("date-before-1970", "date", -86_400_000, None, "1969-12-31"),
    ("datetime-z", "datetime", "2024-05-01T09:30:00Z", None, "2024-05-01T09:30:00.000Z"),
    (
        "datetime-offset-to-utc",
        "datetime",
        "2024-05-01T11:30:00+02:00",
        None,
        "2024-05-01T09:30:00.000Z",
    ),
    (
        "datetime-aware-object",
        "datetime",
        datetime(2024, 5, 1, 4, 30, tzinfo=timezone(timedelta(hours=-5))),
        None,
        "2024-05-01T09:30:00.000Z",
    ),
    ("datetime-epoch-ms", "datetime", 1714555800123, None, "2024-05-01T09:30:00.123Z"),
    (
        "datetime-micros-truncated",
        "datetime",
        "2024-05-01T09:30:00.123999Z",
        None,
        "2024-05-01T09:30:00.123Z",
    ),
    ("datetime-year-999", "datetime", "0999-01-01T00:00:00Z", None, "0999-01-01T00:00:00.000Z"),
    ("bool-true", "bool", True, None, "true"),
    ("bool-false", "bool", False, None, "false"),
    ("bool-text-any-case", "bool", " TRUE ", None, "true"),
    ("select-option", "select", "lead", None, "lead"),
    ("checkbox-several", "checkbox", "a;b", None, "a;b"),
    ("checkbox-spaces-and-repeats", "checkbox", " b ; a ;b", None, "b;a"),
    ("checkbox-replaces", "checkbox", "c", "a;b", "c"),
    ("checkbox-leading-semicolon-appends", "checkbox", ";c", "a", "a;c"),
    ("checkbox-append-known-value", "checkbox", ";a", "a;b", "a;b"),
    ("checkbox-append-to-nothing", "checkbox", ";b", None, "b"),
    ("checkbox-append-nothing", "checkbox", ";", "a", "a"),
    ("checkbox-empty-selection-clears", "checkbox", ";", None, None),
    ("yesno-bool", "yesno", True, None, "true"),
    ("email", "email", "ann@example.com", None, "ann@example.com"),
    ("email-plus-and-case", "email", "Ann.O'Neil+x@Example.co.uk", None, "Ann.O'Neil+x@Example.co.uk"),
    ("domain-bare", "domain", "acme.com", None, "acme.com"),
    ("domain-url-kept-as-given", "domain", "https://www.Acme.com/about", None, "https://www.Acme.com/about"),
    ("phone-international", "phone", "+44 20 7946 0958", None, "+44 20 7946 0958"),
    ("phone-north-american", "phone", "(415) 555-2671", None, "(415) 555-2671"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("prop", "raw", "current", "stored"),
    [case[1:] for case in ACCEPTED],
    ids=[case[0] for case in ACCEPTED],
)
def test_accepted_value_is_stored_in_canonical_form(
    prop: str, raw: object, current: str | None, stored: str | None
) -> None:
    assert canonical(PROPS[prop], raw, current) == stored


@pytest.mark.parametrize("prop", sorted(PROPS), ids=sorted(PROPS))
@pytest.mark.parametrize("empty", [None, ""], ids=["none", "empty-text"])
def test_none_or_empty_clears_the_value_of_every_type(prop: str, empty: object) -> None:
    assert canonical(PROPS[prop], empty, current="a") is None


# ---------------------------------------------------------------- refused values

REFUSED: list[tuple[str, str, object, str]] = [
    # (id, prop, raw, words the rule must contain)
    ("text-too-long", "text", "x" * (MAX_VALUE_LENGTH + 1), "longer than 65536"),
    ("text-nul", "text", "a\x00b", "NUL"),
    ("text-lone-surrogate", "text", "a\ud800b", "Unicode"),
    ("text-int", "text", 42, "expected text, got int"),
    ("text-bool", "text", True, "expected text, got bool"),
    ("text-list", "text", ["a"], "expected text, got list"),
    ("text-dict", "text", {"a": 1}, "expected text, got dict"),
    ("number-word", "number", "abc", "expected a number"),
    ("number-comma-decimal", "number", "1,5", "expected a number"),
    ("number-hex", "number", "0x10", "expected a number"),
    ("number-two-dots", "number", "1.2.3", "expected a number"),
    ("number-bool", "number", True, "got a boolean"),
    ("number-nan-text", "number", "NaN", "expected a number"),
    ("number-infinity-text", "number", "Infinity", "expected a number"),
    ("number-nan-float", "number", float("nan"), "finite"),
    ("number-inf-float", "number", float("inf"), "finite"),
    ("number-nan-decimal", "number", Decimal("NaN"), "finite"),
    ("number-snan-decimal", "number", Decimal("sNaN"), "finite"),
    ("number-huge-exponent", "number", "1e999", "digits"),
    ("number-tiny-exponent", "number", "1e-999", "digits"),
    ("number-huge-int", "number", 10**61, "digits"),
    ("number-list", "number", [1], "got list"),
    ("number-nul", "number", "1\x00", "NUL"),
    ("date-not-a-calendar-day", "date", "2023-02-30", "calendar date"),
    ("date-month-13", "date", "2024-13-01", "calendar date"),
    ("date-epoch-not-midnight", "date", "1704067200001", "midnight"),
    ("date-epoch-out-of-range", "date", "999999999999999", "range"),
    ("date-epoch-out-of-range-negative", "date", "-999999999999999", "range"),
    ("date-slashes", "date", "2024/01/05", "YYYY-MM-DD"),
    ("date-datetime-object", "date", datetime(2024, 1, 5, tzinfo=UTC), "date and time"),
    ("date-bool", "date", True, "got bool"),
    ("date-float", "date", 1.5, "got float"),
    ("datetime-naive-text", "datetime", "2024-05-01T09:30:00", "time zone"),
    ("datetime-naive-object", "datetime", datetime(2024, 5, 1, 9, 30), "time zone"),  # noqa: DTZ001
    ("datetime-date-only", "datetime", "2024-05-01", "zone"),
    ("datetime-not-a-calendar-day", "datetime", "2023-02-30T00:00:00Z", "ISO 8601"),
    ("datetime-underflow-with-offset", "datetime", "0001-01-01T00:00:00+01:00", "range"),
    ("datetime-overflow-with-offset", "datetime", "9999-12-31T23:59:59-01:00", "range"),
    ("datetime-epoch-out-of-range", "datetime", "999999999999999", "range"),
    ("datetime-bool", "datetime", False, "got bool"),
    ("datetime-garbage", "datetime", "next tuesday", "ISO 8601"),
    ("bool-one", "bool", 1, "true or false"),
    ("bool-yes", "bool", "yes", "true or false"),
    ("bool-list", "bool", [True], "true or false"),
    ("select-unknown", "select", "partner", "options: customer, lead"),
    ("select-wrong-case", "select", "Lead", "not an option"),
    ("select-int", "select", 1, "got int"),
    ("checkbox-unknown-part", "checkbox", "a;zzz", "'zzz' is not an option"),
    ("checkbox-append-unknown", "checkbox", ";zzz", "'zzz' is not an option"),
    ("email-no-at", "email", "ann", "email address"),
    ("email-no-domain", "email", "ann@", "email address"),
    ("email-no-tld", "email", "ann@example", "email address"),
    ("email-space", "email", "a b@example.com", "email address"),
    ("email-two-ats", "email", "ann@@example.com", "email address"),
    ("email-two-addresses", "email", "a@example.com;b@example.com", "email address"),
    ("domain-no-dot", "domain", "acme", "domain name"),
    ("domain-words", "domain", "not a domain", "domain name"),
    ("phone-words", "phone", "call me maybe", "phone number"),
    ("phone-too-short", "phone", "12", "phone number"),
]


@pytest.mark.parametrize(
    ("prop", "raw", "rule_words"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_refused_value_is_a_validation_error_naming_object_property_value_and_rule(
    prop: str, raw: object, rule_words: str
) -> None:
    definition = PROPS[prop]
    with pytest.raises(ValidationError) as caught:
        canonical(definition, raw)
    error = caught.value
    assert (error.object_name, error.property_name) == ("things", definition.name)
    assert error.value is raw or error.value == raw
    assert rule_words in error.rule
    assert str(error).startswith(f"things.{definition.name}: ")
    assert error.rule in str(error)


def test_error_message_shortens_a_huge_value() -> None:
    with pytest.raises(ValidationError) as caught:
        canonical(TEXT, "y" * (MAX_VALUE_LENGTH + 1))
    assert len(str(caught.value)) < 300


# ---------------------------------------------------------------- dedupe keys

DOMAINS = [
    ("url-with-www-and-path", "https://www.Acme.com/about", "acme.com"),
    ("bare", "acme.com", "acme.com"),
    ("upper-trailing-dot", "ACME.COM.", "acme.com"),
    ("port-and-query", "http://acme.com:8080/x?y=1", "acme.com"),
    ("www-only", "www.acme.com", "acme.com"),
    ("email-like", "sales@acme.com", "acme.com"),
    ("subdomain-kept", "eu.acme.com", "eu.acme.com"),
    ("fragment", "acme.com#top", "acme.com"),
]


@pytest.mark.parametrize(("raw", "normal"), [d[1:] for d in DOMAINS], ids=[d[0] for d in DOMAINS])
def test_normalise_domain(raw: str, normal: str) -> None:
    assert normalise_domain(raw) == normal


UNIQUE_KEYS = [
    ("email-case", EMAIL, "Ann@Example.COM", "ann@example.com"),
    ("email-spaces", EMAIL, " ann@example.com ", "ann@example.com"),
    ("domain-url", DOMAIN, "https://www.Acme.com/about", "acme.com"),
    ("text-casefold", TEXT, "STRASSE", "straße"),
]


@pytest.mark.parametrize(
    ("prop", "a", "b"), [k[1:] for k in UNIQUE_KEYS], ids=[k[0] for k in UNIQUE_KEYS]
)
def test_values_that_count_as_the_same_share_a_unique_key(
    prop: PropertyDef, a: str, b: str
) -> None:
    assert unique_key(prop, a) == unique_key(prop, b)


def test_long_unique_values_are_hashed_to_a_bounded_key() -> None:
    long_a, long_b = "a" * 1000, "a" * 999 + "b"
    assert len(unique_key(TEXT, long_a)) <= 300
    assert unique_key(TEXT, long_a) == unique_key(TEXT, long_a.upper())
    assert unique_key(TEXT, long_a) != unique_key(TEXT, long_b)


# ---------------------------------------------------------------- laws

_OFFSETS = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60)
)
# Digit strings up to 45 long: longer than Decimal's default 28-digit context.
_DECIMALS = st.builds(
    lambda sign, digits, scale: Decimal(sign + digits).scaleb(-scale),
    st.sampled_from(["", "-"]),
    st.text("0123456789", min_size=1, max_size=45),
    st.integers(0, 12),
)
_NUMBER_INPUTS = st.one_of(
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    _DECIMALS,
    _DECIMALS.map(str),
    _DECIMALS.map(lambda d: f"{d:e}"),
)
_AWARE = st.datetimes(timezones=_OFFSETS)
_LAWS: dict[str, tuple[PropertyDef, st.SearchStrategy[Any]]] = {
    "number": (NUMBER, _NUMBER_INPUTS),
    "date": (DATE, st.one_of(st.dates(), st.dates().map(date.isoformat))),
    "datetime": (
        DATETIME,
        st.one_of(
            _AWARE,
            _AWARE.map(datetime.isoformat),
            st.integers(-(10**14), 10**14),
        ),
    ),
    "bool": (BOOL, st.one_of(st.booleans(), st.sampled_from(["true", "FALSE", " True "]))),
}


@pytest.mark.parametrize("kind", sorted(_LAWS), ids=sorted(_LAWS))
@given(data=st.data())
def test_canonical_form_is_a_fixed_point(kind: str, data: st.DataObject) -> None:
    """Storing a stored value again changes nothing, so two writers never see a diff."""
    prop, inputs = _LAWS[kind]
    raw = data.draw(inputs)
    try:
        once = canonical(prop, raw)
    except ValidationError:
        return  # out of range: refused, which is allowed; anything else would fail the test
    assert once is not None
    assert canonical(prop, once) == once


@given(_NUMBER_INPUTS)
def test_number_canonical_form_keeps_the_exact_value(raw: object) -> None:
    try:
        stored = canonical(NUMBER, raw)
    except ValidationError as exc:
        assert "digits" in exc.rule  # only too-long numbers are refused
        return
    assert stored is not None
    expected = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw))
    assert Decimal(stored) == expected
    assert stored == stored.strip() and "e" not in stored.lower()


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20
    )
)
def test_numbers_of_ordinary_size_are_always_accepted(value: Decimal) -> None:
    assert canonical(NUMBER, value) is not None


@given(_AWARE)
def test_datetimes_are_stored_as_the_same_instant_in_utc(value: datetime) -> None:
    try:
        stored = canonical(DATETIME, value)
    except ValidationError as exc:
        assert "range" in exc.rule
        return
    assert stored is not None and stored.endswith("Z")
    back = datetime.fromisoformat(stored)
    assert back.utcoffset() == timedelta(0)
    assert value - back < timedelta(milliseconds=1)
    assert value >= back
