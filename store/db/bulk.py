"""Many rows in one statement, their values already in the form the database driver takes.

SQLAlchemy's executemany runs every value of every row through its column type (each
timestamp converted and formatted, each JSON value encoded) and builds a dict of parameters
per row: for the rows one page of a sync writes (records, unique values, history, journal,
links, log) that was a third of the write. The statements here take tuples instead; the
caller encodes JSON once per value (``jsoncodec``) and converts the transaction's one
timestamp once (``bound``).

- SQLite: the driver's executemany (one statement, the driver loops in C); where ids must
  come back, one multi-row INSERT ... RETURNING.
- PostgreSQL: ``INSERT ... SELECT ... FROM unnest(%s::type[], ...)``: one statement and a
  handful of parameters (one array per column) whatever the batch size, which also takes
  RETURNING, ON CONFLICT and a CTE in front (the journal's head, ``store.db.tx``). Rows
  whose insert returns nothing are sent without waiting (``store.db.unread``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Table

from store.db import unread
from store.errors import StoreError

__all__ = ["binder", "bound", "insert_ids", "insert_rows", "unnest", "update_by_id"]

# Rows per multi-row INSERT on SQLite: far below its 32,766 parameters for any table here.
_SQLITE_ROWS = 1000


def bound(conn: Connection, column: Column[Any], value: Any) -> Any:
    """``value`` as the driver takes it for ``column``: what SQLAlchemy would bind for it.

    For values shared by a whole batch (the transaction's timestamp), converted once.
    """
    return binder(conn, column)(value)


def binder(conn: Connection, column: Column[Any]) -> Callable[[Any], Any]:
    """``bound`` for values that differ per row: the column's conversion, found once.

    On SQLite a timestamp leaves SQLAlchemy as a naive datetime, which the sqlite3 module
    turns into text with its default adapter (``isoformat(" ")``) for every row that
    carries it: a batch's one timestamp was formatted once per row and column (8 times
    per record a sync creates). The text is made here instead, the same characters.
    """
    process = column.type.bind_processor(conn.dialect)
    if conn.dialect.name != "sqlite":
        return _same if process is None else process
    convert = _same if process is None else process

    def as_text(value: Any) -> Any:
        value = convert(value)
        return value.isoformat(" ") if type(value) is datetime else value

    return as_text


def _same(value: Any) -> Any:
    return value


def _quoted(conn: Connection, names: Sequence[str]) -> list[str]:
    quote = conn.dialect.identifier_preparer.quote
    return [quote(name) for name in names]


def _pg_type(conn: Connection, column: Column[Any]) -> str:
    """The array type an unnest parameter is cast to (JSON travels as text)."""
    name = column.type.compile(dialect=conn.dialect)
    if name in ("JSONB", "JSON"):
        return f"text[]::{name.lower()}[]"
    return f"{name}[]"


def unnest(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> tuple[str, list[list[Any]]]:
    """PostgreSQL: ``unnest(...)`` over ``rows`` (as columns ``columns``) and its arrays.

    The arrays go in binary (``%b``): in text, psycopg escapes every quote of every element
    with a regular expression, which for arrays of JSON cost more than the whole write.
    """
    casts = ", ".join(f"%b::{_pg_type(conn, table.c[name])}" for name in columns)
    return f"unnest({casts})", [list(values) for values in zip(*rows, strict=True)]


def _fixed(
    conn: Connection, table: Table, fixed: Mapping[str, Any]
) -> tuple[list[str], tuple[Any, ...]]:
    names = list(fixed)
    for name in names:
        table.c[name]  # a typo is a KeyError here, not a column the database invents
    return names, tuple(fixed.values())


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    fixed: Mapping[str, Any] | None = None,
    upsert: tuple[Sequence[str], Sequence[str]] | None = None,
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) in one statement.

    ``fixed``: columns whose value is the same for every row. ``upsert``: (conflict columns,
    columns to replace) for ``ON CONFLICT (...) DO UPDATE``; the rows must not repeat a key.
    """
    if not rows:
        return
    fixed_names, fixed_values = _fixed(conn, table, fixed or {})
    names = ", ".join(_quoted(conn, [*columns, *fixed_names]))
    conflict = ""
    if upsert is not None:
        keys, replaced = upsert
        conflict = f" ON CONFLICT ({', '.join(_quoted(conn, keys))}) DO UPDATE SET " + ", ".join(
            f"{name} = excluded.{name}" for name in _quoted(conn, replaced)
        )
    if conn.dialect.name == "postgresql":
        source, arrays = unnest(conn, table, columns, rows)
        extra = "".join(
            f", %s::{table.c[n].type.compile(dialect=conn.dialect)}" for n in fixed_names
        )
        # Nothing is read back: the server runs it while Python goes on (``unread``).
        unread.send(
            conn,
            f"INSERT INTO {table.name} ({names}) SELECT u.*{extra} FROM {source} AS u{conflict}",
            (*fixed_values, *arrays),
        )
        return
    marks = ", ".join("?" * (len(columns) + len(fixed_names)))
    params = [(*row, *fixed_values) for row in rows] if fixed_values else rows
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({marks}){conflict}", list(params)
    )


