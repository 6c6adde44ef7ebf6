"""Measurement 3: an incremental pass costs in proportion to the changes, not the source.

One source table grows through the sizes (1,000 → 10,000 → 100,000 rows, each new slice synced
by the engine, so every size sees a fully linked store); at each size 100 rows are edited
outside (a new city and a fresh updated_at, as an application would) and one pass is measured:
SQL statements on the store (SQLAlchemy ``before_cursor_execute`` events), connector calls
(the contract methods, wrapped) and wall time. Three mapped properties keep the seeding short;
the pass's cost does not depend on the field count.

Run: ``.venv/bin/python bench/incremental.py [--sizes 1000,10000] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a script

from bench._common import (
    RESULTS,
    CallCounter,
    StatementCounter,
    Timer,
    connector,
    db_label,
    fill_source,
    judge,
    open_store,
    print_table,
    quiet,
    scratch_url,
    source_table,
    spec,
    write_json,
)
from syncd.engine import run_sync

FIELDS = ("email", "firstname", "city")
CHANGED = 100
COLUMNS = [
    "database",
    "source_rows",
    "changed",
    "updated",
    "pass_s",
    "sql_statements",
    "connector_calls",
    "seed_s",
    "target",
    "verdict",
]
#: The issue's ceiling for one pass with 100 changes, at any source size.
TARGET_SECONDS = 1.0


def judge_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each size against the smallest of its database: the same statements and calls, < 1 s."""
    first: dict[str, dict[str, Any]] = {}
    for row in rows:
        base = first.setdefault(row["database"], row)
        row["target"] = f"stmts & calls = at {base['source_rows']:,}, < {TARGET_SECONDS:.0f} s"
        row["verdict"] = judge(
            {
                "stmts": row["sql_statements"] == base["sql_statements"],
                "calls": row["connector_calls"] == base["connector_calls"],
                "time": row["pass_s"] < TARGET_SECONDS,
            }
        )
    return rows


def run(sizes: Sequence[int], postgres: str | None) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        shop_url = f"sqlite:///{tmp / 'shop.db'}"
        table = source_table(FIELDS)
        # One synthetic clock, a day back, for every write to the source: each new slice
        # and each edit is later than everything before it, as in a live table.
        base = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
        tick = 0
        sync = spec(FIELDS)
        with scratch_url(postgres, tmp) as url:
            store = open_store(url, FIELDS)
            shop = connector(shop_url)
            calls = CallCounter(shop)
            have = 0
            for size in sorted(sizes):
                fill_source(
                    shop_url, table, have, size, FIELDS, base=base + timedelta(milliseconds=tick)
                )
                tick += size - have
                with Timer() as seed:
                    seeded = run_sync(sync, shop, store)
                if seeded.get("inbound.created") != size - have:
                    raise RuntimeError(f"seeding {size}: {dict(seeded.counts)}")
                have = size
                # Spread over the table so no size favours rows at one end.
                step = size // CHANGED
                changed_ids = [1 + k * step for k in range(CHANGED)]
                source = create_engine(shop_url)
                with source.begin() as conn:
                    conn.execute(
                        update(table)
                        .where(table.c.id.in_(changed_ids))
                        .values(
                            city=f"Paris-{size}",
                            updated_at=base + timedelta(milliseconds=tick),
                        )
                    )
                source.dispose()
                tick += 1
                calls.reset()
                with StatementCounter(store._engine) as stmts, Timer() as timer:
                    summary = run_sync(sync, shop, store)
                results.append(
                    {
                        "database": db_label(postgres),
                        "source_rows": size,
                        "changed": CHANGED,
                        "updated": summary.get("inbound.updated"),
                        "pass_s": round(timer.seconds, 3),
                        "sql_statements": stmts.count,
                        "connector_calls": calls.total,
                        "seed_s": round(seed.seconds, 2),
                        "statements_by_verb": stmts.by_verb,
                        "statements_by_table": stmts.by_table,
                        "calls_by_method": dict(calls.calls),
                    }
                )
            shop.close()
            store.close()
    return judge_rows(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--postgres")
    args = parser.parse_args()
    quiet()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = run(sizes, None)
    if args.postgres:
        results += run(sizes, args.postgres)
    print_table("3. Incremental pass with 100 changes", results, COLUMNS)
    write_json(RESULTS / "incremental.json", results)


if __name__ == "__main__":
    main()
