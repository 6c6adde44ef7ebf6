"""Three daemons sharing ten syncs on PostgreSQL: never two holders at once, takeover after a
death, and a paused holder that wakes after losing its leases commits nothing.

Runs are attributed to holders by the run ids in each daemon's own log (``sync_started``,
``inbox_drain_started``); the store's ``sync_runs`` and ``sync_log`` say what committed and
when. The rule checked for every committed row: the last lease taken for its sync at or
before the row's time was taken by the row's own holder.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from store import Store
from store.db import tables as t
from tests.daemon._harness import (
    DaemonProcess,
    Shop,
    assert_converged,
    crm_contacts,
    people,
    seed_crm,
    sync_yaml,
    write_config,
)

SYNCS = 10
LEASE = 3.0
ROWS, CRM_ONLY = 20, 5


@pytest.fixture
def pg_shops(pg_admin: Engine) -> Iterator[list[Shop]]:
    """Ten shop tables with unique names in the test database, dropped at the end."""
    suffix = uuid.uuid4().hex[:8]
    shops = [Shop.create(pg_admin, f"shop_{suffix}_{i}", extra=["team"]) for i in range(SYNCS)]
    yield shops
    for shop in shops:
        shop.drop()


def _feed(shops: list[Shop], round_: int, count: int = 2) -> None:
    for i, shop in enumerate(shops):
        shop.add_many([{**p, "team": f"t{i}"} for p in people(f"s{i}-r{round_}-", count)])


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _leases(events: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[datetime, str]]]:
    taken: dict[str, list[tuple[datetime, str]]] = {}
    for holder, lines in events.items():
        for e in lines:
            if e["event"] == "lease_taken":
                taken.setdefault(e["sync"], []).append((_stamp(e["timestamp"]), holder))
    return {sync: sorted(items) for sync, items in taken.items()}


def _run_holders(events: dict[str, list[dict[str, Any]]]) -> dict[int, str]:
    owners: dict[int, str] = {}
    for holder, lines in events.items():
        for e in lines:
            if e["event"] in ("sync_started", "inbox_drain_started") and e.get("run"):
                assert owners.setdefault(int(e["run"]), holder) == holder
    return owners


def _holdings(store_url: str) -> dict[str, list[str]]:
    with Store.open(store_url) as store, store._engine.connect() as conn:
        rows = conn.execute(select(t.sync_leases.c.sync, t.sync_leases.c.holder)).all()
    held: dict[str, list[str]] = {}
    for sync, holder in rows:
        held.setdefault(str(holder), []).append(str(sync))
    return held


def _wait_all_quiet(daemons: list[DaemonProcess], syncs: list[str], timeout: float) -> None:
    """Two consecutive passes of every sync, by whichever daemon ran them, wrote nothing."""
    from tests.daemon._harness import WRITE_KEYS

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        finished = sorted(
            (e for d in daemons for e in d.all_events() if e["event"] == "sync_finished"),
            key=lambda e: e["timestamp"],
        )
        if all(
            len(p := [e for e in finished if e.get("sync") == s]) >= 2
            and not any(e.get(k) for e in p[-2:] for k in (*WRITE_KEYS, "stopped"))
            for s in syncs
        ):
            return
        time.sleep(0.2)
    raise AssertionError("the syncs did not settle")


def test_three_daemons_share_ten_syncs_and_fencing_survives_death_and_pause(
    tmp_path: Path,
    pg_base: str,
    pg_store_url: str,
    pg_shops: list[Shop],
    daemons: Callable[..., DaemonProcess],
) -> None:
    names = [f"s{i}" for i in range(SYNCS)]
    for i, shop in enumerate(pg_shops):
        shop.add_many([{**p, "team": f"t{i}"} for p in people(f"s{i}-", ROWS)])
    with Store.open(pg_store_url) as store:
        for i in range(SYNCS):
            seed_crm(store, f"c{i}-", CRM_ONLY, jobtitle=f"t{i}")
    config = write_config(
        tmp_path / "syncd.yaml",
        store_url=pg_store_url,
        shop_url=pg_base.replace("postgresql://", "postgresql+psycopg://", 1),
        tables=[s.table.name for s in pg_shops],
        syncs=[
            sync_yaml(
                name,
                shop.table.name,
                every=0.5,
                batch_size=10,
                extra_fields=["jobtitle=team"],
                crm_filter=("jobtitle", f"t{i}"),
            )
            for i, (name, shop) in enumerate(zip(names, pg_shops, strict=True))
        ],
    )
    procs = {h: daemons(config, h, lease_seconds=LEASE) for h in "abc"}
    for proc in procs.values():
        proc.start()
    for proc in procs.values():
        proc.wait_started()
    _wait_all_quiet(list(procs.values()), names, timeout=45)

    # SIGKILL the daemon holding the most syncs: the others take them within two lease times.
    held = _holdings(pg_store_url)
    dead = max(procs, key=lambda h: len(held.get(h, [])))
    orphans = held[dead]
    _feed(pg_shops, 1)
    killed_at = datetime.now().astimezone()
    procs[dead].kill()
    alive = {h: p for h, p in procs.items() if h != dead}
    deadline = time.monotonic() + 2 * LEASE + 2
    while True:
        taken = _leases({h: p.events() for h, p in alive.items()})
        moved = {s for s in orphans if any(ts > killed_at for ts, _ in taken.get(s, []))}
        if moved == set(orphans):
            break
        assert time.monotonic() < deadline, f"not taken over in time: {set(orphans) - moved}"
        time.sleep(0.1)

    # SIGSTOP the survivor holding the most, past its lease; the other takes its syncs.
    held = _holdings(pg_store_url)
    paused = max(alive, key=lambda h: len(held.get(h, [])))
    other = next(h for h in alive if h != paused)
    lost = held[paused]
    stopped_at = datetime.now().astimezone()
    procs[paused].signal(signal.SIGSTOP)
    for round_ in range(3, 3 + int(2 * LEASE) + 1):
        _feed(pg_shops, round_, count=1)
        time.sleep(1)
    taken = _leases({other: procs[other].events()})
    while_paused = {s for s in lost if any(ts > stopped_at for ts, _ in taken.get(s, []))}
    # Those it was not frozen inside a transaction for (the tests below cover those).
    assert while_paused, f"{other} took none of {lost} while {paused} was paused"
    procs[paused].signal(signal.SIGCONT)
    # Syncs it was frozen inside a transaction for change hands only now, and may flap
    # (the tests below); the ones taken while it slept are the fencing case.
    takeover = {s: min(ts for ts, _ in taken[s] if ts > stopped_at) for s in while_paused}
    # It wakes to find them gone (a pass caught in its own acquire loses one silently).
    procs[paused].wait_for(
        lambda ev: bool({e.get("sync") for e in ev if e["event"] == "lease_lost"} & while_paused),
        15,
        "lease_lost for the syncs taken from it",
    )
    survivors = [procs[paused], procs[other]]
    _wait_all_quiet(survivors, names, timeout=45)
    for proc in survivors:
        code, _ = proc.terminate()
        assert code == 0, proc.stderr()[-2000:]

    events = {h: p.all_events() for h, p in procs.items()}
    owners = _run_holders(events)
    leases = _leases(events)
    with Store.open(pg_store_url) as store, store._engine.connect() as conn:
        runs = conn.execute(select(t.sync_runs)).mappings().all()
        logs = conn.execute(select(t.sync_log).order_by(t.sync_log.c.id)).mappings().all()
        contacts = crm_contacts(store)
        for i, (name, shop) in enumerate(zip(names, pg_shops, strict=True)):
            mine = [c for c in contacts if c.get("jobtitle") == f"t{i}"]
            assert_converged(store, shop, name, expected=len(shop.rows()), contacts=mine)
        assert len(contacts) == sum(len(s.rows()) for s in pg_shops)

    # Every committed row was written under its own holder's lease.
    def holder_at(sync: str, at: datetime) -> str | None:
        before = [h for ts, h in leases.get(sync, []) if ts <= at]
        return before[-1] if before else None

    wrong: list[str] = []
    for run in runs:
        owner = owners.get(run["id"])
        if owner is None:
            # Killed between committing its run row and logging it: it wrote nothing more.
            assert run["finished_at"] is None and not any(r["run_id"] == run["id"] for r in logs)
            continue
        for column in ("started_at", "finished_at"):
            at = run[column]
            if at is not None and holder_at(run["sync"], at) != owner:
                wrong.append(f"run {run['id']} of {run['sync']} by {owner}: {column} {at}")
    for row in logs:
        owner = owners.get(row["run_id"]) if row["run_id"] is not None else None
        if owner is not None and holder_at(row["sync"], row["at"]) != owner:
            wrong.append(f"log {row['id']} of {row['sync']} by {owner} at {row['at']}")
    assert not wrong, wrong[:10]

    # Finished runs of one sync by different holders never overlap in time.
    finished = [r for r in runs if r["finished_at"] is not None and r["id"] in owners]
    for a in finished:
        for b in finished:
            if a["sync"] == b["sync"] and owners[a["id"]] != owners[b["id"]]:
                assert a["finished_at"] <= b["started_at"] or b["finished_at"] <= a["started_at"]

    # The paused holder committed nothing for the syncs it lost, from the takeover until it
    # (perhaps) took one back with a new token of its own.
    def back(sync: str) -> datetime:
        again = [ts for ts, h in leases[sync] if h == paused and ts > takeover[sync]]
        return again[0] if again else datetime.max.replace(tzinfo=takeover[sync].tzinfo)

    late = [
        r
        for r in logs
        if r["sync"] in takeover
        and owners.get(r["run_id"]) == paused
        and takeover[r["sync"]] <= r["at"] < back(r["sync"])
    ]
    assert not late, late[:5]
    late_runs = [
        r
        for r in runs
        if r["sync"] in takeover
        and owners.get(r["id"]) == paused
        and takeover[r["sync"]] <= r["started_at"] < back(r["sync"])
    ]
    assert not late_runs


def test_a_holder_frozen_inside_a_transaction_loses_its_sync_within_two_lease_times(
    tmp_path: Path,
    pg_base: str,
    pg_store_url: str,
    pg_shops: list[Shop],
    daemons: Callable[..., DaemonProcess],
) -> None:
    shop = pg_shops[0]
    shop.add_many([{**p, "team": "t0"} for p in people("frozen-", 40)])
    config = write_config(
        tmp_path / "syncd.yaml",
        store_url=pg_store_url,
        shop_url=pg_base.replace("postgresql://", "postgresql+psycopg://", 1),
        tables=[shop.table.name],
        syncs=[sync_yaml("s0", shop.table.name, every=0.5, batch_size=10)],
    )
    first = daemons(config, "first", lease_seconds=LEASE)
    # Inside the second page's transaction (lease row locked), then frozen there.
    first.start(SYNCD_FAULT="inbound_commit:2")
    first.wait_marker()
    first.signal(signal.SIGSTOP)
    frozen_at = datetime.now().astimezone()
    try:
        second = daemons(config, "second", lease_seconds=LEASE).start()
        second.wait_started()
        second.wait_for(
            lambda ev: any(
                e["event"] == "lease_taken" and _stamp(e["timestamp"]) > frozen_at for e in ev
            ),
            2 * LEASE + 2,
            "takeover of the frozen holder's sync",
        )
    finally:
        first.signal(signal.SIGCONT)
        first.kill()


def test_a_lease_taken_after_waiting_for_a_frozen_holder_is_not_born_expired(
    tmp_path: Path,
    pg_base: str,
    pg_store_url: str,
    pg_shops: list[Shop],
    daemons: Callable[..., DaemonProcess],
) -> None:
    shop = pg_shops[0]
    shop.add_many([{**p, "team": "t0"} for p in people("late-", 40)])
    config = write_config(
        tmp_path / "syncd.yaml",
        store_url=pg_store_url,
        shop_url=pg_base.replace("postgresql://", "postgresql+psycopg://", 1),
        tables=[shop.table.name],
        syncs=[sync_yaml("s0", shop.table.name, every=0.5, batch_size=10)],
    )
    first = daemons(config, "first", lease_seconds=LEASE)
    first.start(SYNCD_FAULT="inbound_commit:2")
    first.wait_marker()
    first.signal(signal.SIGSTOP)
    second = daemons(config, "second", lease_seconds=LEASE).start()
    second.wait_started()
    time.sleep(2 * LEASE + 1)  # the second's acquire waits on the frozen holder's row lock
    first.kill()  # its connection dies, its transaction rolls back, the lock goes

    second.wait_for(lambda ev: any(e["event"] == "lease_taken" for e in ev), 10, "the takeover")
    time.sleep(1.5)
    assert not [e for e in second.events() if e["event"] == "lease_lost"]
