"""What an operator reads about syncs: the store's overview, ``syncd status``, the metrics'
store gauges and the sync log's retention, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Table, func, select, update
from typer.testing import CliRunner

from config.models import SyncConfig
from store import (
    ConflictSpec,
    InboxEntrySpec,
    LogAction,
    LogDirection,
    LogSpec,
    Store,
    StoreError,
    SyncTx,
    make_engine,
)
from store.db import tables as t
from syncd.cli import app
from syncd.metrics import SyncMetrics
from tests.conftest import API

SYNC = "shop-customers"
OTHER = "shop-orders"
runner = CliRunner()

IN, OUT = LogDirection.INBOUND, LogDirection.OUTBOUND


def _log(store: Store, sync: str, entries: Sequence[LogSpec], run_id: int | None = None) -> None:
    store.sync_write(sync, lambda tx: tx.log("contacts", entries), run_id=run_id)


def _age_log(store: Store, sync: str, by: timedelta) -> None:
    """Make every log row of ``sync`` ``by`` old (rows carry the write's own clock)."""
    with store._engine.begin() as conn:
        conn.execute(
            update(t.sync_log).where(t.sync_log.c.sync == sync).values(at=datetime.now(UTC) - by)
        )


def _age_runs(store: Store, by: timedelta) -> None:
    with store._engine.begin() as conn:
        conn.execute(
            update(t.sync_runs).values(started_at=datetime.now(UTC) - by - timedelta(seconds=5))
        )
        conn.execute(
            update(t.sync_runs)
            .where(t.sync_runs.c.finished_at.is_not(None))
            .values(finished_at=datetime.now(UTC) - by)
        )


def _conflict(crm_id: int, *, open_: bool) -> ConflictSpec:
    return ConflictSpec(
        crm_id=crm_id,
        external_id=f"x-{crm_id}",
        field="firstname",
        rule="manual" if open_ else "crm_wins",
        base="A",
        has_base=True,
        crm_value="B",
        external_value="C",
        winner=None if open_ else "crm",
        loser_value=None if open_ else "C",
        loser_changed_at=None,
        open=open_,
        reason="both changed",
    )


def _count(store: Store, table: Table) -> int:
    with store._engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# ---------------------------------------------------------------- overview


def test_a_sync_never_seen_has_an_empty_overview(store: Store) -> None:
    store.create_record("contacts", {"email": "a@x.io"}, API)
    found = store.sync_overview([SYNC], datetime.now(UTC))
    seen = found[SYNC]
    assert (seen.paused, seen.last_run, seen.running, seen.lease_holder) == (
        False,
        None,
        None,
        None,
    )
    assert seen.synced_1h == {"inbound": 0, "outbound": 0}
    assert (seen.parked, seen.due, seen.open_conflicts, seen.inbox_depth) == (0, 0, 0, 0)
    # It never looked at the journal: everything in it is still ahead of it.
    assert seen.outbound_lag >= 1


def test_overview_counts_runs_log_queues_conflicts_inbox_and_lease(store: Store) -> None:
    for i in range(3):
        store.create_record("contacts", {"email": f"c{i}@x.io"}, API)
    first = store.start_sync_run(SYNC)
    store.finish_sync_run(first.id, "ok", {"inbound.created": 2})
    failed = store.start_sync_run(SYNC)
    _log(
        store,
        SYNC,
        [
            LogSpec(IN, LogAction.CREATED, crm_id=1, external_id="x-1"),
            LogSpec(IN, LogAction.UPDATED, crm_id=2, external_id="x-2"),
            LogSpec(IN, LogAction.SKIPPED, crm_id=3, external_id="x-3"),
            LogSpec(OUT, LogAction.CREATED, crm_id=3, external_id="x-3"),
            LogSpec(OUT, LogAction.ERROR, crm_id=4, level="error", message="boom"),
        ],
        run_id=failed.id,
    )
    store.finish_sync_run(failed.id, "failed", {"error": "the shop said 500"})
    running = store.start_sync_run(SYNC)
    store.acquire_lease(SYNC, "host-a:42", timedelta(minutes=5))

    def queues(tx: SyncTx) -> None:
        tx.queue_outbound([10, 11])
        tx.outbound_failed(12, "HTTP 422: bad email", retriable=False)
        tx.add_conflicts("contacts", [_conflict(1, open_=True), _conflict(2, open_=False)])
        tx.set_journal_position(1)

    store.sync_write(SYNC, queues)
    store.inbox_add(
        "shop",
        [
            InboxEntrySpec(sync=SYNC, external_object="customers", external_id="x-1"),
            InboxEntrySpec(sync=OTHER, external_object="orders", external_id="o-1"),
        ],
    )
    store.set_sync_paused(OTHER, True, "paused by an operator: migration")
    head = store.journal_head()

    now = datetime.now(UTC)
    found = store.sync_overview([SYNC, OTHER], now)
    assert list(found) == [SYNC, OTHER]
    seen = found[SYNC]
    assert seen.last_run is not None and seen.last_run.id == failed.id
    assert seen.last_error == "the shop said 500"
    assert seen.running is not None and seen.running.id == running.id
    assert seen.last_ok_finished_at is not None
    assert (seen.lease_holder, seen.lease_expires_at is not None) == ("host-a:42", True)
    assert seen.synced_1h == {"inbound": 2, "outbound": 1}
    assert seen.synced_24h == {"inbound": 2, "outbound": 1}
    assert (seen.parked, seen.due, seen.open_conflicts, seen.inbox_depth) == (1, 2, 1, 1)
    assert seen.journal_position == 1
    assert head >= 3 and seen.outbound_lag == head - 1
    assert seen.last_inbound_at is not None
    assert not seen.paused

    other = found[OTHER]
    assert (other.paused, other.paused_reason) == (True, "paused by an operator: migration")
    assert (other.inbox_depth, other.parked, other.last_run) == (1, 0, None)

    # An hour and a half later, the rows count for the day but not the hour; a day and a
    # half later, for neither.
    later = store.sync_overview([SYNC], now + timedelta(minutes=90))[SYNC]
    assert later.synced_1h == {"inbound": 0, "outbound": 0}
    assert later.synced_24h == {"inbound": 2, "outbound": 1}
    assert store.sync_overview([SYNC], now + timedelta(hours=36))[SYNC].synced_24h == {
        "inbound": 0,
        "outbound": 0,
    }
    # The metrics' read skips the log entirely.
    quick = store.sync_overview([SYNC], now, activity=False)[SYNC]
    assert quick.synced_24h == {"inbound": 0, "outbound": 0} and quick.parked == 1


def test_a_running_row_older_than_the_last_finished_run_is_not_running(store: Store) -> None:
    """A process that died mid-run leaves its row marked running forever."""
    dead = store.start_sync_run(SYNC)
    later = store.start_sync_run(SYNC)
    store.finish_sync_run(later.id, "ok", {})
    seen = store.sync_overview([SYNC], datetime.now(UTC))[SYNC]
    assert seen.running is None and seen.last_run is not None
    assert (seen.last_run.id, dead.id < later.id) == (later.id, True)


def test_overview_is_a_fixed_number_of_statements_for_any_number_of_syncs(store: Store) -> None:
    from sqlalchemy import event

    names = [f"sync-{i}" for i in range(40)]
    for name in names[:5]:
        store.finish_sync_run(store.start_sync_run(name).id, "ok", {})
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store._engine, "before_cursor_execute", count)
    try:
        few = store.sync_overview(names[:2], datetime.now(UTC))
        first = len(statements)
        many = store.sync_overview(names, datetime.now(UTC))
    finally:
        event.remove(store._engine, "before_cursor_execute", count)
    assert len(few) == 2 and len(many) == 40
    assert len(statements) - first == first


