"""Refused credentials raise the one error kind that pauses the sync, on every connector type.

Retrying with credentials the system refused cannot help and may lock the account, so every
call that contacts the system raises ``AuthError`` (never retriable), ``check_object``
included (the daemon pauses the sync instead of asking again before every pass), and a pass
through the engine pauses the sync with the reason until an operator resumes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from connectors.base import Connector
from connectors.errors import AuthError
from store import Store
from syncd.engine import run_sync
from tests.contract._helpers import create
from tests.contract.peers import ContractPeer
from tests.contract.test_engine import SYNC, configured

__all__ = ["configured"]

CALLS: dict[str, Callable[[Connector, ContractPeer, str], object]] = {
    "check_object": lambda c, p, i: c.check_object(p.external_object),
    "fetch_changes": lambda c, p, i: c.fetch_changes(
        p.external_object, None, limit=10, resume=False
    ),
    "fetch_by_ids": lambda c, p, i: c.fetch_by_ids(p.external_object, [i]),
    "find_by": lambda c, p, i: c.find_by(p.external_object, p.email, ["held@contract.test"]),
    "iter_ids": lambda c, p, i: list(c.iter_ids(p.external_object)),
    "write": lambda c, p, i: c.write(
        p.external_object, [create(p, "never@contract.test", "Never")]
    ),
    "delete": lambda c, p, i: c.delete(p.external_object, [i]),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_refused_credentials_raise_the_error_that_pauses_the_sync(
    peer: ContractPeer, call: str
) -> None:
    if peer.no_credentials:
        pytest.skip(peer.no_credentials)
    held = peer.add("held@contract.test", "Held")
    refused = peer.connector(refused=True)
    try:
        with pytest.raises(AuthError) as raised:
            CALLS[call](refused, peer, held)
        assert not raised.value.retriable
    finally:
        refused.close()
    assert list(peer.held()) == [held], "nothing was written with refused credentials"


def test_refused_credentials_pause_the_sync_through_the_engine(
    peer: ContractPeer, store: Store, configured: Any
) -> None:
    if peer.no_credentials:
        pytest.skip(peer.no_credentials)
    peer.add("held@contract.test", "Held")
    spec, connector = configured(refused=True)

    summary = run_sync(spec, connector, store)

    assert summary.paused_reason is not None
    state = store.sync_state(SYNC)
    assert state.paused and state.paused_reason == summary.paused_reason
    assert store.list_records("contacts", limit=10) == []
