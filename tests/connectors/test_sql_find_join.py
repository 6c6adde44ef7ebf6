"""On SQLite the sql connector searches by value with one join instead of a branch per value.

``lowest_matches`` (``find_by``, and the match look-up of a batch of creates) asked SQLite one
``UNION ALL`` branch per value, each scanning an unindexed table again; it now joins the
asked values with the live rows their ``IN`` list selects. Randomized: tables whose searched
column is text, text without case, integer, numeric or untyped, rows of any stored kind
(SQLite keeps what it is given), some soft-deleted, and asked values of the column's type or
another; both forms must find the same row (the lowest live id) for every value.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from connectors.sql import SqlConnector, SqlObjectOptions, SqlOptions
from connectors.sql import reading as sql_reading

DECLARED = {
    "text": "TEXT",
    "nocase": "TEXT COLLATE NOCASE",
    "integer": "INTEGER",
    "numeric": "NUMERIC",
    "untyped": "",
}
_SMALL_TEXT = st.sampled_from(["a", "A", "b", "B", " a", "1", "01", "1.0", "2", "x@y", "X@Y"])
STORED = st.one_of(st.none(), _SMALL_TEXT, st.integers(-2, 3), st.sampled_from([1.0, 2.5, -0.0]))


@pytest.fixture
def tmp_db(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def _make(path: Path, kind: str, rows: list[tuple[Any, bool]]) -> SqlConnector:
    db = path / f"shop-{kind}-{len(list(path.iterdir()))}.db"
    raw = sqlite3.connect(db)
    raw.execute(
        f"CREATE TABLE customers (id INTEGER PRIMARY KEY, value {DECLARED[kind]}, "
        "gone BOOLEAN, updated_at TIMESTAMP NOT NULL)"
    )
    raw.executemany(
        "INSERT INTO customers (value, gone, updated_at) VALUES (?, ?, '2024-01-01 00:00:00')",
        rows,
    )
    raw.commit()
    raw.close()
    return SqlConnector(
        "shop",
        SqlOptions(
            url=f"sqlite:///{db}",
            objects={"customers": SqlObjectOptions(table="customers", deleted="gone")},
        ),
    )


def _found(connector: SqlConnector, asked: list[Any]) -> dict[Any, str]:
    return {k: r.id for k, r in connector.find_by("customers", "value", asked).items()}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(sorted(DECLARED)),
    rows=st.lists(st.tuples(STORED, st.booleans()), max_size=12),
    asked=st.lists(STORED, max_size=8),
)
def test_the_join_finds_the_rows_the_branches_found(
    tmp_db: Path,
    kind: str,
    rows: list[tuple[Any, bool]],
    asked: list[Any],
) -> None:
    connector = _make(tmp_db, kind, rows)
    try:
        joined = _found(connector, asked)
        real = sql_reading._SQLITE_MATERIALIZED
        sql_reading._SQLITE_MATERIALIZED = (999, 0, 0)  # the branches, as before
        try:
            branched = _found(connector, asked)
        finally:
            sql_reading._SQLITE_MATERIALIZED = real
    finally:
        connector.close()
    assert joined == branched


def test_a_page_of_values_or_of_ids_is_one_statement_and_no_transaction(tmp_db: Path) -> None:
    """A search of up to 500 values is one statement; it and a read of up to 500 ids are
    sent without BEGIN (SQLite runs a lone SELECT in a transaction of its own)."""
    connector = _make(tmp_db, "text", [(f"p{i}@x", i % 7 == 0) for i in range(600)])
    _found(connector, ["warm"])  # reads the table's shape first
    statements: list[str] = []
    event.listen(
        connector._get_engine(),
        "before_cursor_execute",
        lambda _conn, _cursor, sql, *_: statements.append(sql.split(None, 1)[0]),
    )
    try:
        found = _found(connector, [f"p{i}@x" for i in range(0, 600, 2)] + ["nobody"])
        assert sorted(found) == sorted(f"p{i}@x" for i in range(0, 600, 2) if i % 7)
        assert statements == ["WITH"]
        statements.clear()
        assert len(connector.fetch_by_ids("customers", [str(i) for i in range(1, 501)])) == 500
        assert statements == ["SELECT"]
        statements.clear()
        connector.fetch_by_ids("customers", [str(i) for i in range(1, 601)])
        assert statements == ["BEGIN", "SELECT", "SELECT"]  # two: one transaction, as before
    finally:
        connector.close()
