"""The engine's promise against the ``memory`` connector (an in-process system with versions
and conditional writes, unique emails, no tombstones), with the store on SQLite and
PostgreSQL, under every conflict rule and delete rule (in CI each rule of either kind once,
on a store database in turn; with ``SYNCD_MODEL_EXAMPLES=N`` every combination, N random
examples). The test double keeps the promise the real connectors keep.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis.stateful import run_state_machine_as_test

from store import Store
from tests.model.machine import EXAMPLES_ENV, ci_rule_pairs, machine_class, model_settings
from tests.model.memory_peer import MemoryPeer

STORES = ("sqlite", "postgresql")


@pytest.fixture
def peer() -> Iterator[MemoryPeer]:
    made = MemoryPeer()
    yield made
    made.close()


def _cases() -> list[tuple[str, str, str]]:
    pairs = ci_rule_pairs()
    if os.environ.get(EXAMPLES_ENV):
        return [(store, rule, deletes) for store in STORES for rule, deletes in pairs]
    return [(STORES[i % 2], rule, deletes) for i, (rule, deletes) in enumerate(pairs)]


@pytest.mark.parametrize(("db_url", "rule", "deletes"), _cases(), indirect=["db_url"])
def test_memory_sync_keeps_its_promise(
    peer: MemoryPeer,
    store_factory: Callable[[], Store],
    tmp_path: Path,
    rule: str,
    deletes: str,
) -> None:
    for machine in machine_class(peer, store_factory, tmp_path, rule=rule, deletes=deletes):
        run_state_machine_as_test(machine, settings=model_settings())
