"""CSV import rate: generated contact files of 100,000 and 1,000,000 rows, rows/s and peak RSS.

Run: ``.venv/bin/python bench/import_rate.py [--sizes 100000,1000000] [--postgres URL]
[--postgres-sizes 100000] [--out bench/results/import_rate.json]``.

Each import runs in its own subprocess, so its peak RSS (``VmHWM`` from /proc/self/status)
is that import's alone; memory should stay flat as the file grows. PostgreSQL runs in a
scratch schema that is dropped afterwards (as ``bench/store_write.py`` does).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from store import ImportRequest, Store, import_csv, make_engine

STAGES = ("subscriber", "lead", "customer")


def generate(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "Email",
                "First Name",
                "Last Name",
                "Phone Number",
                "City",
                "Job Title",
                "Lifecycle Stage",
            ]
        )
        for i in range(rows):
            writer.writerow(
                [
                    f"p{i}@bench.example.com",
                    f"First{i}",
                    f"Last{i}",
                    "+1 415 555 0100",
                    "Berlin",
                    "Engineer",
                    STAGES[i % 3],
                ]
            )


def _peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(url: str, csv_path: str) -> None:
    """One import, in this process; prints its figures as JSON."""
    with Store.open(url) as store:
        start = time.perf_counter()
        summary = import_csv(
            store, ImportRequest(path=Path(csv_path), object="contacts", mode="create")
        )
        seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "rows": summary.rows,
                "created": summary.created,
                "failed": summary.failed,
                "seconds": round(seconds, 1),
                "rows_per_second": round(summary.rows / seconds),
                "peak_rss_mb": round(_peak_rss_mb(), 1),
            }
        )
    )


def measure(url: str, csv_path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(csv_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _scratch_schema(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with make_engine(base).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def _drop_schema(base: str, schema: str) -> None:
    engine = make_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=2, metavar=("URL", "CSV"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL")
    parser.add_argument("--postgres-sizes", default="100000")
    parser.add_argument("--out", default="bench/results/import_rate.json")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    runs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        files: dict[int, Path] = {}

        def file_of(rows: int) -> Path:
            if rows not in files:
                files[rows] = Path(tmp) / f"contacts-{rows}.csv"
                generate(files[rows], rows)
            return files[rows]

        for rows in (int(s) for s in args.sizes.split(",") if s):
            db = Path(tmp) / f"bench-{rows}.db"
            runs.append({"database": "sqlite", **measure(f"sqlite:///{db}", file_of(rows))})
            db.unlink()
        if args.postgres:
            for rows in (int(s) for s in args.postgres_sizes.split(",") if s):
                schema, url = _scratch_schema(args.postgres)
                try:
                    runs.append({"database": "postgresql", **measure(url, file_of(rows))})
                finally:
                    _drop_schema(args.postgres, schema)
    print(f"{'database':<12}{'rows':>10}{'seconds':>10}{'rows/s':>9}{'peak RSS MB':>13}")
    for r in runs:
        print(
            f"{r['database']!s:<12}{r['rows']!s:>10}{r['seconds']!s:>10}"
            f"{r['rows_per_second']!s:>9}{r['peak_rss_mb']!s:>13}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"batch": ImportRequest.batch_size, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
