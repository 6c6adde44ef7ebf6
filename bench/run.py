"""The benchmark suite in one command: the eight measurements of the benchmarks issues.

Runs each measurement on SQLite and, when a PostgreSQL server answers (``--postgres URL``,
default the local test server), on PostgreSQL too; prints one table per measurement, each
with the issue's target it checks and a PASS/MISS verdict, and writes
``bench/results/suite.json`` after every stage. ``--readme`` then rewrites the README's
section between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` with the tables and the
command that reproduces them.

Stages: 1 ``apply`` (apply rate vs the executemany limit), 2 ``initial`` (initial sync end to
end from SQL and REST, empty and half-filled CRM), 3 ``incremental`` (cost of 100 changes at
growing source sizes), 4 ``outbound`` (CRM edits pushed to SQL and REST), 5 ``memory`` (peak
RSS at two sizes), 6 ``webhooks`` (signed webhooks at 100/s and at the highest clean rate),
7 ``peer`` (dlt's merge beside syncd, at two sizes), 8 ``api`` (the HubSpot-compatible API
under 50 concurrent clients).

Sizes: the default measures every target of issue 16 at its own size (dlt at 50,000 and
100,000 rows, memory at 100,000 and 1,000,000) and the older ones at sizes that keep the run
near 20 minutes on the 2-core development machine; ``--quick`` is a smoke run of a few
minutes; ``--issue-sizes`` uses every issue's figures (100,000-row initial syncs, 60 s webhook
and API phases). Any size can be raised alone with ``--set``, e.g.
``--set initial=20000 --set memory=10000,100000 --set webhook_seconds=60``.

Run: ``.venv/bin/python bench/run.py [--quick | --issue-sizes] [--postgres URL | --no-postgres]
[--only apply,initial,...] [--set KEY=VALUE ...] [--profile] [--readme]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a script

from bench import (
    api_load,
    apply_rate,
    incremental,
    initial_sync,
    memory,
    outbound,
    peer_dlt,
    webhooks,
)
from bench._common import (
    RESULTS,
    postgres_answers,
    postgres_autovacuum,
    print_table,
    quiet,
    write_json,
)
from bench._readme import README, rewrite_readme

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
STAGES = ("apply", "initial", "incremental", "outbound", "memory", "webhooks", "peer", "api")
#: Concurrent clients of the API stage (issue 16's figure).
API_CLIENTS = 50
SIZES: dict[str, dict[str, Any]] = {
    "quick": {
        "apply": 2_000,
        "initial": 2_000,
        "incremental": [1_000, 5_000],
        "outbound": 1_000,
        "memory": [2_000, 20_000],
        "webhook_seconds": 5,
        "probe_seconds": 2,
        "peer": [2_000],
        "api_seconds": 5,
    },
    # Chosen so the whole default run fits 15 minutes on the 2-core machine at the engine
    # speed of 2026-11-30 after the apply-path work (~3,000-4,500 rec/s SQLite, ~2,000-2,800
    # PostgreSQL): the issue's sizes for measurements 1, 3 and 4; smaller ones for 2, 5, 6 and 7,
    # whose issue sizes (1,000,000 rows for memory alone) take longer than the budget.
    "default": {
        "apply": 100_000,
        "initial": 10_000,
        "incremental": [1_000, 10_000, 100_000],
        "outbound": 10_000,
        "memory": [100_000, 1_000_000],
        "webhook_seconds": 30,
        "probe_seconds": 4,
        "peer": [50_000, 100_000],
        "api_seconds": 30,
    },
    "issue": {
        "apply": 100_000,
        "initial": 100_000,
        "incremental": [1_000, 10_000, 100_000],
        "outbound": 10_000,
        "memory": [100_000, 1_000_000],
        "webhook_seconds": 60,
        "probe_seconds": 5,
        "peer": [50_000, 100_000],
        "api_seconds": 60,
    },
}
TITLES = {
    "apply": "1. Apply rate vs the executemany limit ({apply:,} rows x 20 properties, batches of 500)",
    "initial": "2. Initial sync end to end ({initial:,} records x 20 properties; peak RSS of a "
    "fresh process)",
    "incremental": "3. Incremental pass with 100 changed rows",
    "outbound": "4. Outbound: {outbound:,} CRM creates, then {outbound:,} CRM edits, pushed out",
    "memory": "5. Peak RSS of an initial sync (fresh process each)",
    "webhooks": "6. Webhook ingress while the worker applies ({webhook_seconds:g} s phases)",
    "peer": "7. A peer on the same work: dlt merge ({peer_text} records, then 1% changed)",
    "api": "8. The HubSpot-compatible API under {api_clients} clients ({api_seconds:g} s, "
    "create/update/read/search)",
}
COLUMNS = {
    "apply": apply_rate.COLUMNS,
    "initial": initial_sync.COLUMNS,
    "incremental": incremental.COLUMNS,
    "outbound": outbound.COLUMNS,
    "memory": memory.COLUMNS,
    "webhooks": webhooks.COLUMNS,
    "peer": peer_dlt.COLUMNS,
    "api": list(api_load.SUITE_COLUMNS),
}

NOTES = [
    "Every verdict compares figures taken in the same run (a ratio or a count); seconds are "
    "printed beside them and move with the machine's load.",
    "apply: engine = initial two-way sync matched on email through the SQL connector from a "
    "SQLite source, 20 properties (~1 KB), pages of 500; limit = the same values, one TEXT "
    "column per property, SQLAlchemy Core executemany of 500 rows per transaction into one bare "
    "table in the same database; ratio = limit_s / engine_s (the engine's share of the limit); "
    "stmts_per_batch = all statements of the run / pages (with the run's fixed ones).",
    "initial: the whole engine from a SQLite table (sql) and from our threaded JSON API on "
    "127.0.0.1 with cursor paging (rest), into an empty CRM and one holding every other record "
    "(email + first name) already; 'matched' = records matched by email and filled. In the half "
    "case the CRM's own records are journal entries, so the pass's outbound half reads their "
    "external twins back (REST: one GET per record, there being no batch read).",
    "incremental: one source grown through the sizes and synced at each; 100 rows spread over "
    "the table then edited; connector_calls = contract method calls in the pass.",
    "outbound: two syncs on one CRM journal, one to a SQLite table (SQL connector), one to our "
    "API with batch create/update endpoints of 100; out_per_500 = what the outbound half sent "
    "per 500 records (HTTP requests, or SQL statements on the external database).",
    "memory: VmHWM of a fresh child process; peak_vs_smallest = its peak minus the smallest "
    "size's peak.",
    "webhooks: uvicorn serving create_app in a child process with a drain_inbox worker thread "
    "at the daemon's cadence (a drain a second); the sender is an httpx AsyncClient in this "
    "process, one signed event (a new contact) per request; 'max' = the highest rate with no "
    "error that the server answered at >= 90% of, found by doubling probes from 200/s.",
    "peer: dlt sql_table (updated_at incremental) -> merge on email (delete-insert) into the "
    "same database (SQLite: the store's file; PostgreSQL: a scratch schema); time_ratio = "
    "syncd_s / dlt_s; each size is a fresh source and store.",
    "api: bench/api_load.py's workload (each client creates, updates, reads and searches its "
    "own contacts) against the API served by uvicorn in a child process; speedup = "
    "requests/s over the figure before issue 16; lost writes = acknowledged values the store "
    "does not hold.",
    "PostgreSQL here runs with autovacuum off, so the store tables are never analyzed while "
    "they grow; look-ups then fall back to scans and the rate falls as the store grows.",
]


def _parse_set(items: list[str], sizes: dict[str, Any]) -> dict[str, Any]:
    out = dict(sizes)
    for item in items:
        key, _, value = item.partition("=")
        if key not in out or not value:
            raise SystemExit(f"--set {item!r}: use KEY=VALUE with KEY one of {', '.join(out)}")
        try:
            numbers = [float(v) if "." in v else int(v) for v in value.split(",")]
        except ValueError:
            raise SystemExit(f"--set {item!r}: the value must be a number or a list") from None
        out[key] = numbers if isinstance(out[key], list) else numbers[0]
    return out


def _stage(stage: str, sizes: dict[str, Any], databases: list[str | None]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for pg in databases:
        if stage == "apply":
            rows.append(apply_rate.run(sizes["apply"], pg))
        elif stage == "initial":
            rows += initial_sync.run(sizes["initial"], pg)
        elif stage == "incremental":
            rows += incremental.run(sizes["incremental"], pg)
        elif stage == "outbound":
            rows += outbound.run(sizes["outbound"], pg)
        elif stage == "memory":
            rows += memory.run(sizes["memory"], pg)
        elif stage == "webhooks":
            rows += webhooks.run(sizes["webhook_seconds"], sizes["probe_seconds"], pg)
        elif stage == "peer":
            for size in sizes["peer"]:
                rows += peer_dlt.run(size, pg)
        else:
            rows.append(api_load.judge(api_load.measure(pg, API_CLIENTS, sizes["api_seconds"])))
    return rows


def _profiled(stage: str, work: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """``work`` under pyinstrument; child processes profile themselves (BENCH_PROFILE)."""
    from pyinstrument import Profiler

    profiler = Profiler()
    profiler.start()
    try:
        return work()
    finally:
        profiler.stop()
        path = RESULTS / "profiles" / f"{stage}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(profiler.output_text(unicode=True, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--issue-sizes", action="store_true")
    db = parser.add_mutually_exclusive_group()
    db.add_argument("--postgres", help=f"PostgreSQL URL (default {DEFAULT_POSTGRES} if it answers)")
    db.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "suite.json")
    parser.add_argument("--only", default=",".join(STAGES), help="comma-separated stages")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override one size"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="pyinstrument each stage into bench/results/profiles/ (slower; not for figures)",
    )
    parser.add_argument(
        "--readme", action="store_true", help=f"rewrite the benchmark section of {README.name}"
    )
    args = parser.parse_args()
    quiet()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(STAGES)
    if unknown:
        parser.error(f"unknown stage(s) {sorted(unknown)}; choose from {', '.join(STAGES)}")
    if args.readme and set(only) != set(STAGES):
        parser.error("--readme needs the whole suite (the README shows every stage); drop --only")
    mode = "quick" if args.quick else "issue" if args.issue_sizes else "default"
    sizes = _parse_set(args.set, SIZES[mode])
    postgres: str | None = None
    if args.postgres:
        if not postgres_answers(args.postgres):
            parser.error("the PostgreSQL server given by --postgres does not answer")
        postgres = args.postgres
    elif not args.no_postgres and postgres_answers(DEFAULT_POSTGRES):
        postgres = DEFAULT_POSTGRES
    databases: list[str | None] = [None] if postgres is None else [None, postgres]
    if args.profile:
        os.environ["BENCH_PROFILE"] = str(RESULTS / "profiles")

    started = time.perf_counter()
    suite: dict[str, Any] = {
        "mode": mode,
        "sizes": sizes,
        "databases": ["SQLite"] + (["PostgreSQL"] if postgres else []),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "postgres_autovacuum": postgres_autovacuum(postgres) if postgres else None,
        "notes": NOTES,
        "stage_seconds": {},
        "results": {},
        "errors": {},
    }
    tables: list[str] = []
    for stage in only:
        stage_started = time.perf_counter()
        try:
            if args.profile:
                rows = _profiled(stage, lambda s=stage: _stage(s, sizes, databases))  # type: ignore[misc]
            else:
                rows = _stage(stage, sizes, databases)
        except peer_dlt.DltMissingError as missing:
            suite["errors"][stage] = str(missing)
            tables.append(f"{_title(stage, sizes)}\nskipped: {missing}")
            print(tables[-1] + "\n", flush=True)
            continue
        except Exception as exc:  # one broken stage must not lose the others' figures
            suite["errors"][stage] = "".join(traceback.format_exception(exc))[-4000:]
            print(f"stage {stage} FAILED: {type(exc).__name__}: {exc}\n", flush=True)
            continue
        finally:
            suite["stage_seconds"][stage] = round(time.perf_counter() - stage_started, 1)
        tables.append(print_table(_title(stage, sizes), rows, COLUMNS[stage]))
        suite["results"][stage] = rows
        # Written after every stage, so a long run interrupted late keeps what it measured.
        suite["total_seconds"] = round(time.perf_counter() - started, 1)
        suite["tables"] = tables
        write_json(args.out, suite)
    total = time.perf_counter() - started
    suite["total_seconds"] = round(total, 1)
    suite["tables"] = tables
    write_json(args.out, suite)
    print(f"suite ({mode}) took {total:,.0f} s: {suite['stage_seconds']}")
    if args.readme:
        if suite["errors"]:
            print("README left as it was: a stage failed", file=sys.stderr)
        else:
            rewrite_readme(tables, _command(args, mode), suite)
            print(f"rewrote the benchmark section of {README}")
    if any(not str(e).startswith("dlt is not installed") for e in suite["errors"].values()):
        sys.exit(1)


def _title(stage: str, sizes: dict[str, Any]) -> str:
    peer_text = " and ".join(f"{n:,}" for n in sizes["peer"])
    return TITLES[stage].format(**sizes, peer_text=peer_text, api_clients=API_CLIENTS)


def _command(args: argparse.Namespace, mode: str) -> str:
    parts = [".venv/bin/python bench/run.py"]
    if mode == "quick":
        parts.append("--quick")
    elif mode == "issue":
        parts.append("--issue-sizes")
    parts += [f"--set {item}" for item in args.set]
    if args.postgres:
        parts.append(f"--postgres {args.postgres}")
    elif args.no_postgres:
        parts.append("--no-postgres")
    return " ".join(parts)


if __name__ == "__main__":
    main()
