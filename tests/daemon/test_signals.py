"""Signals a running ``syncd run`` must honour: SIGTERM mid-batch, SIGHUP good and bad, and
a second daemon on one SQLite store refused.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from connectors.webhooks import WebhookOptions, sign
from store import Store
from tests.daemon._harness import (
    REPO,
    DaemonProcess,
    Shop,
    assert_converged,
    crm_contacts,
    links,
    people,
    sync_yaml,
    write_config,
)
from tests.daemon._hook_connector import TYPE_NAME, webhook_body

SYNC = "customers"


def _config(
    tmp_path: Path,
    store_url: str,
    shop_url: str,
    *,
    every: float = 1.0,
    batch_size: int = 50,
    lastname: bool = True,
    connector_type: str = "sql",
    secret: str | None = None,
) -> Path:
    text = sync_yaml(SYNC, "customers", every=every, batch_size=batch_size)
    if not lastname:
        text = "\n".join(line for line in text.splitlines() if "lastname" not in line)
    return write_config(
        tmp_path / "syncd.yaml",
        store_url=store_url,
        shop_url=shop_url,
        tables=["customers"],
        syncs=[text],
        connector_type=connector_type,
        webhook_secret=secret,
    )


def test_sigterm_during_a_busy_batch_exits_cleanly_and_a_restart_finishes_the_job(
    tmp_path: Path,
    sqlite_store_url: str,
    sqlite_shop: tuple[str, Engine],
    daemons: Callable[..., DaemonProcess],
) -> None:
    shop_url, shop_engine = sqlite_shop
    shop = Shop.create(shop_engine, "customers")
    shop.add_many(people("busy", 5000))
    config = _config(tmp_path, sqlite_store_url, shop_url, batch_size=500)
    daemon = daemons(config, "solo")

    # The first page's writes are in its transaction; the process lingers there a second.
    daemon.start(SYNCD_FAULT="inbound_commit:1:pause=1.0")
    daemon.wait_marker()
    code, seconds = daemon.terminate(timeout=12)

    assert code == 0, daemon.stderr()[-3000:]
    assert seconds < 10
    events = [e["event"] for e in daemon.events()]
    assert "sync_stopped" in events and "daemon_stopped" in events
    with Store.open(sqlite_store_url) as store:
        contacts = crm_contacts(store)
        made = links(store, SYNC)
        state = store.sync_state(SYNC)
        runs = store.list_sync_runs(SYNC)
    # Whole pages only: every contact created has its link, and the pass stopped early.
    assert 0 < len(contacts) < 5000 and len(contacts) % 500 == 0
    assert {link.crm_id for link in made} == {c["id"] for c in contacts}
    assert state.cursor is not None
    assert runs[0].status == "ok" and runs[0].summary.get("stopped") == 1

    daemon.start()
    daemon.wait_started()
    daemon.wait_quiet([SYNC], timeout=50)
    code, _ = daemon.terminate()
    assert code == 0
    with Store.open(sqlite_store_url) as store:
        assert_converged(store, shop, SYNC, expected=5000)


def test_sighup_applies_a_valid_change_and_keeps_the_old_config_when_broken(
    tmp_path: Path,
    sqlite_store_url: str,
    sqlite_shop: tuple[str, Engine],
    daemons: Callable[..., DaemonProcess],
) -> None:
    shop_url, shop_engine = sqlite_shop
    shop = Shop.create(shop_engine, "customers")
    shop.add_many(people("hup", 60))
    config = _config(tmp_path, sqlite_store_url, shop_url, lastname=False)
    daemon = daemons(config, "solo", plain=True)
    daemon.start()
    daemon.wait_started()
    _wait_for(lambda: _count_with(sqlite_store_url, "firstname") == 60, "the first sync")
    assert _count_with(sqlite_store_url, "lastname") == 0

    # A new field: reloaded, and the next pass backfills it for the linked records.
    _config(tmp_path, sqlite_store_url, shop_url, lastname=True)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for(lambda ev: any(e["event"] == "reloaded" for e in ev), 10, "reloaded")
    _wait_for(lambda: _count_with(sqlite_store_url, "lastname") == 60, "the backfill")
    with Store.open(sqlite_store_url) as store:
        assert_converged(store, shop, SYNC, expected=60)

    # A broken file: refused, logged, and the running configuration keeps syncing.
    config.write_text(config.read_text().replace("connector: shop", "connector: nowhere"))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for(
        lambda ev: any(e["event"] == "reload_refused" for e in ev), 10, "reload_refused"
    )
    refused = next(e for e in daemon.events() if e["event"] == "reload_refused")
    assert "nowhere" in refused["error"]
    row = shop.rows()[0]
    shop.edit(row["id"], last_name="AfterBrokenReload")
    _wait_for(
        lambda: any(c.get("lastname") == "AfterBrokenReload" for c in _contacts(sqlite_store_url)),
        "a change after the refused reload",
    )
    code, _ = daemon.terminate()
    assert code == 0


def test_a_second_daemon_on_one_sqlite_store_is_refused(
    tmp_path: Path,
    sqlite_store_url: str,
    sqlite_shop: tuple[str, Engine],
    daemons: Callable[..., DaemonProcess],
) -> None:
    shop_url, shop_engine = sqlite_shop
    Shop.create(shop_engine, "customers").add_many(people("two", 5))
    config = _config(tmp_path, sqlite_store_url, shop_url)
    first = daemons(config, "first", plain=True)
    first.start()
    first.wait_started()

    second = subprocess.run(
        [
            *(sys.executable, "-m", "syncd", "--config", str(config), "run"),
            *("--holder", "second", "--no-http", "--pid-file", str(tmp_path / "second.pid")),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert second.returncode == 1
    assert "one daemon only" in second.stderr
    assert str(first.pid) in second.stderr  # names the process that holds the store
    assert first.proc is not None and first.proc.poll() is None  # the first runs on
    code, _ = first.terminate()
    assert code == 0


def test_webhooks_are_drained_when_the_sync_polls_every_second(
    tmp_path: Path,
    sqlite_store_url: str,
    sqlite_shop: tuple[str, Engine],
    daemons: Callable[..., DaemonProcess],
) -> None:
    shop_url, shop_engine = sqlite_shop
    shop = Shop.create(shop_engine, "customers")
    shop.add_many(people("tick", 5))
    secret = "tick-secret-0"
    config = _config(
        tmp_path, sqlite_store_url, shop_url, every=1.0, connector_type=TYPE_NAME, secret=secret
    )
    daemon = daemons(config, "solo")
    daemon.start()
    daemon.wait_started()
    url = f"http://127.0.0.1:{daemon.port}/webhooks/shop"
    body = webhook_body([("customers", "1", "tick-1")])
    headers = sign(
        WebhookOptions.model_validate({"secret": secret}),
        method="POST",
        url=url,
        body=body,
        now=datetime.now(UTC),
    )
    with httpx.Client(timeout=5) as client:
        assert client.post(url, content=body, headers=headers).is_success

    with Store.open(sqlite_store_url) as store:
        _wait_for(lambda: store.inbox_depth(SYNC) == 0, "the inbox to drain", timeout=8)


def _contacts(store_url: str) -> list[dict[str, object]]:
    with Store.open(store_url) as store:
        return crm_contacts(store)


def _count_with(store_url: str, prop: str) -> int:
    return sum(1 for c in _contacts(store_url) if c.get(prop))


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s")
        time.sleep(0.2)


def test_delete_reconciliation_runs_when_its_interval_is_a_multiple_of_the_sync_interval(
    tmp_path: Path,
    sqlite_store_url: str,
    sqlite_shop: tuple[str, Engine],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In process: a 2 s reconcile interval with a 1 s sync is the grid that collided.
    import syncd.daemon.daemon as daemon_module
    from syncd.daemon import Daemon, DaemonOptions

    shop_url, shop_engine = sqlite_shop
    Shop.create(shop_engine, "customers").add_many(people("rec", 5))
    # (With every: 0.7, off the grid, the same test passes: the lock collision is the cause.)
    config = _config(tmp_path, sqlite_store_url, shop_url, every=1.0)
    config.write_text(
        config.read_text().replace(
            "    batch_size: 50\n", "    batch_size: 50\n    deletes: {reconcile_every: 2s}\n"
        )
    )
    assert "reconcile_every" in config.read_text()
    calls: list[str] = []
    original = daemon_module.reconcile_deletes  # type: ignore[attr-defined]

    def counted(spec: object, *args: object, **kwargs: object) -> object:
        calls.append(str(getattr(spec, "name", "")))
        return original(spec, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(daemon_module, "reconcile_deletes", counted)
    daemon = Daemon(
        config,
        options=DaemonOptions(
            holder="inproc", lease_seconds=3, http=False, reconcile_check_seconds=0.5
        ),
    )
    daemon.start()
    try:
        time.sleep(7.5)  # three reconcile ticks
    finally:
        daemon.stop()
    assert calls, "no reconcile ran in three ticks"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_store_url" if request.param == "sqlite" else "pg_store_url"
    return str(request.getfixturevalue(name))


def test_sighup_rotates_the_webhook_secret_and_adds_objects_everywhere_or_nowhere(
    tmp_path: Path,
    any_store_url: str,
    sqlite_shop: tuple[str, Engine],
    daemons: Callable[..., DaemonProcess],
) -> None:
    """A leaked secret is rotated by editing the file and sending SIGHUP: from then on the
    receiver refuses the old secret, accepts the new one, and delivers events of an object
    the same reload added. A reload that cannot be applied whole changes nothing."""
    shop_url, shop_engine = sqlite_shop
    shop = Shop.create(shop_engine, "customers")
    shop.add_many(people("rot", 3))
    leads = Shop.create(shop_engine, "leads")
    leads.add_many(people("lead", 2))
    old, new = "old-secret-leaked-1", "new-secret-rotated-2"
    config = _config(
        tmp_path, any_store_url, shop_url, every=60, connector_type=TYPE_NAME, secret=old
    )
    daemon = daemons(config, "solo")
    daemon.start()
    daemon.wait_started()
    url = f"http://127.0.0.1:{daemon.port}/webhooks/shop"

    def post(secret: str, obj: str, ident: str, delivery: str) -> httpx.Response:
        body = webhook_body([(obj, ident, delivery)])
        headers = sign(
            WebhookOptions.model_validate({"secret": secret}),
            method="POST",
            url=url,
            body=body,
            now=datetime.now(UTC),
        )
        with httpx.Client(timeout=5) as client:
            return client.post(url, content=body, headers=headers)

    assert post(old, "customers", "1", "d-1").status_code == 200
    assert post(new, "customers", "1", "d-2").status_code == 401

    def rotated(*, api: bool) -> None:
        write_config(
            config,
            store_url=any_store_url,
            shop_url=shop_url,
            tables=["customers", "leads"],
            syncs=[
                sync_yaml(SYNC, "customers", every=60),
                sync_yaml("leads", "leads", every=60),
            ],
            connector_type=TYPE_NAME,
            webhook_secret=new,
        )
        if api:
            config.write_text(config.read_text() + "api: {rate_limit: {max: 5}}\n")

    def reloads(event: str) -> int:
        return sum(1 for e in daemon.events() if e["event"] == event)

    # The new secret and object together with a change only a restart can make: refused
    # whole, so the old secret still works and the new one and the new object do not.
    rotated(api=True)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for(lambda ev: reloads("reload_refused") == 1, 15, "reload_refused")
    refused = next(e for e in daemon.events() if e["event"] == "reload_refused")
    assert "api changed" in refused["error"] and "restart" in refused["error"]
    assert post(old, "customers", "2", "d-3").status_code == 200
    assert post(new, "customers", "2", "d-4").status_code == 401

    # Without it: applied everywhere at once.
    rotated(api=False)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for(lambda ev: reloads("reloaded") == 1, 15, "reloaded")
    stale = post(old, "customers", "3", "d-5")
    assert stale.status_code == 401, stale.text
    fresh = post(new, "leads", "1", "d-6")
    assert fresh.status_code == 200, fresh.text
    assert fresh.json() == {"received": 1, "new": 1, "ignored": 0}
    with Store.open(any_store_url) as store:
        _wait_for(
            lambda: [e.external_id for e in store.inbox_list(sync="leads", state="done")] == ["1"],
            "the added object's event to be applied",
        )
    code, _ = daemon.terminate()
    assert code == 0
