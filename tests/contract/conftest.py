"""The contract suite's peers, one per registered connector type (and database), by registry.

``peer`` is parametrised over ``connectors.registry.CONNECTOR_TYPES`` itself: a type
registered without an entry in ``PEER_FACTORIES`` gets a case that fails and says what to add,
so a new connector cannot skip the contract by being forgotten here. The systems behind the
peers are started once per session (the REST test API, Radicale, syncd's own HubSpot API, a
table per database) and emptied or given a fresh collection per test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from connectors.base import Connector
from connectors.registry import CONNECTOR_TYPES
from store import Store
from syncd.api import ApiSettings, create_api
from tests._live import LiveServers
from tests.api.conftest import make_token
from tests.connectors.carddav.conftest import radicale
from tests.connectors.conftest import (
    MARIADB_DEFAULT,
    MARIADB_ENV,
    POSTGRES_ENV,
    _driver_url,
    _mariadb_url,
    _unavailable,
)
from tests.connectors.rest.conftest import _running_api
from tests.contract.peers import (
    CardDavPeer,
    ContractPeer,
    HubSpotPeer,
    MemoryPeer,
    RestPeer,
    SqlPeer,
    SqlTable,
)

__all__ = ["_mariadb_url", "_running_api", "radicale"]  # fixtures, from their homes

PeerFactory = Callable[[pytest.FixtureRequest], ContractPeer]


def _memory(request: pytest.FixtureRequest) -> ContractPeer:
    return MemoryPeer()


def _memory_without_keys(request: pytest.FixtureRequest) -> ContractPeer:
    return MemoryPeer(idempotency_keys=False)


def _sql(backend: str) -> PeerFactory:
    def make(request: pytest.FixtureRequest) -> ContractPeer:
        tables: Callable[[str], SqlTable] = request.getfixturevalue("_contract_sql_tables")
        table = tables(backend)
        table.empty()
        return SqlPeer(table)

    return make


def _rest(request: pytest.FixtureRequest) -> ContractPeer:
    return RestPeer(request.getfixturevalue("_running_api"))


def _carddav(request: pytest.FixtureRequest) -> ContractPeer:
    return CardDavPeer(request.getfixturevalue("radicale"))


def _hubspot(request: pytest.FixtureRequest) -> ContractPeer:
    remote, url, token = request.getfixturevalue("_contract_hubspot_api")
    return HubSpotPeer(remote, url, token)


#: Every registered type's peers, by the case id they run under.
PEER_FACTORIES: dict[str, dict[str, PeerFactory]] = {
    "memory": {"memory": _memory, "memory-nokeys": _memory_without_keys},
    "sql": {f"sql-{b}": _sql(b) for b in ("sqlite", "postgresql", "mariadb")},
    "rest": {"rest": _rest},
    "carddav": {"carddav": _carddav},
    "hubspot": {"hubspot": _hubspot},
}


def _peer_params() -> list[object]:
    params: list[object] = []
    for type_name in sorted(CONNECTOR_TYPES):
        factories = PEER_FACTORIES.get(type_name)
        if not factories:
            params.append(pytest.param((type_name, None), id=f"{type_name}-no-peer"))
            continue
        params.extend(pytest.param((type_name, case), id=case) for case in factories)
    return params


@pytest.fixture(params=_peer_params())
def peer(request: pytest.FixtureRequest) -> Iterator[ContractPeer]:
    """The system of one registered connector type, fresh for this test."""
    type_name, case = request.param
    if case is None:
        pytest.fail(
            f"connector type {type_name!r} is registered (connectors/registry.py) but has no "
            "peer: write one in tests/contract/peers.py and name it in PEER_FACTORIES of "
            "tests/contract/conftest.py, so it passes the connector contract"
        )
    made = PEER_FACTORIES[type_name][case](request)
    assert made.type_name == type_name, f"peer {case} plays {made.type_name}, not {type_name}"
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def connector(peer: ContractPeer) -> Iterator[Connector]:
    """A connector of the peer's type with good credentials, closed after the test."""
    made = peer.connector()
    try:
        yield made
    finally:
        made.close()


# -- the systems, once per session -----------------------------------------------------


@pytest.fixture(scope="session")
def _contract_sql_tables(
    tmp_path_factory: pytest.TempPathFactory, _mariadb_url: str | None
) -> Iterator[Callable[[str], SqlTable]]:
    made: dict[str, SqlTable] = {}

    def table(backend: str) -> SqlTable:
        if backend in made:
            return made[backend]
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('contract-sql') / 'external.db'}"
        elif backend == "postgresql":
            url = os.environ.get(POSTGRES_ENV, "")
            if not url:
                _unavailable(f"PostgreSQL not configured ({POSTGRES_ENV})")
        else:
            if _mariadb_url is None:
                shown = make_url(os.environ.get(MARIADB_ENV, MARIADB_DEFAULT))
                _unavailable(f"MariaDB not reachable at {shown!r}")
            url = _mariadb_url or ""
        made[backend] = SqlTable(backend, url, create_engine(_driver_url(url)))
        return made[backend]

    yield table
    for held in made.values():
        held.drop()


@pytest.fixture(scope="session")
def _contract_hubspot_api(
    tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path, live_servers: LiveServers
) -> Iterator[tuple[Store, str, str]]:
    """syncd's HubSpot-compatible API over a store of its own, as "HubSpot", mounted on one
    of the session's real servers (HubSpot's connector speaks HTTP to it)."""
    path = tmp_path_factory.mktemp("contract-hubspot") / "remote.db"
    shutil.copy(_sqlite_template, path)
    remote = Store.open(f"sqlite:///{path}", migrate=False)
    settings = ApiSettings(rate_limit_max=1_000_000, rate_limit_interval_ms=1000)
    url = live_servers.mount(create_api(remote, settings))
    try:
        yield remote, url, make_token(remote, "contract")
    finally:
        live_servers.unmount(url)
        remote.close()
