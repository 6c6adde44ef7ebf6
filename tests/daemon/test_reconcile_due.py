"""Delete reconciliation runs on each sync's own interval, and its due time outlives the
daemon: one restarted more often than the interval still reconciles (issue 13, defect 9)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete

from store import Store
from syncd.daemon import Daemon, DaemonOptions
from tests.daemon._harness import Shop, crm_contacts, people, sync_yaml, write_config

SYNC = "customers"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_store_url" if request.param == "sqlite" else "pg_store_url"
    url: str = request.getfixturevalue(name)
    return url


def _config(tmp_path: Path, store_url: str, shop_url: str, reconcile_every: str) -> Path:
    text = sync_yaml(SYNC, "customers", every=1.0).replace(
        "    batch_size: 50\n",
        "    batch_size: 50\n"
        f"    deletes: {{from_external: archive, reconcile_every: {reconcile_every}}}\n",
    )
    assert "reconcile_every" in text
    return write_config(
        tmp_path / "syncd.yaml",
        store_url=store_url,
        shop_url=shop_url,
        tables=["customers"],
        syncs=[text],
    )


def _life(config: Path, seconds: float) -> None:
    """One daemon life of ``seconds``, stopped cleanly."""
    daemon = Daemon(
        config,
        options=DaemonOptions(
            holder=f"life-{time.monotonic_ns()}",
            lease_seconds=3,
            http=False,
            reconcile_check_seconds=0.5,
        ),
    )
    daemon.start()
    try:
        time.sleep(seconds)
    finally:
        daemon.stop()


def test_a_daemon_restarted_before_the_interval_still_reconciles_when_due(
    tmp_path: Path, store_url: str, sqlite_shop: tuple[str, Engine]
) -> None:
    shop_url, shop_engine = sqlite_shop
    shop = Shop.create(shop_engine, "customers")
    shop.add_many(people("gone", 5))
    config = _config(tmp_path, store_url, shop_url, "5s")

    _life(config, 2.5)
    with Store.open(store_url) as store:
        assert len(crm_contacts(store)) == 5
        due, paused = store.reconcile_due([SYNC])[SYNC]
        assert due is not None and not paused
        assert due > datetime.now(UTC)  # first due one interval after the first look
    # A plain table shows a delete only by the id's absence.
    with shop_engine.begin() as conn:
        conn.execute(delete(shop.table).where(shop.table.c.email == "gone0@x.io"))
    # Each life is shorter than the interval: only a due time kept in the store gets there.
    for _ in range(3):
        _life(config, 2.5)
    with Store.open(store_url) as store:
        emails = sorted(str(c["email"]) for c in crm_contacts(store))
        assert emails == [f"gone{n}@x.io" for n in range(1, 5)], "the delete was not reconciled"
        later, _ = store.reconcile_due([SYNC])[SYNC]
        assert later is not None and later > due


def test_reconcile_every_reads_durations_and_defaults_to_minutes() -> None:
    from config.models import DeleteRules

    assert DeleteRules().reconcile_every == 15 * 60
    assert DeleteRules.model_validate({"reconcile_every": "2m"}).reconcile_every == 120
    with pytest.raises(ValueError, match="more than 0 seconds"):
        DeleteRules.model_validate({"reconcile_every": 0})
    with pytest.raises(ValueError, match="duration"):
        DeleteRules.model_validate({"reconcile_every": "soon"})
