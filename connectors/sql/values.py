"""What an ``sql`` object is once resolved, and the conversions between its rows and
JSON-like records: the pieces reading and writing share.

Timestamps: naive values are UTC. Values a record cannot carry (bytes, unknown types) are
refused with the column's name, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cached_property
from operator import itemgetter
from typing import Any
from uuid import UUID

from sqlalchemy import Column, ColumnElement, Table, false, or_, true

from connectors.base import ConnectorError, ExternalRecord
from connectors.sql.options import SqlObjectOptions

__all__ = [
    "ID_CHUNK",
    "RequestError",
    "RowReader",
    "SqlObject",
    "aware",
    "chunks",
    "json_value",
    "norm",
    "python_type",
    "record",
    "resolve",
    "row_reader",
    "short",
    "to_bool",
]

#: Ids per ``IN (...)``: well under every database's bind-parameter limit.
ID_CHUNK = 500


class RequestError(Exception):
    """One request cannot be done as given; it becomes that request's FAILED result."""

    def __init__(self, message: str, *, retriable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retriable = retriable


@dataclass(frozen=True)
class SqlObject:
    """A configured object with its reflected table, resolved once and cached."""

    name: str
    options: SqlObjectOptions
    table: Table
    id_col: Column[Any]
    ts_col: Column[Any]
    deleted_col: Column[Any] | None
    #: The ``created_at`` column, when configured.
    created_col: Column[Any] | None
    #: The columns exposed as record fields and accepted in writes, by name.
    fields: Mapping[str, Column[Any]]
    #: What every read selects: the fields plus id, timestamp and deleted flag.
    selected: tuple[Column[Any], ...]

    @cached_property
    def read_row(self) -> RowReader:
        """Turns a row of :attr:`selected`, as a plain tuple, into a record."""
        return row_reader(self)

    @cached_property
    def releasable(self) -> tuple[Column[Any], ...]:
        """The record fields that may be NULL, which a swap of unique values goes through.

        A batch that swaps such values between rows is refused row by row, as each row would
        take a value the other still holds; inside one transaction, setting them to NULL
        first lets every row take its new value, and nobody outside sees the step between.
        Every nullable field, not only those a reflected unique index names: a unique index
        on an expression (``lower(email)``) lists no column, and a field a request writes
        gets its new value right after anyway.
        """
        primary = {c.name for c in self.table.primary_key.columns}
        return tuple(
            column
            for column in self.fields.values()
            if column.nullable and column.name not in primary
        )

    def live(self) -> ColumnElement[bool]:
        """Rows not soft-deleted; NULL counts as live so a nullable flag needs no backfill."""
        if self.deleted_col is None:
            return true()
        return or_(self.deleted_col.is_(None), self.deleted_col == false())


def resolve(name: str, options: SqlObjectOptions, table: Table) -> SqlObject:
    """Object ``name`` over its table, whose columns have been checked against ``options``."""
    columns = {c.name: c for c in table.columns}
    exposed = options.columns if options.columns is not None else list(columns)
    fields = {c: columns[c] for c in exposed}
    id_col = columns[options.id]
    ts_col = columns[options.updated_at]
    deleted_col = columns[options.deleted] if options.deleted is not None else None
    created_col = columns[options.created_at] if options.created_at is not None else None
    extra = [c for c in (id_col, ts_col, deleted_col, created_col) if c is not None]
    selected = tuple(dict.fromkeys([*fields.values(), *extra]))
    return SqlObject(
        name, options, table, id_col, ts_col, deleted_col, created_col, fields, selected
    )


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def norm(value: Any) -> str:
    """A value as a loose key: equal under a case- and space-blind collation, or close to it."""
    return str(value).strip().casefold()


def python_type(column: Column[Any]) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "t", "1", "yes"):
            return True
        if word in ("false", "f", "0", "no"):
            return False
    raise ValueError("not a boolean")


def aware(obj: SqlObject, value: Any, column: Column[Any] | None = None) -> datetime | None:
    """The row's timestamp (``column``, the ``updated_at`` one by default) as an aware UTC
    datetime; naive database values are UTC."""
    name = (column if column is not None else obj.ts_col).name
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ConnectorError(
                f"object {obj.name}: {name} value {short(value)} is not a timestamp"
            ) from None
    if not isinstance(value, datetime):
        raise ConnectorError(f"object {obj.name}: {name} value {short(value)} is not a timestamp")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


#: A row of :attr:`SqlObject.selected` (a SQLAlchemy ``Row`` or a plain tuple) to a record.
RowReader = Callable[[Sequence[Any]], ExternalRecord]

