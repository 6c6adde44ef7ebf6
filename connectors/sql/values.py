"""What an ``sql`` object is once resolved, and the conversions between its rows and
JSON-like records: the pieces reading and writing share.

Timestamps: naive values are UTC. Values a record cannot carry (bytes, unknown types) are
refused with the column's name, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Column, ColumnElement, Table, false, or_, true

from connectors.base import ConnectorError
from connectors.sql.options import SqlObjectOptions

__all__ = [
    "ID_CHUNK",
    "RequestError",
    "SqlObject",
    "aware",
    "chunks",
    "json_value",
    "norm",
    "python_type",
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

    def live(self) -> ColumnElement[bool]:
        """Rows not soft-deleted; NULL counts as live so a nullable flag needs no backfill."""
        if self.deleted_col is None:
            return true()
        return or_(self.deleted_col.is_(None), self.deleted_col == false())


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
