"""Each console page's server time on a large store: 100,000 contacts, 1,000,000 sync log
rows and 10,000 conflicts (half open), 3 syncs, 1,200 parked errors.

Run: ``.venv/bin/python bench/console.py [--postgres URL] [--records N] [--log-rows N]
[--conflicts N] [--out bench/results/console.json]``.

Contacts are loaded through ``Store.create_records``; the sync log, runs and conflicts (the
engine's history, which no public call backdates) are inserted with plain SQL in batches, as
30 days of passes would have left them, with every sync, direction and action mixed. The daemon's HTTP app serves the
console on 127.0.0.1 and each page is fetched with a write token (``Authorization: Bearer``)
over a kept-alive connection: the median and the slowest of ``RUNS`` requests after one
warm-up. The target is a median of at most 100 ms per page. PostgreSQL runs in a scratch
schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from config import load_config
from store import ChangeSource, SourceType, Store, make_engine
from syncd.http import create_app

RECORDS = 100_000
LOG_ROWS = 1_000_000
CONFLICTS = 10_000
PARKED = 1_000
REFUSED = 200
RUNS = 15
BATCH = 1_000
LOG_BATCH = 10_000
TARGET_MS = 100.0
SOURCE = ChangeSource(SourceType.API, "bench")
UI = ChangeSource(SourceType.CRM_UI, "bench-operator")
SYNCS = ("shop-customers", "erp-contacts", "newsletter")
ACTIONS = ("updated",) * 6 + ("created", "skipped", "skipped", "conflict", "error", "archived")

CONFIG = """
store: {{url: "{db}"}}
connectors:
  shop:
    type: sql
    url: "sqlite:///{shop}"
    objects:
      customers: {{table: customers}}
syncs:
{syncs}
"""
SYNC = """  {name}:
    connector: shop
    external_object: customers
    crm_object: contacts
    schedule: {{every: 5m}}
    match: {{crm: email, external: email}}
    conflict: manual
    fields:
      - {{crm: email, external: email}}
      - {{crm: firstname, external: first_name}}
"""


def _contacts(start: int, n: int) -> list[dict[str, object]]:
    return [
        {"email": f"p{i}@bench.example.com", "firstname": f"First{i}", "lastname": f"Last{i}"}
        for i in range(start, start + n)
    ]


_INSERT_RUN = text(
    "INSERT INTO sync_runs (sync, started_at, finished_at, status, summary)"
    " VALUES (:sync, :started_at, :finished_at, :status, :summary)"
)
_INSERT_LOG = text(
    "INSERT INTO sync_log (sync, run_id, at, crm_object, crm_id, external_id, direction,"
    " action, changes, message, level) VALUES (:sync, :run_id, :at, :crm_object, :crm_id,"
    " :external_id, :direction, :action, :changes, :message, :level)"
)
_INSERT_CONFLICT = text(
    "INSERT INTO sync_conflicts (sync, run_id, crm_object, crm_id, external_id, field, rule,"
    " base, has_base, crm_value, external_value, winner, loser_value, open, reason,"
    " created_at) VALUES (:sync, :run_id, :crm_object, :crm_id, :external_id, :field, :rule,"
    " :base, :has_base, :crm_value, :external_value, :winner, :loser_value, :open, :reason,"
    " :created_at)"
)
_CHANGED = json.dumps(
    {"values_changed": {"root['firstname']": {"old_value": "a", "new_value": "b"}}}
)


def _stamper(engine: Engine) -> Any:
    """Times as the store keeps them: naive UTC text on SQLite, aware on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        return lambda moment: moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return lambda moment: moment


