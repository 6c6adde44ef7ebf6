"""``syncd sync NAME`` beside ``syncd run``: the command takes the sync's lease, so it waits
for the daemon's pass (or refuses) and never pushes the same records a second time
(issue 13, defect 6)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from store import Store
from tests.daemon._harness import (
    REPO,
    DaemonProcess,
    Shop,
    assert_converged,
    people,
    seed_crm,
    sync_yaml,
    write_config,
)

SYNC = "customers"
EXTERNAL, CRM_ONLY = 20, 200


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_store_url" if request.param == "sqlite" else "pg_store_url"
    url: str = request.getfixturevalue(name)
    return url


def _setup(tmp_path: Path, store_url: str, shop_url: str, shop_engine: Engine) -> tuple[Path, Shop]:
    shop = Shop.create(shop_engine, "customers")
    shop.add_many(people("ext", EXTERNAL))
    with Store.open(store_url) as store:
        seed_crm(store, "crm", CRM_ONLY)
    config = write_config(
        tmp_path / "syncd.yaml",
        store_url=store_url,
        shop_url=shop_url,
        tables=["customers"],
        syncs=[sync_yaml(SYNC, "customers", every=0.5, batch_size=50)],
    )
    return config, shop


def _cli(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(config), *args],
        cwd=REPO,
        env={**os.environ, "SYNCD_FAULT": ""},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_cli_pass_waits_for_the_daemons_pass_and_duplicates_nothing(
    tmp_path: Path,
    store_url: str,
    sqlite_shop: tuple[str, Engine],
    daemons: Callable[..., DaemonProcess],
) -> None:
    config, shop = _setup(tmp_path, store_url, *sqlite_shop)
    daemon = daemons(config, "solo")
    # The daemon stops for 3 s after its first outbound batch reached the shop, before it
    # committed the links: a second pass running now would push the same contacts again.
    daemon.start(SYNCD_FAULT="outbound_write:1:pause=3")
    daemon.wait_marker()
    done = _cli(config, "sync", SYNC)
    assert done.returncode == 0, done.stderr
    assert f"sync {SYNC} is being run by solo" in done.stderr
    assert "waiting up to" in done.stderr
    daemon.wait_quiet([SYNC])
    code, _ = daemon.terminate()
    assert code == 0
    with Store.open(store_url) as store:
        assert_converged(store, shop, SYNC, expected=EXTERNAL + CRM_ONLY)
    # The daemon handed the lease over and took the sync back afterwards.
    handed = [e for e in daemon.events() if e["event"] == "lease_handed_over"]
    assert handed, "the daemon never handed its lease over"


def test_a_cli_pass_that_may_not_wait_refuses_in_one_line(
    tmp_path: Path,
    store_url: str,
    sqlite_shop: tuple[str, Engine],
    daemons: Callable[..., DaemonProcess],
) -> None:
    config, shop = _setup(tmp_path, store_url, *sqlite_shop)
    daemon = daemons(config, "solo")
    daemon.start(SYNCD_FAULT="outbound_write:1:pause=4")
    daemon.wait_marker()
    refused = _cli(config, "sync", SYNC, "--wait", "0")
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith(f"error: sync {SYNC} is being run by solo")
    assert "--wait" in lines[0]
    if store_url.startswith("sqlite"):
        # The daemon's file lock beside the store names it; the command only reads it.
        assert f"(`syncd run`, pid {daemon.pid})" in lines[0]
    assert refused.stdout == ""  # no pass ran: nothing to report
    daemon.wait_quiet([SYNC])
    daemon.terminate()
    with Store.open(store_url) as store:
        assert_converged(store, shop, SYNC, expected=EXTERNAL + CRM_ONLY)
