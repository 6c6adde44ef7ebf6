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
from pathlib import Path

import pytest
from hypothesis.stateful import run_state_machine_as_test

from store import Store
from syncd.api import ApiSettings, create_api
from tests._live import LiveServers
from tests.api.conftest import make_token
from tests.model.hubspot_peer import HubSpotPeer
from tests.model.machine import EXAMPLES_ENV, ci_rule_pairs, machine_class, model_settings

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
    from tests.model.machine import UI, build_sync

    spec, make_connector = build_sync(remote, tmp_path, rule="manual", deletes="archive")
    connector = make_connector()
    try:
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
    finally:
        connector.close()


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
    from tests.model.machine import SYNC, UI, build_sync

    spec, make_connector = build_sync(remote, tmp_path, rule=rule, deletes="delete")
    connector = make_connector()
    try:
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
    finally:
        connector.close()


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
    from tests.model.machine import SYNC, build_sync

    spec, make_connector = build_sync(remote, tmp_path, rule="crm_wins", deletes="archive")
    connector = make_connector()
    try:
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
    finally:
        connector.close()


@pytest.mark.xfail(strict=True, reason="HubSpot takes no swap in one request: a release step")
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_hubspot_crm_swapping_two_contacts_emails_goes_out_in_the_same_pass(
    remote: HubSpotPeer, store: Store, tmp_path: Path
) -> None:
    """A CRM user swaps Ann's and Bo's emails (through a third one). HubSpot checks each
    input of a batch against the contacts as they were before it, and one at a time each
    update takes an email the other still holds: both were refused ("Contact already
    exists") on every retry, and the two stayed apart for good. The twin of the SQL
    peers' `test_crm_swapping_two_contacts_emails_goes_out_in_the_same_pass`."""
    from syncd.engine import run_sync
    from tests.model.machine import UI, build_sync

    spec, make_connector = build_sync(remote, tmp_path, rule="manual", deletes="archive")
    connector = make_connector()
    try:
        ann = store.create_record("contacts", {"email": "a@x.io", "firstname": "Ann"}, UI)
        bo = store.create_record("contacts", {"email": "b@x.io", "firstname": "Bo"}, UI)
        run_sync(spec, connector, store)

        store.update_record("contacts", ann.id, {"email": "t@x.io"}, UI)
        store.update_record("contacts", bo.id, {"email": "a@x.io"}, UI)
        store.update_record("contacts", ann.id, {"email": "b@x.io"}, UI)
        summary = run_sync(spec, connector, store)

        assert summary.counts.get("outbound.errors", 0) == 0, summary.line()
        by_first = {r["firstname"]: r["email"] for r in remote.rows().values()}
        assert by_first == {"Ann": "b@x.io", "Bo": "a@x.io"}
    finally:
        connector.close()