def test_overview_refuses_a_naive_time(store: Store) -> None:
    with pytest.raises(StoreError, match="timezone-aware"):
        store.sync_overview([SYNC], datetime.now(UTC).replace(tzinfo=None))
    assert store.sync_overview([], datetime.now(UTC)) == {}


# ---------------------------------------------------------------- retention


def test_purge_removes_old_log_rows_and_empty_runs_and_keeps_recent_ones(store: Store) -> None:
    old = store.start_sync_run(SYNC)
    _log(store, SYNC, [LogSpec(IN, LogAction.CREATED, crm_id=i) for i in range(1, 8)], old.id)
    store.finish_sync_run(old.id, "ok", {})
    _age_log(store, SYNC, timedelta(days=40))
    _age_runs(store, timedelta(days=40))
    fresh = store.start_sync_run(SYNC)
    _log(store, SYNC, [LogSpec(IN, LogAction.UPDATED, crm_id=1)], fresh.id)
    store.finish_sync_run(fresh.id, "ok", {})

    removed = store.purge_sync_log(datetime.now(UTC) - timedelta(days=30), batch=3)

    assert removed == 7
    left = store.sync_log(sync=SYNC)
    assert [(e.run_id, e.action) for e in left] == [(fresh.id, LogAction.UPDATED)]
    assert [r.id for r in store.list_sync_runs(SYNC)] == [fresh.id]
    # Nothing more to do the second time.
    assert store.purge_sync_log(datetime.now(UTC) - timedelta(days=30)) == 0


