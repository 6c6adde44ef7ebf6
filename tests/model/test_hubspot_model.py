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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis.stateful import run_state_machine_as_test

from connectors.base import Connector, WriteOutcome, WriteResult
from store import Store
from syncd.api import ApiSettings, create_api
from syncd.engine.spec import SyncSpec
from tests._live import LiveServers
from tests.api.conftest import make_token
from tests.model.hubspot_peer import HubSpotPeer
from tests.model.machine import (
    EXAMPLES_ENV,
    InjectedCrash,
    _Crash,
    _CrashingConnector,
    build_sync,
    ci_rule_pairs,
    machine_class,
    model_settings,
)

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


@contextmanager
def _synced(
    remote: HubSpotPeer, tmp_path: Path, *, rule: str, deletes: str
) -> Iterator[tuple[SyncSpec, Connector]]:
    """The model's sync over the remote, as a user configures it; its connector closed after."""
    spec, make_connector = build_sync(remote, tmp_path, rule=rule, deletes=deletes)
    connector = make_connector()
    try:
        yield spec, connector
    finally:
        connector.close()


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


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_hubspot_email_one_contact_gave_up_reaches_the_other_in_the_same_pass(
    remote: HubSpotPeer, store: Store, tmp_path: Path
) -> None:
    """The CRM moves Di from d@x.io to e@x.io and gives Bo d@x.io, both before the next
    pass. Di's update went first in the batch, but HubSpot's batch update checks every
    input against the contacts as they were before the batch: Bo's was refused as a
    duplicate ("Contact already exists") and the sides stayed apart until a retry (found
    by this model, x5 on postgresql-manual-archive). Now Bo's goes in a second request."""
    from syncd.engine import run_sync
    from tests.model.machine import UI

    with _synced(remote, tmp_path, rule="manual", deletes="archive") as (spec, connector):
        bo = store.create_record("contacts", {"email": "b@x.io", "firstname": "Bo"}, UI)
        di = store.create_record("contacts", {"email": "d@x.io", "firstname": "Di"}, UI)
        run_sync(spec, connector, store)
        assert sorted(str(r["email"]) for r in remote.rows().values()) == ["b@x.io", "d@x.io"]

        store.update_record("contacts", di.id, {"email": "e@x.io"}, UI)
        store.update_record("contacts", bo.id, {"email": "d@x.io"}, UI)
        summary = run_sync(spec, connector, store)

        assert summary.counts.get("outbound.errors", 0) == 0, summary.line()
        by_first = {r["firstname"]: r["email"] for r in remote.rows().values()}
        assert by_first == {"Bo": "d@x.io", "Di": "e@x.io"}


