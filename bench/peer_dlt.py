"""Measurement 7: a peer on the same work — dlt's ``merge`` beside syncd, in the same run.

One SQLite source table of N customers with 20 properties (~1 KB) is loaded twice into the same
database: by syncd (an initial two-way sync matched on email, the whole engine) and by dlt
(``sql_table`` with an ``updated_at`` incremental cursor, ``write_disposition="merge"``,
``primary_key="email"``, its default ``delete-insert`` merge). On SQLite dlt writes through its
``sqlalchemy`` destination into the store's own file (dataset ``main``); on PostgreSQL through
its ``postgres`` destination into a scratch schema of the same database. Then 1% of the source
rows are edited (a new city and a fresh ``updated_at``) and each loads again.

The verdict is syncd's time over dlt's (``time_ratio``): the initial sync must take at most 2/3
of dlt's time (syncd 1.5x faster), the 1% changed pass at most dlt's (issue 16).
dlt only lands rows in a table; syncd's pass also keeps property history, the change journal,
links and bases and diffs every field three ways, which is what a two-way sync needs.

dlt is a benchmark-only dependency (``pip install "dlt[postgres,sqlalchemy]"``); without it
this stage reports that it was skipped. Its telemetry is switched off before it is imported.

Run: ``.venv/bin/python bench/peer_dlt.py [--rows N] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a script

from bench._common import (
    PROPERTIES,
    RESULTS,
    Timer,
    connector,
    db_label,
    fill_source,
    open_store,
    print_table,
    quiet,
    scratch_url,
    source_base,
    source_table,
    spec,
    verdict,
    write_json,
)
from store import make_engine
from syncd.engine import run_sync

COLUMNS = [
    "database",
    "phase",
    "rows",
    "syncd_s",
    "syncd_rec_s",
    "dlt_s",
    "dlt_rec_s",
    "time_ratio",
    "target",
    "verdict",
]


class DltMissingError(RuntimeError):
    """dlt is not installed: this stage cannot run (install it to measure the peer)."""


def _dlt_available() -> None:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    try:
        import dlt  # noqa: F401
    except ImportError as exc:
        raise DltMissingError(
            'dlt is not installed: .venv/bin/pip install "dlt[postgres,sqlalchemy]"'
        ) from exc


class _DltLoad:
    """One dlt pipeline from the source table into the store's database, merge on email."""

    def __init__(self, source_url: str, destination_url: str, dataset: str, tmp: Path) -> None:
        import dlt

        self.source_url = source_url
        if destination_url.startswith("sqlite"):
            destination: Any = dlt.destinations.sqlalchemy(credentials=destination_url)
        else:
            # dlt insists on a password; the local test server trusts, so any will do.
            given = make_url(destination_url)
            if given.password is None:
                given = given.set(password="unused")
            credentials = given.render_as_string(hide_password=False)
            destination = dlt.destinations.postgres(credentials=credentials)
        self.pipeline = dlt.pipeline(
            pipeline_name=f"bench_{uuid.uuid4().hex[:6]}",
            destination=destination,
            dataset_name=dataset,
            pipelines_dir=str(tmp / "dlt"),
        )

    def run(self) -> tuple[float, int]:
        """Seconds for one ``pipeline.run`` and the rows it loaded."""
        import dlt
        from dlt.sources.sql_database import sql_table

        resource = sql_table(
            credentials=self.source_url,
            table="customers",
            incremental=dlt.sources.incremental("updated_at"),
        )
        resource.apply_hints(primary_key="email", write_disposition="merge")
        with warnings.catch_warnings(), Timer() as timer:
            warnings.simplefilter("ignore")  # dlt's own SQLAlchemy deprecation notices
            self.pipeline.run(resource)
        trace = self.pipeline.last_trace
        normalized = trace.last_normalize_info if trace is not None else None
        counts = normalized.row_counts if normalized is not None else {}
        return timer.seconds, int(counts.get("customers", 0))