def _load(store: Store, url: str, records: int, log_rows: int, conflicts: int) -> dict[str, Any]:
    """Fill the store; returns the ids the pages are asked about and the load times."""
    rng = random.Random(17)
    now = datetime.now(UTC)
    started = time.perf_counter()
    ids: list[int] = []
    for i in range(0, records, BATCH):
        made = store.create_records("contacts", _contacts(i, min(BATCH, records - i)), SOURCE)
        ids.extend(r.id for r in made.records)
    loaded = {"records_seconds": round(time.perf_counter() - started, 1)}
    star = ids[len(ids) // 2]  # the record page's record: history, log rows, conflicts
    for k in range(5):
        store.update_record("contacts", star, {"firstname": f"Star{k}"}, UI)
    started = time.perf_counter()
    month = 30 * 86400
    runs_per_sync = 300
    engine = make_engine(url)
    stamp = _stamper(engine)
    run_rows = [
        {
            "sync": sync,
            "started_at": stamp(now - timedelta(seconds=month * (1 - k / runs_per_sync))),
            "finished_at": stamp(now - timedelta(seconds=month * (1 - k / runs_per_sync) - 5)),
            "status": "ok" if k % 50 else "failed",
            "summary": json.dumps(
                {"inbound.read": 40, "inbound.updated": 30, "outbound.updated": 10}
                if k % 50
                else {"error": "HTTP 503 from shop"}
            ),
        }
        for sync in SYNCS
        for k in range(runs_per_sync)
    ]
    with engine.begin() as conn:
        conn.execute(_INSERT_RUN, run_rows)
        first_run = int(conn.execute(text("SELECT min(id) FROM sync_runs")).scalar_one())
    done = 0
    while done < log_rows:
        size = min(LOG_BATCH, log_rows - done)
        rows = []
        for j in range(done, done + size):
            s = j % len(SYNCS)
            age = month * (1 - j / log_rows)
            crm_id = star if j % 50_000 == 0 else ids[rng.randrange(len(ids))]
            action = ACTIONS[rng.randrange(len(ACTIONS))]
            rows.append(
                {
                    "sync": SYNCS[s],
                    "run_id": first_run + s * runs_per_sync + int((j / log_rows) * runs_per_sync),
                    "at": stamp(now - timedelta(seconds=age)),
                    "crm_object": "contacts",
                    "crm_id": crm_id,
                    "external_id": str(crm_id + 1_000_000),
                    "direction": "inbound" if rng.random() < 0.7 else "outbound",
                    "action": action,
                    "changes": _CHANGED if action == "updated" else None,
                    "message": "HTTP 422: invalid email" if action == "error" else None,
                    "level": "error" if action == "error" else "info",
                }
            )
        with engine.begin() as conn:
            conn.execute(_INSERT_LOG, rows)
        done += size
    loaded["log_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    rows = []
    for k in range(conflicts):
        crm_id = star if k % 2_000 == 0 else ids[rng.randrange(len(ids))]
        open_ = k % 2 == 0
        rows.append(
            {
                "sync": SYNCS[k % len(SYNCS)],
                "run_id": first_run + k % runs_per_sync,
                "crm_object": "contacts",
                "crm_id": crm_id,
                "external_id": str(crm_id + 1_000_000),
                "field": "firstname",
                "rule": "manual" if open_ else "most_recent",
                "base": "Old",
                "has_base": True,
                "crm_value": f"Crm{k}",
                "external_value": f"Ext{k}",
                "winner": None if open_ else "external",
                "loser_value": None if open_ else f"Crm{k}",
                "open": open_,
                "reason": "changed on both sides",
                "created_at": stamp(now - timedelta(seconds=month * (1 - k / conflicts))),
            }
        )
    with engine.begin() as conn:
        conn.execute(_INSERT_CONFLICT, rows)
    loaded["conflicts_seconds"] = round(time.perf_counter() - started, 1)
    causes = ("HTTP 409 from shop: {} taken", "HTTP 422: {} is not valid", "timeout after 30s")

    def park(tx: Any) -> None:
        for k in range(PARKED):
            tx.queue_outbound([ids[k]])
            tx.outbound_failed(
                ids[k], causes[k % 3].format(f"p{k}@bench.example.com"), retriable=False
            )

    store.sync_write(SYNCS[0], park)
    store.sync_write(
        SYNCS[1],
        lambda tx: tx.inbound_failed(
            {f"x{k}": f"email x{k}@ is not valid" for k in range(REFUSED)}
        ),
    )
    if store.dialect == "postgresql":
        # Statistics and the visibility map, as autovacuum would keep them.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    mid_log = int(log_rows * 0.6)
    return {"star": star, "before_log": mid_log, "before_conflict": conflicts // 2, **loaded}


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def _pages(found: dict[str, Any]) -> dict[str, str]:
    day = datetime.now(UTC) - timedelta(days=2)
    since, until = (
        day.strftime("%Y-%m-%dT%H:%M"),
        (day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    sync = f"/console/syncs/{SYNCS[0]}"
    return {
        "overview": "/console/",
        "sync": sync,
        "sync, action=error": f"{sync}?action=error",
        "sync, direction+action": f"{sync}?direction=outbound&action=archived",
        "sync, one record": f"{sync}?record={found['star']}",
        "sync, one day": f"{sync}?since={since}&until={until}",
        "sync, older page": f"{sync}?before={found['before_log']}",
        "conflicts open": "/console/conflicts",
        "conflicts settled": "/console/conflicts?state=settled",
        "conflicts older page": f"/console/conflicts?before={found['before_conflict']}",
        "conflicts of a sync": f"/console/conflicts?sync={SYNCS[2]}",
        "errors": "/console/errors",
        "record + trace": f"/console/records/contacts/{found['star']}",
    }


def measure(url: str, tmp: Path, records: int, log_rows: int, conflicts: int) -> dict[str, Any]:
    config_path = tmp / f"console-{uuid.uuid4().hex[:6]}.yaml"
    config_path.write_text(
        CONFIG.format(
            db=url.replace('"', '\\"'),
            shop=tmp / "shop.db",
            syncs="".join(SYNC.format(name=name) for name in SYNCS),
        )
    )
    config = load_config(config_path)
    with Store.open(url) as store:
        found = _load(store, url, records, log_rows, conflicts)
        _info, token = store.create_api_token(f"bench-{uuid.uuid4().hex[:6]}", ["write"])
        server, thread, base = _serve(create_app(config, store))
        result: dict[str, Any] = {k: v for k, v in found.items() if k.endswith("seconds")}
        try:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                for name, path in _pages(found).items():
                    answer = client.get(path)  # warm-up, and the answer is checked
                    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                    times = []
                    for _ in range(RUNS):
                        start = time.perf_counter()
                        client.get(path)
                        times.append((time.perf_counter() - start) * 1000)
                    result[name] = {
                        "median_ms": round(statistics.median(times), 1),
                        "max_ms": round(max(times), 1),
                        "bytes": len(answer.content),
                    }
        finally:
            server.should_exit = True
            thread.join(10)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (scratch schema)")
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--log-rows", type=int, default=LOG_ROWS)
    parser.add_argument("--conflicts", type=int, default=CONFLICTS)
    parser.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--out", default="bench/results/console.json")
    args = parser.parse_args()
    sizes = (args.records, args.log_rows, args.conflicts)
    load_at_start = [round(x, 1) for x in os.getloadavg()]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.sqlite:
            results["sqlite"] = measure(f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp), *sizes)
        if args.postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(args.postgres)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                url = make_url(args.postgres).update_query_dict(
                    {"options": f"-csearch_path={schema}"}
                )
                results["postgresql"] = measure(
                    url.render_as_string(hide_password=False), Path(tmp), *sizes
                )
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    print(
        f"{args.records} contacts, {args.log_rows} sync log rows, {args.conflicts} conflicts;"
        f" median and slowest of {RUNS} requests; target median <= {TARGET_MS:g} ms;"
        f" load average at start {', '.join(map(str, load_at_start))} on {os.cpu_count()} cores"
    )
    dbs = list(results)
    print(f"{'page':<26}" + "".join(f"{db + ' median':>20}{'max':>9}" for db in dbs))
    pages = [k for k in results[dbs[0]] if isinstance(results[dbs[0]][k], dict)] if dbs else []
    for page in pages:
        cells = "".join(
            f"{results[db][page]['median_ms']:>17.1f} ms{results[db][page]['max_ms']:>9.1f}"
            for db in dbs
        )
        flag = "" if all(results[db][page]["median_ms"] <= TARGET_MS for db in dbs) else "  OVER"
        print(f"{page:<26}{cells}{flag}")
    for db in dbs:
        loads = ", ".join(f"{k} {v}" for k, v in results[db].items() if k.endswith("seconds"))
        print(f"{db} load: {loads}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "records": args.records,
        "log_rows": args.log_rows,
        "conflicts": args.conflicts,
        "parked": PARKED + REFUSED,
        "runs": RUNS,
        "target_median_ms": TARGET_MS,
        "load_average_at_start": load_at_start,
        "cpus": os.cpu_count(),
        "results": results,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
