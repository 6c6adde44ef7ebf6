"""SIGKILL at the worst moments: inside an inbound page, between an external write and its
commit, and while webhooks arrive. A restarted daemon must lose nothing, duplicate nothing,
and leave every link's base equal to both sides.

The daemon runs as a real process (``_run_with_faults``), paused by a fault point inside the
transaction it is about to commit, and killed there with SIGKILL: nothing of that
transaction may survive, and what the external side already committed must be recognised.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from connectors.webhooks import WebhookOptions, sign
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
from tests.daemon._hook_connector import TYPE_NAME, webhook_body

SYNC = "customers"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """The CRM store on SQLite (the one-daemon case) and on PostgreSQL (the shared case)."""
    name = "sqlite_store_url" if request.param == "sqlite" else "pg_store_url"
    url: str = request.getfixturevalue(name)
    return url


SECRET = "daemon-test-secret-9f3"
EXTERNAL, CRM_ONLY = 300, 200


def _setup(
    tmp_path: Path, store_url: str, shop_url: str, shop_engine: Engine, *, every: float = 0.5
) -> tuple[Path, Shop]:
    shop = Shop.create(shop_engine, "customers")
    shop.add_many(people("ext", EXTERNAL))
    with Store.open(store_url) as store:
        seed_crm(store, "crm", CRM_ONLY)
    config = write_config(
        tmp_path / "syncd.yaml",
        store_url=store_url,
        shop_url=shop_url,
        tables=["customers"],
        syncs=[sync_yaml(SYNC, "customers", every=every, batch_size=50)],
        connector_type=TYPE_NAME,
        webhook_secret=SECRET,
    )
    return config, shop


def _restart_and_settle(daemon: DaemonProcess) -> None:
    daemon.start()
    daemon.wait_started()
    daemon.wait_quiet([SYNC])
    code, seconds = daemon.terminate()
    assert code == 0, daemon.stderr()[-3000:]
    assert seconds < 10
    assert any(e["event"] == "daemon_stopped" for e in daemon.events())


def _last_run_ok(store_url: str) -> None:
    """The killed life's run stays 'running' forever (nothing marks it); the last one is ok."""
    with Store.open(store_url) as store:
        runs = store.list_sync_runs(SYNC, limit=1000)
    assert runs and runs[0].status == "ok"


@pytest.mark.parametrize(
    "fault",
    [
        # The 3rd inbound page: its CRM creates are in the open transaction.
        pytest.param("inbound_commit:3", id="mid-inbound-page"),
        # The 2nd outbound batch: 50 rows are in the shop, their links are not committed.
        pytest.param("outbound_write:2", id="after-external-write"),
    ],
)
def test_sigkill_mid_batch_then_restart_loses_and_duplicates_nothing(
    fault: str,
    tmp_path: Path,
    store_url: str,
    sqlite_shop: tuple[str, Engine],
    daemons: Callable[..., DaemonProcess],
) -> None:
    config, shop = _setup(tmp_path, store_url, *sqlite_shop)
    daemon = daemons(config, "solo")

    daemon.start(SYNCD_FAULT=fault)
    daemon.wait_marker()
    # What the paused transaction holds is visible to no one, and dies with the process.
    before = _committed(store_url)
    daemon.kill()
    assert _committed(store_url) == before
    if fault.startswith("outbound"):
        # The external side did commit its half: 100 pushed rows in the shop, 50 unlinked.
        assert len(shop.rows()) == EXTERNAL + 100
        assert before["links"] == EXTERNAL + 50
    else:
        # Two pages of 50 committed, the third (in the killed transaction) did not.
        assert before["links"] == before["contacts"] - CRM_ONLY == 100

    _restart_and_settle(daemon)

    with Store.open(store_url) as store:
        assert_converged(store, shop, SYNC, expected=EXTERNAL + CRM_ONLY)
    _last_run_ok(store_url)


