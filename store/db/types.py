"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["JSONText", "JSONType", "UTCDateTime", "utcnow"]

# JSONB on PostgreSQL (indexable, compact); JSON text on SQLite.
JSONType: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")

# JSON text on both, PostgreSQL's ``json``: for columns written once per change and read back
# whole, never queried inside. PostgreSQL validates ``json`` and keeps the text, where
# ``jsonb`` parses it into its binary form, which cost twice as much server time per insert.
JSONText: TypeEngine[Any] = JSON()


def utcnow() -> datetime:
    """The one clock of the store, so tests and callers agree on what "now" is."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: aware datetimes only, stored in UTC, read back aware.

    SQLite has no time zones, so without this a value would come back naive and compare
    wrongly with aware ones; a naive value is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
