"""A sync with no schedule runs only on demand: the daemon never polls it, yet its webhooks
are applied (issue 14, defect 7)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import httpx
import pytest
from sqlalchemy import Engine

from connectors.webhooks import WebhookOptions, sign
from store import Store
from syncd.daemon import Daemon, DaemonOptions
from tests.daemon._harness import Shop, free_port, people, sync_yaml, write_config
from tests.daemon._hook_connector import TYPE_NAME, webhook_body

SYNC = "customers"
SECRET = "on-demand-secret-1"


def _manual_config(tmp_path: Path, store_url: str, shop_url: str) -> Path:
    text = sync_yaml(SYNC, "customers")
    text = "\n".join(line for line in text.splitlines() if "schedule:" not in line)
    return write_config(
        tmp_path / "syncd.yaml",
        store_url=store_url,
        shop_url=shop_url,
        tables=["customers"],
        syncs=[text],
        connector_type=TYPE_NAME,
        webhook_secret=SECRET,
    )


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s")
        time.sleep(0.1)


def _register_hook_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    import connectors.registry as registry

    monkeypatch.setattr(
        registry,
        "CONNECTOR_TYPES",
        MappingProxyType(
            {**registry.CONNECTOR_TYPES, TYPE_NAME: "tests.daemon._hook_connector:SqlHookConnector"}
        ),
    )


def test_a_sync_without_a_schedule_is_not_polled_but_its_webhooks_are_applied(
    tmp_path: Path,
    sqlite_store_url: str,
    sqlite_shop: tuple[str, Engine],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _register_hook_connector(monkeypatch)
    shop_url, shop_engine = sqlite_shop
    Shop.create(shop_engine, "customers").add_many(people("od", 3))
    config = _manual_config(tmp_path, sqlite_store_url, shop_url)
    port = free_port()
    daemon = Daemon(
        config,
        options=DaemonOptions(holder="on-demand", lease_seconds=3, listen=f"127.0.0.1:{port}"),
    )
    daemon.start()
    try:
        daemon.wait_until_serving()
        time.sleep(2.5)  # a polled sync runs at start and would have a run by now
        with Store.open(sqlite_store_url) as store:
            assert store.list_sync_runs(SYNC) == [], "the daemon polled an on-demand sync"
        url = f"http://127.0.0.1:{port}/webhooks/shop"
        body = webhook_body([("customers", "2", "od-1")])
        headers = sign(
            WebhookOptions.model_validate({"secret": SECRET}),
            method="POST",
            url=url,
            body=body,
            now=datetime.now(UTC),
        )
        with httpx.Client(timeout=5) as client:
            assert client.post(url, content=body, headers=headers).is_success
        with Store.open(sqlite_store_url) as store:
            _wait_for(lambda: store.inbox_depth(SYNC) == 0, "the inbox to drain")
            emails = {r.properties.get("email") for r in store.list_records("contacts")}
            assert "od1@x.io" in emails
    finally:
        daemon.stop()


def test_the_daemon_stamps_its_heartbeat_and_marks_a_clean_stop(
    tmp_path: Path,
    sqlite_store_url: str,
    sqlite_shop: tuple[str, Engine],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _register_hook_connector(monkeypatch)
    config = _manual_config(tmp_path, sqlite_store_url, sqlite_shop[0])
    daemon = Daemon(config, options=DaemonOptions(holder="beating", lease_seconds=3, http=False))
    daemon.start()
    try:
        with Store.open(sqlite_store_url) as store:
            seen = store.daemons_seen()
            assert [(d.holder, d.stopped_at) for d in seen] == [("beating", None)]
    finally:
        daemon.stop()
    with Store.open(sqlite_store_url) as store:
        (seen_row,) = store.daemons_seen()
        assert seen_row.stopped_at is not None
