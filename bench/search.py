"""Search on 100,000 contacts: an EQ on an indexed property (email) and on one without (city).

Run: ``.venv/bin/python bench/search.py [--postgres URL] [--records N] [--out bench/results/search.json]``.
Loads contacts through ``Store.create_records`` in batches of 1,000, then times each search
(the median of several runs of ``search_records``, which also counts the matches, and of
``count_records``). PostgreSQL runs in a scratch schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from store import ChangeSource, FilterGroup, SourceType, Store, make_engine, parse_filter_expression

RECORDS = 100_000
BATCH = 1_000
RUNS = 7
SOURCE = ChangeSource(SourceType.API, "bench")
CITIES = ("Berlin", "Paris", "Lisbon", "Oslo", "Madrid", "Rome", "Vienna", "Dublin", "Prague")
SEARCHES = {
    "email_eq_indexed": "email EQ P4242@bench.example.com",
    "city_eq_not_indexed": "city EQ oslo",
}


def _contacts(start: int, n: int) -> list[dict[str, object]]:
    return [
        {
            "email": f"p{i}@bench.example.com",
            "firstname": f"First{i}",
            "lastname": f"Last{i}",
            "city": CITIES[i % len(CITIES)],
            "lifecyclestage": "lead" if i % 3 else "customer",
        }
        for i in range(start, start + n)
    ]


def _median_ms(work: Callable[[], object]) -> float:
    work()  # warm caches once
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 2)


def measure(url: str, records: int) -> dict[str, float]:
    result: dict[str, float] = {}
    with Store.open(url) as store:
        start = time.perf_counter()
        for i in range(0, records, BATCH):
            store.create_records("contacts", _contacts(i, min(BATCH, records - i)), SOURCE)
        result["load_seconds"] = round(time.perf_counter() - start, 1)
        with store._engine.begin() as conn:  # statistics, as autovacuum would gather
            conn.execute(text("ANALYZE"))
        for name, expression in SEARCHES.items():
            groups = [FilterGroup((parse_filter_expression(expression),))]
            page = store.search_records("contacts", groups, limit=100)
            result[f"{name}_matches"] = page.total
            result[f"{name}_search_ms"] = _median_ms(
                lambda g=groups: store.search_records("contacts", g, limit=100)  # type: ignore[misc]
            )
            result[f"{name}_count_ms"] = _median_ms(
                lambda g=groups: store.count_records("contacts", g)  # type: ignore[misc]
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (scratch schema)")
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--out", default="bench/results/search.json")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.records)
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = make_url(args.postgres).update_query_dict({"options": f"-csearch_path={schema}"})
            results["postgresql"] = measure(url.render_as_string(hide_password=False), args.records)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    print(f"{args.records} contacts; median of {RUNS} runs; search = page of 100 + total")
    print(f"{'database':<12}{'search':<22}{'matches':>8}{'search ms':>11}{'count ms':>10}")
    for db, r in results.items():
        for name in SEARCHES:
            print(
                f"{db:<12}{name:<22}{r[f'{name}_matches']:>8.0f}"
                f"{r[f'{name}_search_ms']:>11}{r[f'{name}_count_ms']:>10}"
            )
        print(f"{db:<12}{'(load)':<22}{'':>8}{r['load_seconds']:>10}s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"records": args.records, "batch": BATCH, "runs": RUNS, "results": results}
    out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
