"""Batch writes through the store API: 10,000 contacts created, then updated, in batches of 500.

Run: ``.venv/bin/python bench/store_write.py [--postgres URL] [--out bench/results/store_write.json]``.
Prints a table and writes JSON. The benchmarks issue grows this into the full suite.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from store import ChangeSource, SourceType, Store, make_engine

RECORDS = 10_000
BATCH = 500
SOURCE = ChangeSource(SourceType.API, "bench")


def _contacts(n: int) -> list[dict[str, object]]:
    return [
        {
            "email": f"p{i}@bench.example.com",
            "firstname": f"First{i}",
            "lastname": f"Last{i}",
            "phone": "+1 415 555 0100",
            "city": "Berlin",
            "country": "Germany",
            "jobtitle": "Engineer",
            "company": "Acme",
            "lifecyclestage": "lead",
        }
        for i in range(n)
    ]


def measure(url: str) -> dict[str, float]:
    with Store.open(url) as store:
        rows = _contacts(RECORDS)
        start = time.perf_counter()
        for i in range(0, RECORDS, BATCH):
            store.create_records("contacts", rows[i : i + BATCH], SOURCE)
        created = time.perf_counter() - start
        ids = [r.id for r in store.list_records("contacts", limit=RECORDS)]
        start = time.perf_counter()
        for i in range(0, RECORDS, BATCH):
            store.update_records(
                "contacts", [(rid, {"city": "Paris"}) for rid in ids[i : i + BATCH]], SOURCE
            )
        updated = time.perf_counter() - start
    return {
        "create_seconds": round(created, 2),
        "create_per_second": round(RECORDS / created),
        "update_seconds": round(updated, 2),
        "update_per_second": round(RECORDS / updated),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres", help="also measure on this PostgreSQL URL (a scratch schema is used)"
    )
    parser.add_argument("--out", default="bench/results/store_write.json")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = measure(f"sqlite:///{Path(tmp) / 'bench.db'}")
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = make_url(args.postgres).update_query_dict({"options": f"-csearch_path={schema}"})
            results["postgresql"] = measure(url.render_as_string(hide_password=False))
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    print(f"{'database':<12}{'create 10k':>12}{'rec/s':>8}{'update 10k':>12}{'rec/s':>8}")
    for name, r in results.items():
        print(
            f"{name:<12}{r['create_seconds']:>11}s{r['create_per_second']:>8}"
            f"{r['update_seconds']:>11}s{r['update_per_second']:>8}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"records": RECORDS, "batch": BATCH, "results": results}, indent=2))


if __name__ == "__main__":
    main()
