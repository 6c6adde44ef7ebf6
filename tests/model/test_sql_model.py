"""The engine's promise against the SQL connector's real databases (SQLite, PostgreSQL,
MariaDB), with the store on SQLite and PostgreSQL, under every conflict rule and delete rule.

In CI each pair of rules runs on one pairing of store and peer databases (every pairing is
used, each rule on both store databases), a few derandomized examples each. With
``SYNCD_MODEL_EXAMPLES=N`` every rule runs on every pairing, N random examples each.
See docs/engine.md, "How the engine is proven".
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis.stateful import run_state_machine_as_test

from store import Store
from tests.connectors.conftest import SqlDatabase
from tests.model.machine import (
    DELETE_RULES,
    EXAMPLES_ENV,
    RULES,
    machine_class,
    model_settings,
)
from tests.model.sql_peer import SqlPeer

STORES = ("sqlite", "postgresql")
PEERS = ("sqlite", "postgresql", "mariadb")


def _cases() -> list[tuple[str, str, str, str]]:
    if os.environ.get(EXAMPLES_ENV):
        return list(itertools.product(STORES, PEERS, RULES, DELETE_RULES))
    # Each pair of rules once, on a pairing chosen so that every conflict rule runs on both
    # store databases, every delete rule on every peer database, and every pairing is used.
    return [
        (STORES[(i + j) % 2], PEERS[(i + j) % 3], rule, deletes)
        for i, rule in enumerate(RULES)
        for j, deletes in enumerate(DELETE_RULES)
    ]


@pytest.mark.parametrize(
    ("db_url", "sql_db", "rule", "deletes"), _cases(), indirect=["db_url", "sql_db"]
)
def test_sql_sync_keeps_its_promise(
    sql_db: SqlDatabase,
    store_factory: Callable[[], Store],
    tmp_path: Path,
    rule: str,
    deletes: str,
) -> None:
    peer = SqlPeer(sql_db)
    for machine in machine_class(peer, store_factory, tmp_path, rule=rule, deletes=deletes):
        run_state_machine_as_test(machine, settings=model_settings())