@pytest.mark.parametrize("rule", ["manual", "crm_wins"])
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_hubspot_contact_created_again_does_not_overwrite_the_contact_its_email_finds(
    remote: HubSpotPeer, store: Store, tmp_path: Path, rule: str
) -> None:
    """HubSpot deletes Ann's contact and someone makes her a new one (last name Li) while
    the CRM edits her. The new contact's first read is refused (Ann is still linked to the
    old one) and waits for a retry; the delete then unlinks Ann (edited since: kept, created
    again). Her create found the new contact by email and wrote the CRM's last name over
    Li, in no conflict and no history (found by this model, sqlite-manual-delete x5). It is
    now the contact's first match: ``manual`` holds both names, ``crm_wins`` overwrites
    and keeps Li in the conflict row."""
    from syncd.engine import run_sync
    from syncd.engine.reconcile import reconcile_deletes
    from tests.model.machine import SYNC, UI

    with _synced(remote, tmp_path, rule=rule, deletes="delete") as (spec, connector):
        old = remote.create({"email": "a@x.io", "firstname": "Ann", "lastname": "Lee"})
        assert old is not None
        run_sync(spec, connector, store)
        ann = store.find_record("contacts", "email", "a@x.io")

        new = remote.create({"email": "a@x.io", "firstname": "Ann", "lastname": "Li"})
        assert new is None  # HubSpot keeps one contact per email: the old one goes first
        remote.delete(old)
        new = remote.create({"email": "a@x.io", "firstname": "Ann", "lastname": "Li"})
        assert new is not None
        store.update_record("contacts", ann.id, {"firstname": "Anna"}, UI)
        run_sync(spec, connector, store)  # the new contact's first read waits for a retry
        run_sync(spec, connector, store, full=True)
        reconcile_deletes(spec, connector, store)  # Ann unlinked, to be created again
        run_sync(spec, connector, store)

        links = {link.external_id: link.crm_id for link in store.list_links(SYNC)}
        assert links == {new: ann.id}
        assert len(remote.rows()) == 1
        kept = {
            value
            for c in store.list_conflicts(sync=SYNC, limit=100)
            if c.field == "lastname"
            for value in (c.crm_value, c.external_value, c.loser_value)
        }
        row = remote.rows()[new]
        assert row["lastname"] == "Li" or "Li" in kept
        if rule == "crm_wins":
            assert (row["firstname"], row["lastname"]) == ("Anna", "Lee")
        else:  # held for an operator: HubSpot's values stay where they are
            assert (row["firstname"], row["lastname"]) == ("Ann", "Li")


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_hubspot_contact_refused_for_a_match_a_delete_then_frees_is_read_by_the_next_pass(
    remote: HubSpotPeer, store: Store, tmp_path: Path
) -> None:
    """HubSpot deletes Ann's contact and a new contact signs up with her email. Deletes
    show only in the reconciliation, so a pass reads the new contact while Ann is still
    linked to the old one: refused and parked, to be fetched again after a back-off (30 s,
    doubling). The reconciliation then archives Ann, which frees the match, yet the new
    contact waited out its back-off: a customer missing from the CRM for minutes to hours
    (found by this model, sqlite-most_recent-archive x5)."""
    from syncd.engine import run_sync
    from syncd.engine.reconcile import reconcile_deletes
    from tests.model.machine import SYNC

    with _synced(remote, tmp_path, rule="crm_wins", deletes="archive") as (spec, connector):
        old = remote.create({"email": "a@x.io", "firstname": "Ann", "lastname": None})
        assert old is not None
        run_sync(spec, connector, store)
        ann = store.find_record("contacts", "email", "a@x.io")

        remote.delete(old)
        new = remote.create({"email": "a@x.io", "firstname": "Bea", "lastname": None})
        assert new is not None
        assert run_sync(spec, connector, store).counts.get("inbound.errors") == 1
        reconcile_deletes(spec, connector, store)  # the old contact is gone: Ann archived
        run_sync(spec, connector, store)

        bea = store.find_record("contacts", "email", "a@x.io")
        assert bea.id != ann.id and bea.properties["firstname"] == "Bea"
        assert {link.external_id: link.crm_id for link in store.list_links(SYNC)} == {new: bea.id}
        assert store.inbound_errors(SYNC) == []


def _crm_swaps_emails(store: Store, emails: dict[str, str]) -> None:
    """The CRM user gives each contact (by first name) its new email, through free ones."""
    from tests.model.machine import UI

    by_first = {r.properties["firstname"]: r for r in store.list_records("contacts")}
    for n, first in enumerate(emails):
        store.update_record("contacts", by_first[first].id, {"email": f"t{n}@x.io"}, UI)
    for first, email in emails.items():
        store.update_record("contacts", by_first[first].id, {"email": email}, UI)


def _emails_outside(remote: HubSpotPeer) -> dict[str, str | None]:
    return {str(r["firstname"]): r["email"] for r in remote.rows().values()}


def _emails_in_the_crm(store: Store) -> dict[str, str | None]:
    return {
        str(r.properties["firstname"]): r.properties.get("email")
        for r in store.list_records("contacts")
    }