def test_purge_keeps_open_conflicts_their_log_rows_and_runs(store: Store) -> None:
    run = store.start_sync_run(SYNC)

    def work(tx: SyncTx) -> None:
        tx.log(
            "contacts",
            [
                LogSpec(IN, LogAction.CONFLICT, crm_id=1, external_id="x-1"),
                LogSpec(IN, LogAction.CONFLICT, crm_id=2, external_id="x-2"),
                LogSpec(IN, LogAction.UPDATED, crm_id=3, external_id="x-3"),
            ],
        )
        tx.add_conflicts("contacts", [_conflict(1, open_=True), _conflict(2, open_=False)])

    store.sync_write(SYNC, work, run_id=run.id)
    store.finish_sync_run(run.id, "ok", {})
    _age_log(store, SYNC, timedelta(days=90))
    _age_runs(store, timedelta(days=90))

    removed = store.purge_sync_log(datetime.now(UTC) - timedelta(days=30))

    assert removed == 2
    assert [(e.crm_id, e.action) for e in store.sync_log(sync=SYNC)] == [(1, LogAction.CONFLICT)]
    assert _count(store, t.sync_conflicts) == 2  # conflicts are never purged
    assert [r.id for r in store.list_sync_runs(SYNC)] == [run.id]


def test_purge_leaves_running_runs_alone_and_refuses_nonsense(store: Store) -> None:
    store.start_sync_run(SYNC)
    _age_runs(store, timedelta(days=90))
    assert store.purge_sync_log(datetime.now(UTC)) == 0
    assert len(store.list_sync_runs(SYNC)) == 1
    with pytest.raises(StoreError, match="timezone-aware"):
        store.purge_sync_log(datetime.now(UTC).replace(tzinfo=None))
    for bad in (0, -1, 10**9, True):
        with pytest.raises(StoreError, match="batch"):
            store.purge_sync_log(datetime.now(UTC), batch=bad)


# ---------------------------------------------------------------- metrics: store gauges


