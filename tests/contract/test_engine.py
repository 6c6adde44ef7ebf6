"""The contract as the engine uses it: a two-way pass with each connector type, from YAML.

The connector is configured the way a user configures it (its options in a config file,
built through the registry), so "implement, register, pass the suite" also proves that a
config can name the type and that the engine's passes meet no surprise: both sides end equal
and the next pass writes nothing. The store runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.load import load_config
from connectors.base import Connector
from store import ChangeSource, SourceType, Store
from syncd.engine import build_connector, build_spec, run_sync
from tests.contract.peers import ContractPeer

UI = ChangeSource(SourceType.CRM_UI, "contract-user")
SYNC = "contract-sync"


def write_config(peer: ContractPeer, tmp_path: Path, *, refused: bool = False) -> Path:
    """A config file naming the peer's type and options (JSON is YAML too)."""
    config = {
        "store": {"url": "sqlite:///unused.db"},
        "connectors": {"contract": {"type": peer.type_name, **peer.options(refused=refused)}},
        "syncs": {
            SYNC: {
                "connector": "contract",
                "external_object": peer.external_object,
                "crm_object": "contacts",
                "direction": "two-way",
                "match": {"crm": "email", "external": peer.email},
                "fields": [
                    {"crm": "email", "external": peer.email, "transform": "lowercase"},
                    {"crm": "firstname", "external": peer.name},
                ],
            }
        },
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(json.dumps(config, indent=2))
    return path


@pytest.fixture
def configured(peer: ContractPeer, tmp_path: Path) -> Iterator[Any]:
    made: list[Connector] = []

    def build(*, refused: bool = False) -> tuple[Any, Connector]:
        config = load_config(write_config(peer, tmp_path, refused=refused), env={})
        connector = build_connector(config, "contract")
        made.append(connector)
        return build_spec(config, config.syncs[SYNC]), connector

    yield build
    for connector in made:
        connector.close()


def _crm(store: Store) -> dict[str, Any]:
    return {
        r.properties["email"]: r.properties.get("firstname")
        for r in store.list_records("contacts", limit=100)
    }


def test_a_two_way_pass_makes_both_sides_equal_and_the_next_writes_nothing(
    peer: ContractPeer, store: Store, configured: Any
) -> None:
    peer.add("outside@contract.test", "Outside")
    store.create_record("contacts", {"email": "crm@contract.test", "firstname": "Crm"}, UI)
    spec, connector = configured()

    first = run_sync(spec, connector, store)
    second = run_sync(spec, connector, store)

    expected = {"outside@contract.test": "Outside", "crm@contract.test": "Crm"}
    assert _crm(store) == expected
    assert {str(e).lower(): n for e, n in peer.held().values()} == expected
    assert first.crm_writes == 1 and first.external_writes == 1, first.as_dict()
    assert second.crm_writes == 0 and second.external_writes == 0, second.as_dict()
    assert store.count_links(SYNC) == 2
