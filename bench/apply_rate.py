"""Measurement 1: the store apply rate through the engine against the physical write limit.

Engine: an initial two-way sync (matched on email) of N source rows with 20 properties (~1 KB)
from a SQLite table through the SQL connector, pages of 500; each page's transaction writes the
records, history, journal, bases, links and log rows. Limit: the same 20 values per row, one text
column per property, inserted by SQLAlchemy Core ``executemany`` in batches of 500 (one
transaction each) into one bare table in the same database, rows built before the clock starts.
The source read alone (the connector paging the table, no store) is timed too, so the share of
the engine's time that is the source is visible.

Run: ``.venv/bin/python bench/apply_rate.py [--rows N] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, Text, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a script

from bench._common import (
    BATCH,
    PROPERTIES,
    RESULTS,
    StatementCounter,
    Timer,
    connector,
    db_label,
    fill_source,
    judge,
    open_store,
    print_table,
    quiet,
    row_values,
    scratch_url,
    source_base,
    source_table,
    spec,
    write_json,
)
from store import make_engine
from syncd.engine import run_sync

COLUMNS = [
    "database",
    "rows",
    "engine_s",
    "engine_rec_s",
    "limit_s",
    "limit_rec_s",
    "ratio",
    "source_read_s",
    "read_share",
    "stmts_per_batch",
    "target",
    "verdict",
]
#: The targets for the apply path (issue 16): statements per page of 500, and the source
#: read's share of the whole pass (the engine must not be what makes reading look cheap).
TARGET_STATEMENTS = 10
TARGET_READ_SHARE = 0.15


def _source_read(url: str) -> float:
    """Time to page the whole source through the connector, the engine's floor from reading."""
    shop = connector(url)
    with Timer() as timer:
        cursor = None
        while True:
            page = shop.fetch_changes("customers", cursor, limit=BATCH, resume=False)
            cursor = page.cursor
            if not page.has_more or not page.records:
                break
    shop.close()
    return timer.seconds


def _limit(url: str, rows: int) -> float:
    table = Table(
        "bench_limit",
        MetaData(),
        Column("id", Integer, primary_key=True),
        *(Column(name, Text) for name in PROPERTIES),
    )
    engine = make_engine(url)
    table.metadata.create_all(engine)
    data = [{"id": i + 1, **row_values(i, PROPERTIES)} for i in range(rows)]
    with Timer() as timer:
        for start in range(0, rows, BATCH):
            with engine.begin() as conn:
                conn.execute(insert(table), data[start : start + BATCH])
    engine.dispose()
    return timer.seconds


def run(rows: int, postgres: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        shop_url = f"sqlite:///{tmp / 'shop.db'}"
        fill_source(shop_url, source_table(PROPERTIES), 0, rows, PROPERTIES, base=source_base(rows))
        read_s = _source_read(shop_url)
        with scratch_url(postgres, tmp) as url:
            store = open_store(url)
            shop = connector(shop_url)
            with StatementCounter(store._engine) as stmts, Timer() as timer:
                summary = run_sync(spec(PROPERTIES), shop, store)
            shop.close()
            store.close()
            if summary.get("inbound.created") != rows:
                raise RuntimeError(f"expected {rows} created, got {dict(summary.counts)}")
            limit_s = _limit(url, rows)
    batches = -(-rows // BATCH)
    read_share = read_s / timer.seconds
    per_batch = stmts.count / batches
    return {
        "database": db_label(postgres),
        "rows": rows,
        "engine_s": round(timer.seconds, 2),
        "engine_rec_s": round(rows / timer.seconds),
        "limit_s": round(limit_s, 2),
        "limit_rec_s": round(rows / limit_s),
        "ratio": round(limit_s / timer.seconds, 3),
        "source_read_s": round(read_s, 2),
        "read_share": round(read_share, 3),
        "stmts_per_batch": round(per_batch, 1),
        "target": f"<= {TARGET_STATEMENTS} stmts/500, read <= {TARGET_READ_SHARE:.0%} of pass",
        "verdict": judge(
            {
                "stmts": per_batch <= TARGET_STATEMENTS,
                "read": read_share <= TARGET_READ_SHARE,
            }
        ),
        "statements": stmts.count,
        "statements_by_verb": stmts.by_verb,
        "statements_by_table": stmts.by_table,
        "executemany_calls": stmts.executemany,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    quiet()
    results = [run(args.rows, None)]
    if args.postgres:
        results.append(run(args.rows, args.postgres))
    print_table("1. Apply rate vs the executemany limit", results, COLUMNS)
    write_json(RESULTS / "apply_rate.json", results)


if __name__ == "__main__":
    main()