@pytest.mark.parametrize(
    "swap",
    [
        {"Ann": "b@x.io", "Bo": "a@x.io"},
        {"Ann": "b@x.io", "Bo": "c@x.io", "Cy": "a@x.io"},  # a ring of three
        {"Ann": "b@x.io", "Bo": "a@x.io", "Cy": "d@x.io", "Di": "c@x.io"},  # two swaps
    ],
    ids=["swap", "ring-of-three", "two-swaps"],
)
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_hubspot_crm_swapping_contacts_emails_goes_out_in_the_same_pass(
    remote: HubSpotPeer, store: Store, tmp_path: Path, swap: dict[str, str]
) -> None:
    """A CRM user swaps Ann's and Bo's emails (through a third one). HubSpot checks each
    input of a batch against the contacts as they were before it, and one at a time each
    update takes an email the other still holds: both were refused ("Contact already
    exists") on every retry, and the two stayed apart for good. The twin of the SQL
    peers' `test_crm_swapping_two_contacts_emails_goes_out_in_the_same_pass`. Now one
    contact of each ring is emptied first, and the ring lands as a chain."""
    from syncd.engine import run_sync
    from tests.model.machine import SYNC, UI

    with _synced(remote, tmp_path, rule="manual", deletes="archive") as (spec, connector):
        for first in ("Ann", "Bo", "Cy", "Di")[: len(swap)]:
            email = f"{first[0].lower()}@x.io"
            store.create_record("contacts", {"email": email, "firstname": first}, UI)
        run_sync(spec, connector, store)

        _crm_swaps_emails(store, swap)
        summary = run_sync(spec, connector, store)

        assert summary.counts.get("outbound.errors", 0) == 0, summary.line()
        assert _emails_outside(remote) == swap
        assert store.list_conflicts(sync=SYNC, limit=10) == []
        assert all(not k.startswith("@") for link in store.list_links(SYNC) for k in link.base)
        emptied = [
            entry
            for entry in store.sync_log(sync=SYNC, action="updated", limit=100)
            if entry.message and entry.message.startswith("email emptied outside first")
        ]
        assert len(emptied) == len(swap) // 2  # one per ring
        before = remote.snapshot()
        quiet = run_sync(spec, connector, store)
        assert remote.snapshot() == before, quiet.line()
        assert _emails_in_the_crm(store) == swap


@pytest.mark.parametrize(
    ("point", "at"),
    [("before_external_write", 2), ("external_write", 2), ("external_write", 3)],
    ids=["before-the-emptying", "after-the-emptying", "after-half-the-ring"],
)
@pytest.mark.parametrize("rule", ["external_wins", "most_recent", "manual"])
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_hubspot_swap_cut_short_by_a_crash_is_finished_by_the_next_pass(
    remote: HubSpotPeer, store: Store, tmp_path: Path, rule: str, point: str, at: int
) -> None:
    """The pass dies around the step that empties Ann's email outside (write 1 is the
    refused ring, 2 the emptying, 3 Bo's update). The empty email left in HubSpot is
    syncd's own: the next pass must write the swap, not take the empty value for an edit
    (under ``external_wins`` or ``most_recent`` that would empty Ann's email in the CRM;
    under ``manual`` hold it in a conflict)."""
    from syncd.engine import run_sync
    from tests.model.machine import SYNC, UI

    with _synced(remote, tmp_path, rule=rule, deletes="archive") as (spec, connector):
        store.create_record("contacts", {"email": "a@x.io", "firstname": "Ann"}, UI)
        store.create_record("contacts", {"email": "b@x.io", "firstname": "Bo"}, UI)
        run_sync(spec, connector, store)
        _crm_swaps_emails(store, {"Ann": "b@x.io", "Bo": "a@x.io"})

        with pytest.raises(InjectedCrash):
            dying = _CrashingConnector(connector, _Crash(point, at))
            run_sync(spec, dying, store)  # type: ignore[arg-type]
        if (point, at) == ("external_write", 2):
            assert _emails_outside(remote) == {"Ann": None, "Bo": "b@x.io"}
        run_sync(spec, connector, store)
        run_sync(spec, connector, store)

        assert _emails_in_the_crm(store) == {"Ann": "b@x.io", "Bo": "a@x.io"}
        assert _emails_outside(remote) == {"Ann": "b@x.io", "Bo": "a@x.io"}
        assert store.list_conflicts(sync=SYNC, limit=10) == []


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_hubspot_swap_split_across_two_batches_lands_once_an_operator_retries_it(
    remote: HubSpotPeer, store: Store, tmp_path: Path
) -> None:
    """Cy's record falls between Ann's and Bo's, and batches of two put Ann and Bo apart: no
    batch holds the ring, so each half is refused ("Contact already exists") and parked,
    as any refusal is. ``syncd errors retry`` makes both due at once; due records go first
    and together, so the retry holds the ring and breaks it."""
    from dataclasses import replace

    from syncd.engine import run_sync
    from tests.model.machine import SYNC, UI

    with _synced(remote, tmp_path, rule="manual", deletes="archive") as (spec, connector):
        spec = replace(spec, batch_size=2)
        for first in ("Cy", "Ann", "Bo"):  # Cy's id first: pushed in id order, she splits them
            email = f"{first[0].lower()}@x.io"
            store.create_record("contacts", {"email": email, "firstname": first}, UI)
        run_sync(spec, connector, store)
        by_first = {r.properties["firstname"]: r.id for r in store.list_records("contacts")}
        store.update_record("contacts", by_first["Ann"], {"email": "t@x.io"}, UI)
        store.update_record("contacts", by_first["Cy"], {"lastname": "Cole"}, UI)
        store.update_record("contacts", by_first["Bo"], {"email": "a@x.io"}, UI)
        store.update_record("contacts", by_first["Ann"], {"email": "b@x.io"}, UI)

        assert run_sync(spec, connector, store).counts.get("outbound.errors") == 2
        parked = {entry.crm_id for entry in store.outbox(SYNC, parked=True)}
        assert parked == {by_first["Ann"], by_first["Bo"]}

        store.retry_parked(SYNC)
        summary = run_sync(spec, connector, store)

        assert summary.counts.get("outbound.errors", 0) == 0, summary.line()
        assert _emails_outside(remote) == {"Ann": "b@x.io", "Bo": "a@x.io", "Cy": "c@x.io"}
        assert store.outbox(SYNC) == []