def _committed(store_url: str) -> dict[str, Any]:
    with Store.open(store_url) as store:
        return {
            "links": store.count_links(SYNC),
            "cursor": store.sync_state(SYNC).cursor,
            "position": store.sync_state(SYNC).journal_position,
            "log": len(store.sync_log(sync=SYNC, limit=10_000)),
            "contacts": len(crm_contacts(store)),
        }


def _post(client: httpx.Client, port: int, events: list[tuple[str, str, str]]) -> bool:
    """Post one signed delivery; True when the daemon acknowledged it (2xx)."""
    url = f"http://127.0.0.1:{port}/webhooks/shop"
    body = webhook_body(events)
    options = WebhookOptions.model_validate({"secret": SECRET})
    headers = sign(options, method="POST", url=url, body=body, now=datetime.now(UTC))
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError:
        return False
    return response.is_success


def test_sigkill_while_webhooks_arrive_applies_each_acknowledged_event_once(
    tmp_path: Path,
    store_url: str,
    sqlite_shop: tuple[str, Engine],
    daemons: Callable[..., DaemonProcess],
) -> None:
    # A schedule on the inbox job's own 1 s grid: webhooks must still be drained.
    config, shop = _setup(tmp_path, store_url, *sqlite_shop, every=1.0)
    daemon = daemons(config, "solo")
    daemon.start()
    daemon.wait_started()
    daemon.wait_quiet([SYNC])
    daemon.kill()

    acked: set[str] = set()
    sent = 0
    # Pauses inside the first drain's transaction; deliveries keep coming meanwhile.
    daemon.start(SYNCD_FAULT="drain_apply:1")
    daemon.wait_started()
    with httpx.Client(timeout=3.0) as client:
        rows = shop.rows()
        for round_ in range(3):
            batch = rows[round_ * 20 : round_ * 20 + 20]
            for row in batch:
                shop.edit(row["id"], first_name=f"Hook{round_}-{row['id']}")
            events = [("customers", str(r["id"]), f"d{round_}-{r['id']}") for r in batch]
            sent += 1
            if _post(client, daemon.port, events):
                acked.update(e[2] for e in events)
            if round_ == 0:
                daemon.wait_marker()
        daemon.kill()
        # The killed drain held acknowledged events: they are still pending, not lost.
        with Store.open(store_url) as store:
            assert store.inbox_depth(SYNC) >= 20

        daemon.start()
        daemon.wait_started()
        for round_ in range(3, 5):
            batch = rows[round_ * 20 : round_ * 20 + 20]
            for row in batch:
                shop.edit(row["id"], last_name=f"Hook{round_}-{row['id']}")
            events = [("customers", str(r["id"]), f"d{round_}-{r['id']}") for r in batch]
            if _post(client, daemon.port, events):
                acked.update(e[2] for e in events)
            # A sender retrying the same delivery: stored once, applied once.
            _post(client, daemon.port, events)
    assert len(acked) >= 40, "the daemon acknowledged almost no delivery"
    _wait_inbox_empty(store_url)
    daemon.wait_quiet([SYNC])
    code, _ = daemon.terminate()
    assert code == 0

    inbox = _inbox_rows(store_url)
    stored: dict[str, list[str]] = {}
    for delivery, state in inbox:
        stored.setdefault(delivery, []).append(state)
    missing = sorted(acked - set(stored))
    assert not missing, f"acknowledged but never stored: {missing[:5]}"
    assert all(states == ["done"] for d, states in stored.items() if d in acked), stored
    with Store.open(store_url) as store:
        assert_converged(store, shop, SYNC, expected=EXTERNAL + CRM_ONLY)


def _wait_inbox_empty(store_url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with Store.open(store_url) as store:
        while store.inbox_depth(SYNC):
            assert time.monotonic() < deadline, "the inbox never drained"
            time.sleep(0.2)


def _inbox_rows(store_url: str) -> list[tuple[str, str]]:
    inbox = t.webhook_inbox
    with Store.open(store_url) as store, store._engine.connect() as conn:
        found = conn.execute(
            select(inbox.c.delivery_id, inbox.c.state).where(inbox.c.sync == SYNC)
        ).all()
    return [(str(d), str(s)) for d, s in found]
