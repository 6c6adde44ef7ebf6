"""A new connector = implement the contract, register it, pass this suite.

The ``peer`` fixture is parametrised over the registry itself, so a registered type without
a peer gets a failing case; this test says the same in one line, for a quick look.
"""

from __future__ import annotations

from connectors.registry import CONNECTOR_TYPES, connector_class
from tests.contract.conftest import PEER_FACTORIES


def test_every_registered_connector_type_has_a_peer_to_prove_the_contract_on() -> None:
    missing = sorted(set(CONNECTOR_TYPES) - set(PEER_FACTORIES))
    assert not missing, f"registered without a contract peer (tests/contract/peers.py): {missing}"
    stale = sorted(set(PEER_FACTORIES) - set(CONNECTOR_TYPES))
    assert not stale, f"peers for types no longer registered: {stale}"
    for type_name in CONNECTOR_TYPES:
        assert connector_class(type_name).type_name == type_name
