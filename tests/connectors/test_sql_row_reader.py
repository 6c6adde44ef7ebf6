"""The sql connector's compiled row conversion makes the records the general one makes.

Reading pages converts each row through ``SqlObject.read_row``, worked out once per object
(column positions, which columns may need converting); ``values.record`` is the general
conversion by column name it replaced there. Pure: random tables (column types, which
columns are id, timestamp, deleted flag, created_at, which are exposed) and random rows of
any values a database might hand back, SQLite's "whatever was stored" included; both give
the same record, or both refuse the row with the same message.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Time,
    Uuid,
)
from sqlalchemy.types import NullType, TypeEngine

from connectors.base import ConnectorError, ExternalRecord
from connectors.sql import SqlObjectOptions
from connectors.sql.values import SqlObject, record, resolve

#: Column types as reflection gives them, NullType being one SQLite cannot name.
TYPES: list[TypeEngine[Any]] = [
    String(200),
    Text(),
    Integer(),
    Float(),
    Boolean(),
    Numeric(10, 2),
    DateTime(),
    DateTime(timezone=True),
    Date(),
    Time(),
    JSON(),
    Uuid(),
    LargeBinary(),
    NullType(),
]

#: Naive moments (most drivers' datetimes); a zone is drawn separately.
_MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 2, tzinfo=UTC).replace(tzinfo=None),
    max_value=datetime(2100, 1, 1, tzinfo=UTC).replace(tzinfo=None),
)
_ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))])
_SCALARS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
)
#: What a driver may hand back for any column (SQLite keeps whatever it was given).
VALUES = st.one_of(
    _SCALARS,
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.builds(lambda m, z: m.replace(tzinfo=z), _MOMENTS, _ZONES),
    st.dates(),
    st.times(),
    st.uuids(),
    st.lists(_SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=4), _SCALARS, max_size=3),
    st.binary(max_size=4),
)
#: What a timestamp column may hold: datetimes, ISO text in several spellings, junk.
TIMES = st.one_of(
    st.none(),
    st.builds(lambda m, z: m.replace(tzinfo=z), _MOMENTS, _ZONES),
    _MOMENTS.map(lambda m: m.isoformat(" ")),
    _MOMENTS.map(lambda m: m.isoformat() + "Z"),
    st.sampled_from(["not a time", "2024-13-01", ""]),
    st.integers(),
)


@st.composite
def objects(draw: st.DrawFn) -> SqlObject:
    """A table of random column types, and which of its columns play which part."""
    count = draw(st.integers(min_value=2, max_value=9))
    kinds = [draw(st.sampled_from(TYPES)) for _ in range(count)]
    table = Table("t", MetaData(), *(Column(f"c{i}", kind) for i, kind in enumerate(kinds)))
    names = [f"c{i}" for i in range(count)]
    id_name, ts_name = draw(st.permutations(names))[:2]
    deleted = draw(st.one_of(st.none(), st.sampled_from(names)))
    created = draw(st.one_of(st.none(), st.sampled_from(names)))
    exposed = draw(st.one_of(st.none(), st.lists(st.sampled_from(names), unique=True)))
    options = SqlObjectOptions(
        table="t",
        id=id_name,
        updated_at=ts_name,
        deleted=deleted,
        created_at=created,
        columns=exposed,
    )
    return resolve("things", options, table)


@st.composite
def rows(draw: st.DrawFn, obj: SqlObject) -> tuple[Any, ...]:
    """A row of ``obj.selected``: any values, and timestamp-like ones where a time goes."""
    times = {obj.ts_col.name} | ({obj.created_col.name} if obj.created_col is not None else set())
    return tuple(
        draw(st.one_of(TIMES, VALUES) if c.name in times else VALUES) for c in obj.selected
    )


def _outcome(convert: Any, obj: SqlObject, row: Any) -> ExternalRecord | str:
    try:
        result: ExternalRecord = convert(obj, row)
    except ConnectorError as exc:
        return f"refused: {exc}"
    return result


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_compiled_row_reader_makes_the_general_conversions_record(
    data: st.DataObject,
) -> None:
    obj = data.draw(objects())
    for _ in range(5):
        row = data.draw(rows(obj))
        by_name = {c.name: v for c, v in zip(obj.selected, row, strict=True)}

        general = _outcome(record, obj, by_name)
        compiled = _outcome(lambda o, r: o.read_row(r), obj, row)

        assert compiled == general
        if isinstance(general, ExternalRecord):
            assert isinstance(compiled, ExternalRecord)
            # Equal values of other types (1 == 1.0 == True) would hide a conversion.
            assert {k: type(v) for k, v in compiled.fields.items()} == {
                k: type(v) for k, v in general.fields.items()
            }
            assert list(compiled.fields) == list(general.fields)


def test_rows_of_plain_text_and_dates_convert_like_the_general_conversion() -> None:
    """The common shape (text columns, an integer id, a naive timestamp), by example."""
    table = Table(
        "t",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("email", String(200)),
        Column("born", Date),
        Column("amount", Numeric(10, 2)),
        Column("updated_at", DateTime),
    )
    obj = resolve("things", SqlObjectOptions(table="t"), table)
    moment = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC).replace(tzinfo=None)
    rows: list[tuple[Any, ...]] = [
        (1, "a@x.test", date(1990, 5, 17), Decimal("12.50"), moment),
        (2, None, None, None, moment),
        (3, 42, b"\x00", 1.5, "2024-03-01T12:00:00Z"),  # SQLite: whatever was stored
        (4, "b@x.test", time(10, 30), Decimal("1E+2"), moment.replace(tzinfo=UTC)),
    ]
    for row in rows:
        by_name = dict(zip(["id", "email", "born", "amount", "updated_at"], row, strict=True))
        assert _outcome(lambda o, r: o.read_row(r), obj, row) == _outcome(record, obj, by_name)
    first = obj.read_row(rows[0])
    assert first.fields == {
        "id": 1,
        "email": "a@x.test",
        "born": "1990-05-17",
        "amount": "12.50",
        "updated_at": "2024-03-01T12:00:00.123456",
    }
    assert first.updated_at == moment.replace(tzinfo=UTC)