class _BusyOnce:
    """The connector, whose first write is answered "try again later" for every record."""

    def __init__(self, connector: Any) -> None:
        self._connector, self._busy = connector, True

    def write(self, external_object: str, requests: Any) -> Any:
        if self._busy:
            self._busy = False
            return [
                WriteResult(WriteOutcome.FAILED, r.external_id, error="429", retriable=True)
                for r in requests
            ]
        return self._connector.write(external_object, requests)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connector, name)


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_hubspot_swap_answered_busy_is_not_taken_for_a_ring(
    remote: HubSpotPeer, store: Store, tmp_path: Path
) -> None:
    """Only a refusal tells of a ring: a swap whose updates were answered 429 waits for its
    retry, and nothing is emptied outside."""
    from syncd.engine import run_sync
    from tests.model.machine import SYNC, UI

    with _synced(remote, tmp_path, rule="manual", deletes="archive") as (spec, connector):
        store.create_record("contacts", {"email": "a@x.io", "firstname": "Ann"}, UI)
        store.create_record("contacts", {"email": "b@x.io", "firstname": "Bo"}, UI)
        run_sync(spec, connector, store)
        _crm_swaps_emails(store, {"Ann": "b@x.io", "Bo": "a@x.io"})

        summary = run_sync(spec, _BusyOnce(connector), store)  # type: ignore[arg-type]

        assert summary.counts.get("outbound.errors") == 2
        assert _emails_outside(remote) == {"Ann": "a@x.io", "Bo": "b@x.io"}
        assert not any(
            "emptied" in (entry.message or "") for entry in store.sync_log(sync=SYNC, limit=100)
        )


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_hubspot_email_emptied_outside_by_a_user_while_not_released_is_an_edit(
    remote: HubSpotPeer, store: Store, tmp_path: Path
) -> None:
    """The release mark covers only syncd's own step: a user who empties an email in
    HubSpot with no swap under way made an edit, which ``external_wins`` takes."""
    from syncd.engine import run_sync
    from tests.model.machine import UI

    with _synced(remote, tmp_path, rule="external_wins", deletes="archive") as (spec, connector):
        store.create_record("contacts", {"email": "a@x.io", "firstname": "Ann"}, UI)
        run_sync(spec, connector, store)
        (row,) = remote.rows()
        assert remote.edit(row, {"email": None})
        run_sync(spec, connector, store)

        assert _emails_in_the_crm(store) == {"Ann": None}