def insert_ids(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    fixed: Mapping[str, Any] | None = None,
) -> list[int]:
    """Insert ``rows`` and return the ids the database gave them, in row order.

    One statement (per 1,000 rows on SQLite) rather than asking for ids first. Rows are
    inserted in order and ids grow with each (SQLite: one more than the largest id; PostgreSQL:
    the sequence, taken in the SELECT's order), so the ids sorted are the ids in row order.
    SQLite would pick ids at random once the largest possible one is taken: the ids must then
    be consecutive, or the write is refused rather than misattributed.
    """
    if not rows:
        return []
    fixed_names, fixed_values = _fixed(conn, table, fixed or {})
    names = ", ".join(_quoted(conn, [*columns, *fixed_names]))
    if conn.dialect.name == "postgresql":
        source, arrays = unnest(conn, table, columns, rows)
        aliases = [f"c{i}" for i in range(len(columns))]
        picked = ", ".join(f"u.{alias}" for alias in aliases)
        extra = "".join(
            f", %s::{table.c[n].type.compile(dialect=conn.dialect)}" for n in fixed_names
        )
        ids = sorted(
            conn.exec_driver_sql(
                f"INSERT INTO {table.name} ({names}) SELECT {picked}{extra} "
                f"FROM {source} WITH ORDINALITY AS u({', '.join(aliases)}, n) "
                "ORDER BY u.n RETURNING id",
                (*fixed_values, *arrays),
            ).scalars()
        )
    else:
        ids = []
        marks = "(" + ", ".join("?" * (len(columns) + len(fixed_names))) + ")"
        for start in range(0, len(rows), _SQLITE_ROWS):
            chunk = rows[start : start + _SQLITE_ROWS]
            params = [value for row in chunk for value in (*row, *fixed_values)]
            found = sorted(
                conn.exec_driver_sql(
                    f"INSERT INTO {table.name} ({names}) VALUES "
                    + ", ".join([marks] * len(chunk))
                    + " RETURNING id",
                    tuple(params),
                ).scalars()
            )
            if len(found) != len(chunk) or found[-1] - found[0] != len(chunk) - 1:
                raise StoreError(
                    f"{table.name}: the database gave ids out of order; nothing written"
                )
            ids.extend(found)
    return ids


def update_by_id(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    fixed: Mapping[str, Any] | None = None,
) -> None:
    """Set ``columns`` of each row whose id is the first value of a tuple in ``rows``
    (``(id, *values)``), and ``fixed`` columns to the same value on all of them."""
    if not rows:
        return
    fixed_names, fixed_values = _fixed(conn, table, fixed or {})
    quoted, quoted_fixed = _quoted(conn, columns), _quoted(conn, fixed_names)
    if conn.dialect.name == "postgresql":
        source, arrays = unnest(conn, table, ["id", *columns], rows)
        aliases = [f"c{i}" for i in range(len(columns))]
        sets = [f"{name} = u.{alias}" for name, alias in zip(quoted, aliases, strict=True)]
        sets += [
            f"{name} = %s::{table.c[raw].type.compile(dialect=conn.dialect)}"
            for name, raw in zip(quoted_fixed, fixed_names, strict=True)
        ]
        conn.exec_driver_sql(
            f"UPDATE {table.name} AS r SET {', '.join(sets)} "
            f"FROM {source} AS u(id, {', '.join(aliases)}) WHERE r.id = u.id",
            (*fixed_values, *arrays),
        )
        return
    sets = [f"{name} = ?" for name in [*quoted, *quoted_fixed]]
    conn.exec_driver_sql(
        f"UPDATE {table.name} SET {', '.join(sets)} WHERE id = ?",
        [(*row[1:], *fixed_values, row[0]) for row in rows],
    )
