"""Laws of the transforms, checked by hypothesis over the CRM's canonical domain.

Round trip: for every invertible transform, ``to_crm(to_external(x)) == x`` for every
canonical CRM value ``x``, so a value we wrote comes back equal to the base and never
ping-pongs; and ``to_external(to_crm(y)) == y`` where ``y`` is already in the transform's
canonical external form. Mapping is deterministic, and never fails with anything but a
MappingError, whatever the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapping import (
    Boolean,
    DateFormat,
    DateTimeFormat,
    EnumMap,
    FieldMapping,
    Identity,
    Lowercase,
    MappingError,
    Number,
    SplitJoin,
    Transform,
    Trim,
    canonical_decimal,
    map_to_crm,
    map_to_external,
)

# -- canonical CRM values -------------------------------------------------------------------

crm_dates = st.dates().map(lambda day: day.isoformat())
crm_datetimes = st.datetimes(
    min_value=datetime(2, 1, 1),  # noqa: DTZ001 - bounds only; hypothesis adds UTC
    max_value=datetime(9998, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda moment: moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"))


def _fits(number: Decimal) -> bool:
    """Whether the store can hold ``number`` (at most 60 digits written out)."""
    try:
        canonical_decimal(number)
    except ValueError:
        return False
    return True


decimals = st.decimals(allow_nan=False, allow_infinity=False).filter(_fits)
crm_numbers = decimals.map(canonical_decimal)
crm_bools = st.sampled_from(["true", "false"])

DATES = [DateFormat(), DateFormat("%d.%m.%Y"), DateFormat("%m/%d/%Y"), DateFormat("%Y%m%d")]
DATETIMES = [
    DateTimeFormat(),
    DateTimeFormat(timezone="Europe/Berlin"),
    DateTimeFormat(timezone="America/St_Johns"),
    DateTimeFormat("%d.%m.%Y %H:%M:%S.%f", "UTC"),
    DateTimeFormat("%Y-%m-%d %H:%M:%S.%f %z", "Europe/Berlin"),
    DateTimeFormat("%Y-%m-%dT%H:%M:%S.%f%z", "Australia/Lord_Howe"),
]
NUMBERS = [Number(), Number(".", ","), Number(",", "."), Number(",", " "), Number(",")]
BOOLEANS = [
    Boolean(),
    Boolean(true=("ja",), false=("nein",)),
    Boolean(true=(True,), false=(False,)),
]


def _ids(transforms: Sequence[Transform]) -> list[str]:
    return [repr(t) for t in transforms]


@pytest.mark.parametrize("transform", DATES, ids=_ids(DATES))
@given(value=crm_dates)
def test_date_round_trip(transform: Transform, value: str) -> None:
    external = transform.to_external(value)
    assert transform.to_crm(external) == value
    assert transform.to_external(transform.to_crm(external)) == external


@pytest.mark.parametrize("transform", DATETIMES, ids=_ids(DATETIMES))
@given(value=crm_datetimes)
def test_datetime_round_trip(transform: Transform, value: str) -> None:
    external = transform.to_external(value)
    assert transform.to_crm(external) == value
    assert transform.to_external(transform.to_crm(external)) == external


@pytest.mark.parametrize("transform", NUMBERS, ids=_ids(NUMBERS))
@given(value=crm_numbers)
def test_number_round_trip(transform: Transform, value: str) -> None:
    external = transform.to_external(value)
    assert transform.to_crm(external) == value
    assert transform.to_external(transform.to_crm(external)) == external


@given(number=decimals)
def test_number_keeps_exact_value(number: Decimal) -> None:
    assert Decimal(str(Number().to_crm(number))) == number


@pytest.mark.parametrize("transform", BOOLEANS, ids=_ids(BOOLEANS))
@given(value=crm_bools)
def test_boolean_round_trip(transform: Transform, value: str) -> None:
    external = transform.to_external(value)
    assert transform.to_crm(external) == value
    assert transform.to_external(transform.to_crm(external)) == external


@given(
    pairs=st.dictionaries(st.text(min_size=1), st.text(min_size=1), min_size=1).filter(
        lambda d: len(set(d.values())) == len(d)
    ),
    data=st.data(),
)
def test_one_to_one_enum_round_trip(pairs: dict[str, str], data: st.DataObject) -> None:
    transform = EnumMap(values=pairs)
    assert transform.invertible
    value = data.draw(st.sampled_from(sorted(pairs.values())))
    external = transform.to_external(value)
    assert transform.to_crm(external) == value
    assert transform.to_external(transform.to_crm(external)) == external


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÄéß-'", min_size=1, max_size=12)
_WORDS = st.lists(_WORD, min_size=1, max_size=3).map(" ".join)


@given(first=_WORD, last=_WORDS)
def test_split_join_round_trip(first: str, last: str) -> None:
    transform = SplitJoin()
    assert transform.to_crm(transform.to_external((first, last))) == (first, last)
    full = f"{first} {last}"
    assert transform.to_external(transform.to_crm(full)) == full


@given(first=_WORDS, last=_WORD)
def test_split_from_right_round_trip(first: str, last: str) -> None:
    transform = SplitJoin(from_right=True)
    assert transform.to_crm(transform.to_external((first, last))) == (first, last)


@given(value=st.text())
def test_identity_round_trip(value: str) -> None:
    assert Identity().to_crm(Identity().to_external(value)) == value


@given(value=st.text())
def test_lossy_text_transforms_are_idempotent(value: str) -> None:
    # Not invertible, but stable: cleaning a cleaned value changes nothing, so no ping-pong.
    for transform in (Lowercase(), Trim()):
        once = transform.to_crm(value)
        assert transform.to_crm(transform.to_external(once)) == once


# -- whole records --------------------------------------------------------------------------

TWO_WAY = (
    FieldMapping(("closedate",), "closing.date", transform=DateFormat("%d.%m.%Y")),
    FieldMapping(("amount",), "closing.amount", transform=Number(",", ".")),
    FieldMapping(("paid",), "paid", transform=Boolean()),
    FieldMapping(("firstname", "lastname"), "name", transform=SplitJoin()),
    FieldMapping(("note",), "note"),
)

crm_records = st.fixed_dictionaries(
    {},
    optional={
        "closedate": crm_dates,
        "amount": crm_numbers,
        "paid": crm_bools,
        "note": st.text(max_size=50),
    },
)


@given(properties=crm_records, names=st.one_of(st.none(), st.tuples(_WORD, _WORDS)))
def test_records_converge_through_the_external_side(
    properties: dict[str, str], names: tuple[str, str] | None
) -> None:
    if names:
        properties = {**properties, "firstname": names[0], "lastname": names[1]}
    external = map_to_external(TWO_WAY, properties)
    assert map_to_crm(TWO_WAY, external) == properties
    assert map_to_external(TWO_WAY, map_to_crm(TWO_WAY, external)) == external


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
external_records = st.dictionaries(
    st.sampled_from(["closing", "paid", "name", "note", "other"]), json_values, max_size=5
)


@given(record=external_records | json_values)
def test_mapping_is_deterministic_and_fails_only_as_record_error(record: object) -> None:
    outcomes: list[object] = []
    for _ in range(2):
        try:
            outcomes.append(map_to_crm(TWO_WAY, record))  # type: ignore[arg-type]
        except MappingError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
