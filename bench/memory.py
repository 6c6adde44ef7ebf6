"""Measurement 5: peak memory of an initial sync stays flat as the source grows tenfold.

Each size runs in a fresh interpreter (``--child``) so no allocation of an earlier run counts:
the child fills a SQLite source with N rows (the six built-in contact fields), syncs them into
the store it is given, and prints its VmHWM (peak resident set) from /proc at the end, and
the VmHWM just before the sync, so the sync's own growth is visible apart from start-up.

Run: ``.venv/bin/python bench/memory.py [--sizes 100000,1000000] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a script

from bench._common import (
    RESULTS,
    STANDARD,
    Timer,
    connector,
    db_label,
    fill_source,
    open_store,
    print_table,
    profiled,
    quiet,
    scratch_url,
    source_base,
    source_table,
    spec,
    verdict,
    vm_hwm_mb,
    write_json,
)

COLUMNS = [
    "database",
    "rows",
    "sync_s",
    "rec_s",
    "hwm_before_mb",
    "peak_mb",
    "growth_mb",
    "peak_vs_smallest_mb",
    "target",
    "verdict",
]
#: The issue's ceiling: how much the peak may grow from the smallest size to the largest.
TARGET_GROWTH_MB = 50.0


def child(rows: int, store_url: str) -> dict[str, Any]:
    from syncd.engine import run_sync

    with tempfile.TemporaryDirectory() as tmp:
        shop_url = f"sqlite:///{Path(tmp) / 'shop.db'}"
        fill_source(shop_url, source_table(STANDARD), 0, rows, STANDARD, base=source_base(rows))
        store = open_store(store_url, STANDARD)
        shop = connector(shop_url)
        before = vm_hwm_mb()
        with profiled(f"memory-{rows}"), Timer() as timer:
            summary = run_sync(spec(STANDARD), shop, store)
        peak = vm_hwm_mb()
        shop.close()
        store.close()
    if summary.get("inbound.created") != rows:
        raise RuntimeError(f"expected {rows} created, got {dict(summary.counts)}")
    return {"rows": rows, "sync_s": round(timer.seconds, 2), "before": before, "peak": peak}


def run(sizes: Sequence[int], postgres: str | None) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for rows in sizes:
        with tempfile.TemporaryDirectory() as tmp, scratch_url(postgres, Path(tmp)) as url:
            done = subprocess.run(
                [sys.executable, __file__, "--child", "--rows", str(rows), "--store", url],
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"memory child for {rows} rows failed:\n{done.stderr[-3000:]}")
        out = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(
            {
                "database": db_label(postgres),
                "rows": rows,
                "sync_s": out["sync_s"],
                "rec_s": round(rows / out["sync_s"]),
                "hwm_before_mb": round(out["before"], 1),
                "peak_mb": round(out["peak"], 1),
                "growth_mb": round(out["peak"] - out["before"], 1),
            }
        )
    smallest = results[0]["peak_mb"]
    for row in results:
        more = row["peak_mb"] - smallest
        row["peak_vs_smallest_mb"] = round(more, 1)
        row["target"] = f"peak +<= {TARGET_GROWTH_MB:.0f} MB vs {results[0]['rows']:,} rows"
        row["verdict"] = verdict(more <= TARGET_GROWTH_MB) if row is not results[0] else "-"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--postgres")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet()
    if args.child:
        print(json.dumps(child(args.rows, args.store)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results = run(sizes, None)
    if args.postgres:
        results += run(sizes, args.postgres)
    print_table("5. Peak RSS of an initial sync", results, COLUMNS)
    write_json(RESULTS / "memory.json", results)


if __name__ == "__main__":
    main()
