"""The engine's promise against the HubSpot connector, with syncd's own HubSpot-compatible
API over a second store (SQLite) on real uvicorn as "HubSpot"; the store on SQLite and
PostgreSQL, under every conflict rule and delete rule (in CI each rule of either kind once,
on a store database in turn; with ``SYNCD_MODEL_EXAMPLES=N`` every combination, N random
examples).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis.stateful import run_state_machine_as_test

from store import Store
from syncd.api import ApiSettings, create_api
from tests._live import LiveServers
from tests.api.conftest import make_token
from tests.model.hubspot_peer import HubSpotPeer
from tests.model.machine import EXAMPLES_ENV, ci_rule_pairs, machine_class, model_settings

STORES = ("sqlite", "postgresql")


@pytest.fixture
def remote(
    tmp_path: Path, _sqlite_template: Path, live_servers: LiveServers
) -> Iterator[HubSpotPeer]:
    path = tmp_path / "remote.db"
    shutil.copy(_sqlite_template, path)
    store = Store.open(f"sqlite:///{path}", migrate=False)
    settings = ApiSettings(rate_limit_max=1_000_000, rate_limit_interval_ms=1000)
    url = live_servers.mount(create_api(store, settings))
    try:
        yield HubSpotPeer(store, url, make_token(store, "model"))
    finally:
        live_servers.unmount(url)
        store.close()


def _cases() -> list[tuple[str, str, str]]:
    pairs = ci_rule_pairs()
    if os.environ.get(EXAMPLES_ENV):
        return [(store, rule, deletes) for store in STORES for rule, deletes in pairs]
    return [(STORES[i % 2], rule, deletes) for i, (rule, deletes) in enumerate(pairs)]


@pytest.mark.parametrize(("db_url", "rule", "deletes"), _cases(), indirect=["db_url"])
def test_hubspot_sync_keeps_its_promise(
    remote: HubSpotPeer,
    store_factory: Callable[[], Store],
    tmp_path: Path,
    rule: str,
    deletes: str,
) -> None:
    for machine in machine_class(remote, store_factory, tmp_path, rule=rule, deletes=deletes):
        run_state_machine_as_test(machine, settings=model_settings())