#: The types :func:`json_value` hands back as they are (text, numbers, booleans, NULL).
_AS_THEY_ARE = frozenset({type(None), str, int, float, bool})
#: Column types whose values are usually of those types.
_PLAIN = frozenset({str, int, float, bool})
#: The types :func:`json_value` spells as ISO text.
_ISO = frozenset({datetime, date, time})


def row_reader(obj: SqlObject) -> RowReader:
    """The object's row-to-record conversion, worked out once: where each column is in a
    row of ``obj.selected`` and what it needs.

    Reading a page went through a ``RowMapping`` by column name and checked every value's
    type in Python. This takes the fields as one slice of the row and checks the values of
    the columns whose type holds text, numbers or booleans in one C-level pass; only the
    other columns (dates, decimals, JSON, ...) are looked at one by one. The record is the
    one :func:`record` makes from the same row (a randomized test compares them).
    """
    selected = [c.name for c in obj.selected]
    names = tuple(obj.fields)
    if selected[: len(names)] != [c.name for c in obj.fields.values()]:
        raise AssertionError(f"object {obj.name}: its fields do not lead its selected columns")
    width = len(names)
    name = obj.name
    plain_at = [i for i, c in enumerate(obj.fields.values()) if python_type(c) in _PLAIN]
    typed = [(n, i) for i, n in enumerate(names) if i not in plain_at]
    plain = _getter(plain_at)
    id_at = selected.index(obj.id_col.name)
    ts_at = selected.index(obj.ts_col.name)
    deleted_at = selected.index(obj.deleted_col.name) if obj.deleted_col is not None else None
    created = obj.created_col
    created_at = selected.index(created.name) if created is not None else None
    passed = _AS_THEY_ARE
    iso = _ISO

    def read(row: Sequence[Any]) -> ExternalRecord:
        head = row[:width]
        fields = dict(zip(names, head, strict=True))
        if passed.issuperset(map(type, plain(row))):
            for key, at in typed:
                value = row[at]
                kind = type(value)
                if kind in iso:
                    fields[key] = value.isoformat()
                elif kind not in passed:
                    fields[key] = json_value(name, key, value)
        else:  # a text column holding something else (SQLite keeps what it is given)
            for key, value in zip(names, head, strict=True):
                if type(value) not in passed:
                    fields[key] = json_value(name, key, value)
        ts = row[ts_at]
        return ExternalRecord(
            id=str(row[id_at]),
            fields=fields,
            # A naive datetime, what most drivers give, is UTC (what aware() does).
            updated_at=(
                ts.replace(tzinfo=UTC)
                if type(ts) is datetime and ts.tzinfo is None
                else aware(obj, ts)
            ),
            deleted=deleted_at is not None and bool(row[deleted_at]),
            created_at=aware(obj, row[created_at], created) if created_at is not None else None,
        )

    return read


def _getter(positions: Sequence[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """The values at ``positions`` of a row, as a tuple (``itemgetter`` with one position
    gives the bare value)."""
    if len(positions) > 1:
        return itemgetter(*positions)
    if positions:
        (at,) = positions
        return lambda row: (row[at],)
    return lambda row: ()


def record(obj: SqlObject, row: Mapping[Any, Any]) -> ExternalRecord:
    """A row, by column name, as a record: the general conversion (``find_by``'s rows carry
    one more column), and the reference :func:`row_reader` is tested against."""
    fields: dict[str, Any] = {}
    for name in obj.fields:
        if name in row:
            value = row[name]
            # Text and NULL, most columns, pass as they are (what json_value does).
            fields[name] = (
                value if value is None or type(value) is str else json_value(obj.name, name, value)
            )
    deleted = obj.deleted_col is not None and bool(row[obj.deleted_col.name])
    created = obj.created_col
    return ExternalRecord(
        id=str(row[obj.id_col.name]),
        fields=fields,
        updated_at=aware(obj, row[obj.ts_col.name]),
        deleted=deleted,
        created_at=aware(obj, row[created.name], created) if created is not None else None,
    )


def json_value(object_name: str, column: str, value: Any) -> Any:
    """A database value as JSON-like data; bytes and unknown types are refused, not guessed."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(object_name, column, v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(object_name, column, v) for k, v in value.items()}
    raise ConnectorError(
        f"object {object_name}: column {column!r} holds {type(value).__name__}, which a "
        "record cannot carry; leave it out with columns:",
        column=column,
    )


def short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."