def _edit(shop_url: str, rows: int, changed: int, moment: datetime) -> None:
    """``changed`` rows spread over the table get a new city and a fresh updated_at."""
    table = source_table(PROPERTIES)
    step = max(1, rows // changed)
    ids = [1 + k * step for k in range(changed)]
    engine = create_engine(shop_url)
    with engine.begin() as conn:
        conn.execute(
            update(table).where(table.c.id.in_(ids)).values(city="Paris-1pct", updated_at=moment)
        )
    engine.dispose()


def _drop_schemas(postgres: str, dataset: str) -> None:
    engine = make_engine(postgres)
    with engine.begin() as conn:
        for schema in (dataset, f"{dataset}_staging"):
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


#: The largest ``syncd_s / dlt_s`` each phase may show.
TARGET_RATIO = {"initial": 2 / 3, "1% changed": 1.0}


def run(rows: int, postgres: str | None) -> list[dict[str, Any]]:
    _dlt_available()
    changed = max(1, rows // 100)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        shop_url = f"sqlite:///{tmp / 'shop.db'}"
        base = source_base(rows)
        fill_source(shop_url, source_table(PROPERTIES), 0, rows, PROPERTIES, base=base)
        dataset = "main" if postgres is None else f"bench_dlt_{uuid.uuid4().hex[:8]}"
        with scratch_url(postgres, tmp) as url:
            store = open_store(url)
            shop = connector(shop_url)
            sync = spec(PROPERTIES)
            try:
                load = _DltLoad(shop_url, postgres or url, dataset, tmp)
                with Timer() as syncd_initial:
                    first = run_sync(sync, shop, store)
                dlt_initial, dlt_rows = load.run()
                if first.get("inbound.created") != rows or dlt_rows != rows:
                    raise RuntimeError(
                        f"initial: syncd created {first.get('inbound.created')}, "
                        f"dlt loaded {dlt_rows}, of {rows}"
                    )
                # Later than every row, yet in the past, as an application's edit would be.
                _edit(shop_url, rows, changed, datetime.now(UTC).replace(tzinfo=None))
                with Timer() as syncd_changed:
                    second = run_sync(sync, shop, store)
                dlt_changed, dlt_rows = load.run()
                if second.get("inbound.updated") != changed:
                    raise RuntimeError(f"1% changed: syncd {dict(second.counts)}")
            finally:
                shop.close()
                store.close()
                if postgres is not None:
                    _drop_schemas(postgres, dataset)
    results = []
    for phase, n, syncd_s, dlt_s in (
        ("initial", rows, syncd_initial.seconds, dlt_initial),
        ("1% changed", changed, syncd_changed.seconds, dlt_changed),
    ):
        ratio = syncd_s / dlt_s
        target = TARGET_RATIO[phase]
        results.append(
            {
                "database": db_label(postgres),
                "phase": phase,
                "rows": n,
                "syncd_s": round(syncd_s, 2),
                "syncd_rec_s": round(n / syncd_s),
                "dlt_s": round(dlt_s, 2),
                "dlt_rec_s": round(n / dlt_s),
                "time_ratio": round(ratio, 2),
                "target": f"ratio <= {'2/3' if target < 1 else '1'}",
                "verdict": verdict(ratio <= target),
                "dlt_rows_loaded": dlt_rows if phase != "initial" else rows,
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="50000,100000", help="comma-separated sizes")
    parser.add_argument("--postgres")
    args = parser.parse_args()
    quiet()
    sizes = [int(n) for n in args.rows.split(",")]
    results = [row for n in sizes for row in run(n, None)]
    if args.postgres:
        results += [row for n in sizes for row in run(n, args.postgres)]
    print_table("7. A peer on the same work: dlt merge", results, COLUMNS)
    write_json(RESULTS / "peer_dlt.json", results)


if __name__ == "__main__":
    main()
