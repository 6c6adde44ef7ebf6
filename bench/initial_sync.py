"""Measurement 2: an initial sync end to end, from a SQL table and from a REST API.

N external records with 20 properties (~1 KB) are synced by the whole engine (two-way, matched
on email, pages of 500) from two fast local sources: the SQL connector reading a SQLite table,
and the REST connector reading our own threaded JSON API on 127.0.0.1 (``bench/_rest_server``,
cursor paging by 500). Each goes into an empty CRM and into a CRM where every other record
already exists with its email and first name (so half are created and half matched and
filled). The CRM's own records are journal entries too, so the pass's outbound half reads them
back and compares them with the external side: that is part of a real first sync.

Each run is a fresh interpreter (``--child``) so VmHWM is the sync's own peak; the API runs in
this (parent) process and counts the HTTP requests the child makes.

Run: ``.venv/bin/python bench/initial_sync.py [--rows N] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a script

from bench._common import (
    BATCH,
    PROPERTIES,
    RESULTS,
    CallCounter,
    StatementCounter,
    Timer,
    connector,
    db_label,
    fill_source,
    open_store,
    prefill_crm,
    print_table,
    profiled,
    quiet,
    row_values,
    scratch_url,
    source_base,
    source_table,
    spec,
    verdict,
    vm_hwm_mb,
    write_json,
)
from bench._rest_server import BenchApi, rest_connector, serve

#: The issue's target for the SQL source.
TARGET_RATE = 3_000
COLUMNS = [
    "database",
    "source",
    "crm",
    "rows",
    "created",
    "matched",
    "sync_s",
    "rec_s",
    "calls",
    "http_requests",
    "peak_mb",
    "target",
    "verdict",
]


def child(source: str, source_url: str, store_url: str) -> dict[str, Any]:
    """One initial sync in this fresh process; the parent reads the JSON line printed."""
    from syncd.engine import run_sync

    store = open_store(store_url)
    shop = connector(source_url) if source == "sql" else rest_connector(source_url)
    calls = CallCounter(shop)
    before = vm_hwm_mb()
    with profiled(f"initial-{source}"), StatementCounter(store._engine) as stmts, Timer() as timer:
        summary = run_sync(spec(PROPERTIES), shop, store)
    peak = vm_hwm_mb()
    shop.close()
    store.close()
    return {
        "sync_s": timer.seconds,
        "before": before,
        "peak": peak,
        "summary": dict(summary.counts),
        "calls": dict(calls.calls),
        "statements": stmts.count,
    }


def _spawn(source: str, source_url: str, store_url: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", source, source_url, store_url],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"initial sync child ({source}) failed:\n{done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def run(rows: int, postgres: str | None) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    base = source_base(rows)
    api = BenchApi()
    api.load(({"id": i + 1, **row_values(i, PROPERTIES)} for i in range(rows)), base=base)
    with tempfile.TemporaryDirectory() as tmp_name, serve(api) as api_url:
        tmp = Path(tmp_name)
        shop_url = f"sqlite:///{tmp / 'shop.db'}"
        fill_source(shop_url, source_table(PROPERTIES), 0, rows, PROPERTIES, base=base)
        for source, source_url in (("sql", shop_url), ("rest", api_url)):
            for crm in ("empty", "half"):
                with scratch_url(postgres, tmp, f"store_{source}_{crm}") as url:
                    existing = prefill_crm(url, range(0, rows, 2)) if crm == "half" else 0
                    api.reset_counts()
                    out = _spawn(source, source_url, url)
                created = out["summary"].get("inbound.created", 0)
                if created != rows - existing:
                    raise RuntimeError(
                        f"{source}/{crm}: expected {rows - existing} created, got {out['summary']}"
                    )
                rate = rows / out["sync_s"]
                is_sql = source == "sql"
                results.append(
                    {
                        "database": db_label(postgres),
                        "source": source,
                        "crm": crm,
                        "rows": rows,
                        "created": created,
                        "matched": out["summary"].get("inbound.updated", 0),
                        "sync_s": round(out["sync_s"], 2),
                        "rec_s": round(rate),
                        "calls": sum(out["calls"].values()),
                        "http_requests": None if is_sql else api.total_requests,
                        "peak_mb": round(out["peak"], 1),
                        "growth_mb": round(out["peak"] - out["before"], 1),
                        "stmts_per_batch": round(out["statements"] / -(-rows // BATCH), 1),
                        "target": f">= {TARGET_RATE:,} rec/s" if is_sql else "-",
                        "verdict": verdict(rate >= TARGET_RATE) if is_sql else "-",
                        "calls_by_method": out["calls"],
                        "http_by_route": None if is_sql else dict(api.requests),
                        "summary": out["summary"],
                    }
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    results = run(args.rows, None)
    if args.postgres:
        results += run(args.rows, args.postgres)
    print_table("2. Initial sync end to end", results, COLUMNS)
    write_json(RESULTS / "initial_sync.json", results)


if __name__ == "__main__":
    main()
