"""Sync leases: one holder at a time, and a holder that lost its lease cannot commit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store import LeaseLostError, LinkWrite, Store
from tests.integration._store_helpers import contact

TTL = timedelta(seconds=30)


def test_one_holder_at_a_time_and_renewal_keeps_the_token(store: Store) -> None:
    first = store.acquire_lease("shop", "daemon-a", TTL)
    assert first is not None and first.token == 1
    assert store.acquire_lease("shop", "daemon-b", TTL) is None
    again = store.acquire_lease("shop", "daemon-a", TTL)
    assert again == first
    # Another sync is free for the other daemon.
    assert store.acquire_lease("erp", "daemon-b", TTL) is not None


def test_an_expired_lease_moves_with_a_new_token(store: Store) -> None:
    old = store.acquire_lease("shop", "daemon-a", timedelta(seconds=-1))  # expires at once
    assert old is not None
    new = store.acquire_lease("shop", "daemon-b", TTL)
    assert new is not None and new.holder == "daemon-b" and new.token == old.token + 1


def _write_link(view: Store, crm_id: int) -> None:
    view.sync_write("shop", lambda tx: tx.save_links("contacts", [LinkWrite("x1", crm_id, {})]))


def test_a_fenced_write_commits_while_the_lease_holds(store: Store) -> None:
    record = contact(store, "a@x.io")
    fence = store.acquire_lease("shop", "daemon-a", TTL)
    assert fence is not None
    _write_link(store.fenced(fence), record.id)
    assert store.count_links("shop") == 1


def test_a_process_that_lost_its_lease_commits_nothing(store: Store) -> None:
    record = contact(store, "a@x.io")
    stale = store.acquire_lease("shop", "daemon-a", timedelta(seconds=-1))
    assert stale is not None
    # daemon-a was paused past its expiry; daemon-b took the sync over.
    assert store.acquire_lease("shop", "daemon-b", TTL) is not None
    view = store.fenced(stale)
    with pytest.raises(LeaseLostError, match="lost its lease"):
        _write_link(view, record.id)
    with pytest.raises(LeaseLostError):
        view.start_sync_run("shop")
    assert store.count_links("shop") == 0
    assert store.list_sync_runs("shop") == []


def test_an_expired_lease_refuses_writes_even_before_anyone_takes_it(store: Store) -> None:
    record = contact(store, "a@x.io")
    stale = store.acquire_lease("shop", "daemon-a", timedelta(seconds=-1))
    assert stale is not None
    with pytest.raises(LeaseLostError, match="expired"):
        _write_link(store.fenced(stale), record.id)
    assert store.count_links("shop") == 0


def test_release_lets_another_process_take_over_at_once(store: Store) -> None:
    fence = store.acquire_lease("shop", "daemon-a", TTL)
    assert fence is not None
    store.release_lease(fence)
    taken = store.acquire_lease("shop", "daemon-b", TTL)
    assert taken is not None and taken.token == fence.token + 1


def test_a_waiting_pass_is_served_before_anyone_else_takes_the_freed_lease(store: Store) -> None:
    daemon = store.acquire_lease("shop", "daemon-a", TTL)
    assert daemon is not None
    holder = store.want_lease("shop", "cli:host:1")
    assert holder is not None and holder.holder == "daemon-a"
    assert store.leases_wanted_from("daemon-a") == {"shop"}
    assert store.leases_wanted_from("daemon-b") == set()
    # The daemon hands over between passes: neither it nor another daemon takes it back.
    store.release_lease(daemon)
    assert store.acquire_lease("shop", "daemon-a", TTL) is None
    assert store.acquire_lease("shop", "daemon-b", TTL) is None
    taken = store.acquire_lease("shop", "cli:host:1", TTL)
    assert taken is not None and taken.token == daemon.token + 1
    # Taking it ends the request: after the command releases, the daemon takes it again.
    assert store.leases_wanted_from("cli:host:1") == set()
    store.release_lease(taken)
    assert store.acquire_lease("shop", "daemon-a", TTL) is not None


def test_a_withdrawn_request_no_longer_holds_the_lease_back(store: Store) -> None:
    daemon = store.acquire_lease("shop", "daemon-a", TTL)
    assert daemon is not None
    store.want_lease("shop", "cli:host:1")
    store.unwant_lease("shop", "cli:host:1")
    assert store.leases_wanted_from("daemon-a") == set()
    store.release_lease(daemon)
    assert store.acquire_lease("shop", "daemon-b", TTL) is not None


def test_a_free_lease_is_reported_as_nobodys(store: Store) -> None:
    assert store.want_lease("never-ran", "cli:host:1") is None
    fence = store.acquire_lease("shop", "daemon-a", TTL)
    assert fence is not None
    store.release_lease(fence)
    assert store.want_lease("shop", "cli:host:1") is None
