"""The engine's promise against the REST connector and the project's test API on real
uvicorn (no tombstones; one object searchable by email, one not), with the store on SQLite
and PostgreSQL, under every conflict rule and delete rule.

In CI each rule of either kind runs once, on a store database and object chosen in turn; with
``SYNCD_MODEL_EXAMPLES=N`` every combination runs N random examples.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis.stateful import run_state_machine_as_test

from store import Store
from tests.connectors.rest.server import Server, serve
from tests.model.machine import EXAMPLES_ENV, ci_rule_pairs, machine_class, model_settings
from tests.model.rest_peer import RestPeer

STORES = ("sqlite", "postgresql")
OBJECTS = ("find", "nofind")


@pytest.fixture(scope="module")
def api() -> Iterator[Server]:
    yield from serve(Server())


def _cases() -> list[tuple[str, str, str, str]]:
    pairs = ci_rule_pairs()
    if os.environ.get(EXAMPLES_ENV):
        return [(s, o, r, d) for s in STORES for o in OBJECTS for r, d in pairs]
    return [(STORES[i % 2], OBJECTS[(i // 2) % 2], r, d) for i, (r, d) in enumerate(pairs)]


@pytest.mark.parametrize(("db_url", "obj", "rule", "deletes"), _cases(), indirect=["db_url"])
def test_rest_sync_keeps_its_promise(
    api: Server,
    store_factory: Callable[[], Store],
    tmp_path: Path,
    obj: str,
    rule: str,
    deletes: str,
) -> None:
    peer = RestPeer(api, find=obj == "find")
    for machine in machine_class(peer, store_factory, tmp_path, rule=rule, deletes=deletes):
        run_state_machine_as_test(machine, settings=model_settings())
