"""Reading a SQLite source takes no write lock: the shop keeps writing while syncd reads.

SQLite transactions of the SQL connector begin IMMEDIATE (a deferred one that upgrades to a
write fails at once under contention). Reads need no such lock; taking it made the source's
own application wait behind every page syncd read (or fail, with a short busy timeout).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from connectors.sql import SqlConnector, SqlObjectOptions, SqlOptions


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, updated_at TEXT)")
        stamp = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
        conn.executemany(
            "INSERT INTO customers (email, updated_at) VALUES (?, ?)",
            [(f"c{i}@x.io", stamp) for i in range(20)],
        )
    return path


def _shop_writes(path: Path) -> str | None:
    """One write by the shop's own application, which will not wait: the error, or None."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO customers (email, updated_at) VALUES ('new@x.io', '2026-01-02T00:00:00+00:00')"
        )
        conn.execute("COMMIT")
        return None
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        conn.close()


@pytest.mark.parametrize("call", ["fetch_changes", "fetch_by_ids", "iter_ids"])
def test_a_shop_write_during_a_read_of_the_source_does_not_wait(source: Path, call: str) -> None:
    connector = SqlConnector(
        "shop",
        SqlOptions(
            url=f"sqlite:///{source}",
            objects={"customers": SqlObjectOptions(table="customers")},
        ),
    )
    try:
        connector.fetch_changes("customers", None, limit=5, resume=False)  # set up, reflected
        outcomes: list[str | None] = []

        def meanwhile(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            reading_the_shop = conn.engine.url.database == str(source)
            if reading_the_shop and statement.lstrip().upper().startswith("SELECT"):
                outcomes.append(_shop_writes(source))

        event.listen(Engine, "before_cursor_execute", meanwhile)
        try:
            if call == "fetch_changes":
                connector.fetch_changes("customers", None, limit=5, resume=False)
            elif call == "fetch_by_ids":
                connector.fetch_by_ids("customers", ["1", "2"])
            else:
                assert len(list(connector.iter_ids("customers"))) >= 20
        finally:
            event.remove(Engine, "before_cursor_execute", meanwhile)
        assert outcomes, "the read issued no SELECT"
        assert outcomes == [None] * len(outcomes)
    finally:
        connector.close()
