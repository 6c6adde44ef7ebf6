"""Measurement 4: CRM edits pushed to the external side, and what that costs in requests.

E contacts with 20 properties are made in the CRM (as a user or an import would, untimed); two
syncs read the same journal: one to the SQL connector (an empty SQLite table) and one to the
REST connector (our own API on 127.0.0.1, with batch create/update endpoints of 100 records,
as HubSpot-style APIs have). A timed pass pushes the E creates to each; an untimed pass takes
back the echoes; then every contact is edited in the CRM (two properties) and a timed pass
pushes the E updates. Each pass is two-way, so its (empty) inbound read is part of it.

External requests: for REST, the HTTP requests the API received; for SQL, the statements run
on the external database (each a round trip, as a request is). ``calls`` counts the
connector's contract calls. The target (at most 5 external calls per 500 records where the
API batches by 100) is judged on what the outbound half sent (``out_per_500``), leaving out the
pass's inbound read.

Run: ``.venv/bin/python bench/outbound.py [--edits N] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

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
    open_store,
    print_table,
    quiet,
    row_values,
    scratch_url,
    source_table,
    spec,
    verdict,
    write_json,
)
from bench._rest_server import BenchApi, rest_connector, serve
from connectors.base import Connector
from store import ChangeSource, SourceType, Store
from syncd.engine import SyncSpec, run_sync

#: The issue's ceiling: external calls per 500 records, where the API batches by 100.
TARGET_CALLS = 5
UI = ChangeSource(SourceType.CRM_UI, "bench")
COLUMNS = [
    "database",
    "target_system",
    "phase",
    "records",
    "pass_s",
    "rec_s",
    "calls",
    "requests",
    "out_per_500",
    "target",
    "verdict",
]


def _make_contacts(store: Store, edits: int) -> list[int]:
    ids: list[int] = []
    for start in range(0, edits, BATCH):
        chunk = [row_values(i, PROPERTIES) for i in range(start, min(edits, start + BATCH))]
        ids += [r.id for r in store.create_records("contacts", chunk, UI).records]
    return ids


def _edit_contacts(store: Store, ids: list[int]) -> None:
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        store.update_records(
            "contacts", [(i, {"city": f"Lyon-{i}", "jobtitle": f"CTO-{i}"}) for i in chunk], UI
        )


def _push(
    name: str,
    phase: str,
    sync: SyncSpec,
    shop: Connector,
    store: Store,
    api: BenchApi | None,
    external_sql: StatementCounter,
    records: int,
    postgres: str | None,
) -> dict[str, Any]:
    """One timed pass; ``out`` counts only what the outbound half sent (not the inbound read)."""
    calls = CallCounter(shop)
    reading = _InboundStatements(shop, external_sql)
    if api is not None:
        api.reset_counts()
    sql_before = external_sql.count
    with Timer() as timer:
        summary = run_sync(sync, shop, store)
    done = summary.get(f"outbound.{'created' if phase == 'create' else 'updated'}")
    if done != records:
        raise RuntimeError(f"{name} {phase}: expected {records} pushed, got {dict(summary.counts)}")
    if api is not None:
        requests = api.total_requests
        out = requests - api.requests["GET list"]
        unit = "HTTP requests"
    else:
        requests = external_sql.count - sql_before
        out = requests - reading.statements
        unit = "SQL statements"
    per_500 = out / (records / BATCH)
    return {
        "database": db_label(postgres),
        "target_system": name,
        "phase": phase,
        "records": records,
        "pass_s": round(timer.seconds, 2),
        "rec_s": round(records / timer.seconds),
        "calls": calls.total,
        "requests": requests,
        "out_per_500": round(per_500, 1),
        "target": f"<= {TARGET_CALLS} {unit} / 500",
        "verdict": verdict(per_500 <= TARGET_CALLS),
        "calls_by_method": dict(calls.calls),
        "http_by_route": dict(api.requests) if api is not None else None,
    }


class _InboundStatements:
    """Statements the pass's inbound read ran on the external database (not outbound work)."""

    def __init__(self, shop: Connector, counter: StatementCounter) -> None:
        self.statements = 0
        read = shop.fetch_changes

        def counted(*args: Any, **kwargs: Any) -> Any:
            before = counter.count
            try:
                return read(*args, **kwargs)
            finally:
                self.statements += counter.count - before

        shop.fetch_changes = counted  # type: ignore[method-assign]


def run(edits: int, postgres: str | None) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    api = BenchApi()
    with tempfile.TemporaryDirectory() as tmp_name, serve(api) as api_url:
        tmp = Path(tmp_name)
        shop_url = f"sqlite:///{tmp / 'shop.db'}"
        table_engine = create_engine(shop_url)
        source_table(PROPERTIES).metadata.create_all(table_engine)
        table_engine.dispose()
        with scratch_url(postgres, tmp) as url:
            store = open_store(url)
            sql_shop = connector(shop_url)
            rest_shop = rest_connector(api_url)
            targets: list[tuple[str, SyncSpec, Connector, BenchApi | None]] = [
                ("sql", spec(PROPERTIES, "bench-sql"), sql_shop, None),
                ("rest", spec(PROPERTIES, "bench-rest"), rest_shop, api),
            ]
            with StatementCounter(sql_shop._get_engine()) as external_sql:
                ids = _make_contacts(store, edits)
                for name, sync, shop, served in targets:
                    results.append(
                        _push(
                            name, "create", sync, shop, store, served, external_sql, edits, postgres
                        )
                    )
                for name, sync, shop, _ in targets:
                    echoes = run_sync(sync, shop, store)  # our creates come back: no change
                    if echoes.crm_writes or echoes.external_writes:
                        raise RuntimeError(f"{name}: the echo pass wrote {echoes.line()}")
                _edit_contacts(store, ids)
                for name, sync, shop, served in targets:
                    results.append(
                        _push(
                            name, "update", sync, shop, store, served, external_sql, edits, postgres
                        )
                    )
            sql_shop.close()
            rest_shop.close()
            store.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=10_000)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    quiet()
    results = run(args.edits, None)
    if args.postgres:
        results += run(args.edits, args.postgres)
    print_table("4. Outbound: CRM edits pushed out", results, COLUMNS)
    write_json(RESULTS / "outbound.json", results)


if __name__ == "__main__":
    main()
