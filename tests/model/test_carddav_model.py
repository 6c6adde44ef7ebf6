"""The engine's promise against the CardDAV connector and a real Radicale server, with a
second client editing cards through plain HTTP; the store on SQLite and PostgreSQL, under
every conflict rule and delete rule (each pair once in CI, on a store database in turn;
with ``SYNCD_MODEL_EXAMPLES=N`` every combination, N random examples).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis.stateful import run_state_machine_as_test

from store import Store
from tests.connectors.carddav.conftest import Radicale
from tests.model.carddav_peer import CardDavPeer
from tests.model.machine import DELETE_RULES, EXAMPLES_ENV, RULES, machine_class, model_settings

STORES = ("sqlite", "postgresql")


def _cases() -> list[tuple[str, str, str]]:
    if os.environ.get(EXAMPLES_ENV):
        return list(itertools.product(STORES, RULES, DELETE_RULES))
    return [
        (STORES[(i + j) % 2], rule, deletes)
        for i, rule in enumerate(RULES)
        for j, deletes in enumerate(DELETE_RULES)
    ]


@pytest.mark.parametrize(("db_url", "rule", "deletes"), _cases(), indirect=["db_url"])
def test_carddav_sync_keeps_its_promise(
    radicale: Radicale,
    store_factory: Callable[[], Store],
    tmp_path: Path,
    rule: str,
    deletes: str,
) -> None:
    peer = CardDavPeer(radicale)
    for machine in machine_class(peer, store_factory, tmp_path, rule=rule, deletes=deletes):
        run_state_machine_as_test(machine, settings=model_settings())