def _samples(metrics: SyncMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def test_metrics_read_conflicts_inbox_lag_parked_and_paused_at_scrape_time(store: Store) -> None:
    to_crm = SyncConfig.model_validate(
        {
            "name": "orders-in",
            "connector": "shop",
            "external_object": "orders",
            "crm_object": "deals",
            "direction": "to_crm",
            "fields": [{"crm": "dealname", "external": "name"}],
        }
    )
    metrics = SyncMetrics(store, [SYNC, OTHER, to_crm])
    before = _samples(metrics)
    assert before[("syncd_open_conflicts", (("sync", SYNC),))] == 0
    assert before[("syncd_store_up", ())] == 1

    store.create_record("contacts", {"email": "a@x.io"}, API)
    store.create_record("contacts", {"email": "b@x.io"}, API)

    def work(tx: SyncTx) -> None:
        tx.outbound_failed(5, "HTTP 400", retriable=False)
        tx.add_conflicts("contacts", [_conflict(1, open_=True), _conflict(3, open_=True)])
        tx.inbound_failed({"x-1": "email a@x.io is taken", "x-2": "email b@x.io is taken"})

    store.sync_write(SYNC, work)
    store.inbox_add(
        "shop", [InboxEntrySpec(sync=OTHER, external_object="o", external_id=f"{i}") for i in "abc"]
    )
    store.set_sync_paused(OTHER, True, "brake")

    after = _samples(metrics)
    assert after[("syncd_open_conflicts", (("sync", SYNC),))] == 2
    assert after[("syncd_parked_errors", (("sync", SYNC),))] == 1
    assert after[("syncd_parked_inbound", (("sync", SYNC),))] == 2
    assert after[("syncd_inbox_depth", (("sync", OTHER),))] == 3
    assert after[("syncd_sync_paused", (("sync", OTHER),))] == 1
    assert after[("syncd_sync_paused", (("sync", SYNC),))] == 0
    assert after[("syncd_outbound_lag_entries", (("sync", SYNC),))] == store.journal_head()
    # A sync that never writes outside has no lag to report: its position never moves.
    assert ("syncd_outbound_lag_entries", (("sync", "orders-in"),)) not in after
    assert after[("syncd_open_conflicts", (("sync", "orders-in"),))] == 0


def test_metrics_say_store_down_instead_of_failing_the_scrape(tmp_path: Path) -> None:
    unreachable = Store(make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'store.db'}"))
    try:
        samples = _samples(SyncMetrics(unreachable, [SYNC]))
    finally:
        unreachable.close()
    assert samples[("syncd_store_up", ())] == 0
    assert ("syncd_parked_errors", (("sync", SYNC),)) not in samples


# ---------------------------------------------------------------- syncd status

CONFIG = """
store: {{url: "{db}"}}
connectors:
  shop:
    type: sql
    url: "sqlite:///{shop}"
    objects:
      customers: {{table: customers}}
      orders: {{table: orders}}
syncs:
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    schedule: {{every: 5m}}
    fields:
      - {{crm: email, external: email}}
  shop-orders:
    connector: shop
    external_object: orders
    crm_object: deals
    direction: to_crm
    schedule: {{cron: "0 3 * * *"}}
    fields:
      - {{crm: dealname, external: name}}
  manual-one:
    connector: shop
    external_object: customers
    crm_object: companies
    fields:
      - {{crm: name, external: name}}
"""


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG.format(db=db_url, shop=tmp_path / "shop.db"))
    return path


