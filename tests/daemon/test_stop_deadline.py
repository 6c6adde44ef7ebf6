"""SIGTERM while a pass is stuck on a slow peer: the daemon exits within its 10 s promise,
commits nothing of the stuck batch, and a restart finishes the job with nothing duplicated
(issue 13, defect 14: it took 10.9 s)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from store import Store
from tests.daemon._harness import (
    DaemonProcess,
    Shop,
    assert_converged,
    seed_crm,
    sync_yaml,
    write_config,
)

SYNC = "customers"
CRM_ONLY = 200


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_store_url" if request.param == "sqlite" else "pg_store_url"
    url: str = request.getfixturevalue(name)
    return url


def test_sigterm_with_a_pass_stuck_on_a_slow_peer_exits_within_the_deadline(
    tmp_path: Path,
    store_url: str,
    sqlite_shop: tuple[str, Engine],
    daemons: Callable[..., DaemonProcess],
) -> None:
    shop_url, shop_engine = sqlite_shop
    shop = Shop.create(shop_engine, "customers")
    with Store.open(store_url) as store:
        seed_crm(store, "slow", CRM_ONLY)
    config = write_config(
        tmp_path / "syncd.yaml",
        store_url=store_url,
        shop_url=shop_url,
        tables=["customers"],
        syncs=[sync_yaml(SYNC, "customers", every=0.5, batch_size=50)],
    )
    daemon = daemons(config, "solo")
    # The first outbound batch reached the shop; the pass then hangs 60 s inside its
    # transaction, as a pass waiting on a peer that answers slowly would.
    daemon.start(SYNCD_FAULT="outbound_write:1:pause=60")
    daemon.wait_marker()
    code, seconds = daemon.terminate(timeout=30)

    assert code == 0, daemon.stderr()[-3000:]
    assert seconds < 10, f"SIGTERM took {seconds:.1f} s"
    events = daemon.events()
    assert any(e["event"] == "passes_abandoned" and e.get("syncs") == [SYNC] for e in events)
    assert any(e["event"] == "daemon_stopped" for e in events)

    # The stuck batch's links never committed; a restart recognises what the shop has.
    daemon.start()
    daemon.wait_started()
    daemon.wait_quiet([SYNC], timeout=60)
    code, _ = daemon.terminate()
    assert code == 0
    with Store.open(store_url) as store:
        assert_converged(store, shop, SYNC, expected=CRM_ONLY)
