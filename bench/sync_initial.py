"""The sync engine end to end: an initial sync of N external rows, then quiet and 1% changed.

A SQLite "shop" table with N customers (6 mapped fields) is synced into an empty store through
the SQL connector and the whole engine (links, bases, history, journal, log in each page's
transaction); then a pass with no changes, then one with 1% of the rows edited outside.

Run: ``.venv/bin/python bench/sync_initial.py [--rows N] [--postgres URL] [--out FILE]``.
Prints a table and writes JSON. Superseded by ``bench/initial_sync.py`` (stage 2 of
``bench/run.py``: 20 properties, SQL and REST sources, empty and half-filled CRM, peak RSS);
kept for its quick before/after comparison with the README's first figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    text,
    update,
)

from conflict import Direction, Rule
from connectors.sql import SqlConnector, SqlObjectOptions, SqlOptions
from mapping import FieldMapping, Lowercase
from store import Store, make_engine
from syncd.engine import SyncSpec, run_sync

FIELDS = [
    ("email", "email"),
    ("firstname", "first_name"),
    ("lastname", "last_name"),
    ("city", "city"),
    ("jobtitle", "title"),
    ("company", "company"),
]


def _shop(path: Path, rows: int) -> tuple[str, Table]:
    url = f"sqlite:///{path}"
    meta = MetaData()
    table = Table(
        "customers",
        meta,
        Column("id", Integer, primary_key=True),
        *(Column(ext, String(200)) for _, ext in FIELDS),
        Column("updated_at", DateTime, nullable=False),
    )
    engine = create_engine(url)
    meta.create_all(engine)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        for start in range(0, rows, 5000):
            conn.execute(
                insert(table),
                [
                    {
                        "id": i + 1,
                        "email": f"p{i}@bench.example.com",
                        "first_name": f"First{i}",
                        "last_name": f"Last{i}",
                        "city": "Berlin",
                        "title": "Engineer",
                        "company": "Acme",
                        "updated_at": now - timedelta(seconds=rows - i),
                    }
                    for i in range(start, min(rows, start + 5000))
                ],
            )
    engine.dispose()
    return url, table


def _spec() -> SyncSpec:
    mappings = [FieldMapping(("email",), "email", transform=Lowercase())] + [
        FieldMapping((crm,), ext) for crm, ext in FIELDS[1:]
    ]
    return SyncSpec.build(
        "bench",
        connector="shop",
        external_object="customers",
        crm_object="contacts",
        mappings=mappings,
        direction=Direction.TWO_WAY,
        default_rule=Rule.CRM_WINS,
        match_crm="email",
        match_external="email",
    )


def _store_url(postgres: str | None, tmp: Path) -> str:
    if postgres is None:
        return f"sqlite:///{tmp / 'store.db'}"
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    engine = make_engine(postgres)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{postgres}?options=-csearch_path%3D{schema}"


def _drop_schema(postgres: str, store_url: str) -> None:
    """Leave the server as found: the scratch schema goes with the run."""
    schema = store_url.rsplit("%3D", 1)[1]
    engine = make_engine(postgres)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def run(rows: int, postgres: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        shop_url, table = _shop(tmp / "shop.db", rows)
        store_url = _store_url(postgres, tmp)
        store = Store.open(store_url)
        connector = SqlConnector(
            "shop",
            SqlOptions(
                url=shop_url,
                objects={"customers": SqlObjectOptions(table="customers", lookback_seconds=0)},
            ),
        )
        spec = _spec()
        started = time.perf_counter()
        first = run_sync(spec, connector, store)
        initial = time.perf_counter() - started
        started = time.perf_counter()
        run_sync(spec, connector, store)
        quiet = time.perf_counter() - started
        changed = max(1, rows // 100)
        engine = create_engine(shop_url)
        with engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.id <= changed)
                .values(city="Paris", updated_at=datetime.now(UTC).replace(tzinfo=None))
            )
        engine.dispose()
        started = time.perf_counter()
        third = run_sync(spec, connector, store)
        incremental = time.perf_counter() - started
        connector.close()
        store.close()
        if postgres:
            _drop_schema(postgres, store_url)
        return {
            "database": "PostgreSQL" if postgres else "SQLite",
            "rows": rows,
            "initial_s": round(initial, 2),
            "initial_per_s": round(rows / initial),
            "created": first.get("inbound.created"),
            "quiet_s": round(quiet, 2),
            "changed": changed,
            "incremental_s": round(incremental, 2),
            "updated": third.get("inbound.updated"),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--postgres")
    parser.add_argument("--out", default="bench/results/sync_initial.json")
    args = parser.parse_args()
    results = [run(args.rows, None)]
    if args.postgres:
        results.append(run(args.rows, args.postgres))
    print(
        f"{'database':<11} {'rows':>7} {'initial':>9} {'rec/s':>7} {'quiet':>7} {'1% changed':>11}"
    )
    for r in results:
        print(
            f"{r['database']:<11} {r['rows']:>7} {r['initial_s']:>8}s {r['initial_per_s']:>7}"
            f" {r['quiet_s']:>6}s {r['incremental_s']:>10}s"
        )
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