def _status(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(config), "status", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def test_status_shows_idle_failing_and_paused_with_their_next_runs(
    store: Store, config: Path
) -> None:
    ok = store.start_sync_run(SYNC)
    store.finish_sync_run(ok.id, "ok", {"inbound.created": 1})
    _log(store, SYNC, [LogSpec(IN, LogAction.CREATED, crm_id=1)], ok.id)
    store.set_sync_paused(OTHER, True, "paused by an operator: shop migration")
    manual = store.start_sync_run("manual-one")
    store.finish_sync_run(manual.id, "failed", {"error": "connection refused by shop.example"})

    code, out, _ = _status(config, "--json")
    assert code == 0, out
    data = json.loads(out)
    by_name = {s["name"]: s for s in data["syncs"]}
    assert list(by_name) == ["shop-customers", "shop-orders", "manual-one"]

    customers = by_name["shop-customers"]
    assert customers["state"] == "idle"
    assert customers["schedule"] == "every 5m"
    started = datetime.fromisoformat(customers["last_run_started_at"])
    assert datetime.fromisoformat(customers["next_run"]) == started + timedelta(minutes=5)
    assert customers["synced_1h"] == {"inbound": 1, "outbound": 0}
    assert (customers["outbound_lag"], customers["outbound_lag_text"]) == (0, "up to date")

    orders = by_name["shop-orders"]
    assert orders["state"] == "paused"
    assert orders["paused_reason"] == "paused by an operator: shop migration"
    assert orders["next_run"] is None
    assert orders["outbound_lag"] is None and orders["outbound_lag_text"] == "n/a (to_crm)"

    failing = by_name["manual-one"]
    assert failing["state"] == "failing"
    assert failing["last_error"] == "connection refused by shop.example"
    assert failing["next_run"] is None and failing["schedule"] == "manual"

    code, out, _ = _status(config)
    assert code == 0
    for text in ("shop-customers", "idle", "paused", "failing", "connection refused", "manual"):
        assert text in out

    code, out, _ = _status(config, "--sync", "shop-orders", "--json")
    assert [s["name"] for s in json.loads(out)["syncs"]] == ["shop-orders"]


def test_status_cron_next_run_and_a_live_run(store: Store, config: Path) -> None:
    store.start_sync_run(SYNC)
    store.acquire_lease(SYNC, "host-b:7", timedelta(minutes=2))
    code, out, _ = _status(config, "--json")
    assert code == 0
    data = json.loads(out)
    by_name = {s["name"]: s for s in data["syncs"]}
    assert by_name["shop-customers"]["state"] == "running"
    assert by_name["shop-customers"]["lease_holder"] == "host-b:7"
    now = datetime.fromisoformat(data["now"])
    tomorrow_3 = datetime.fromisoformat(by_name["shop-orders"]["next_run"])
    assert (tomorrow_3.hour, tomorrow_3.minute) == (3, 0)
    assert now < tomorrow_3 <= now + timedelta(days=1)


def test_status_names_an_unknown_sync(config: Path) -> None:
    code, _, err = _status(config, "--sync", "nope")
    assert code == 1
    assert "no sync named 'nope'" in err and "shop-customers" in err


def test_status_counts_parked_inbound_failures_and_calls_the_sync_failing(
    store: Store, config: Path
) -> None:
    ok = store.start_sync_run(SYNC)
    store.finish_sync_run(ok.id, "ok", {"inbound.created": 1})
    failures = {f"x-{n}": f"email x{n}@shop.io is already used by contact {n}" for n in range(3)}
    store.sync_write(SYNC, lambda tx: tx.inbound_failed(failures))
    store.sync_write(SYNC, lambda tx: tx.outbound_failed(12, "HTTP 422", retriable=False))

    assert store.sync_overview([SYNC], datetime.now(UTC))[SYNC].parked_inbound == 3
    code, out, _ = _status(config, "--json")
    assert code == 0
    customers = {s["name"]: s for s in json.loads(out)["syncs"]}["shop-customers"]
    assert customers["state"] == "failing"
    assert (customers["parked_errors"], customers["parked_inbound"]) == (4, 3)
    assert customers["parked_outbound"] == 1
    assert "3 inbound, 1 outbound" in customers["note"]
    code, out, _ = _status(config)
    assert "3/1" in out and "failing" in out


def test_status_says_no_daemon_runs_instead_of_due_now(store: Store, config: Path) -> None:
    code, out, _ = _status(config, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["daemon"]["running"] is False and data["daemon"]["last_seen"] is None
    out = _status(config)[1]
    assert "due now" not in out
    assert "no daemon" in out
    assert "daemon not running (never seen on this store)" in out

    # A daemon beating now is running; once it stops (or its beat ages) it is not.
    store.daemon_beat("host-a:1:abc", pid=1, host="host-a")
    data = json.loads(_status(config, "--json")[1])
    assert data["daemon"]["running"] is True and data["daemon"]["holders"] == ["host-a:1:abc"]
    assert "due now" in _status(config)[1]
    with store._engine.begin() as conn:
        conn.execute(
            update(t.daemon_heartbeats).values(seen_at=datetime.now(UTC) - timedelta(hours=2))
        )
    out = _status(config)[1]
    assert "daemon not running (last seen 2h00m ago)" in out
    assert "due now" not in out
    store.daemon_beat("host-a:1:abc", pid=1, host="host-a", stopped=True)
    assert "daemon not running (stopped 0s ago)" in _status(config)[1]


def test_status_needs_no_connector_secret_but_sync_does(
    store: Store, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator's shell without the connectors' secrets still sees the syncs' state;
    a command that would talk to the connector still names the missing variable."""
    monkeypatch.delenv("SHOP_DB_PASSWORD", raising=False)
    path = tmp_path / "syncd.yaml"
    secret_url = 'url: "sqlite:///{shop}?password=${{SHOP_DB_PASSWORD}}"'
    path.write_text(
        CONFIG.replace('url: "sqlite:///{shop}"', secret_url).format(
            db=db_url, shop=tmp_path / "shop.db"
        )
    )
    ok = store.start_sync_run(SYNC)
    store.finish_sync_run(ok.id, "ok", {"inbound.created": 1})

    code, out, err = _status(path, "--json")
    assert code == 0, err
    assert {s["name"] for s in json.loads(out)["syncs"]} == {SYNC, OTHER, "manual-one"}

    result = runner.invoke(app, ["--config", str(path), "sync", SYNC])
    assert result.exit_code == 1
    assert "SHOP_DB_PASSWORD is not set" in result.stderr
    assert "Traceback" not in result.output
