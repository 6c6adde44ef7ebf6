"""Identity under interleavings: matching order, refusals retried, unlinked-by-delete, reused ids.

Each test is one defect of issue 13 seen in randomized runs of the SQL sync, replayed as a
whole pass (``run_sync``) between the store (SQLite, PostgreSQL) and a shop table in a real
database (SQLite, MariaDB, PostgreSQL), asserting what a user sees on both sides.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from connectors.sql import SqlConnector
from store import Store
from syncd.engine import run_sync
from syncd.engine.reconcile import reconcile_deletes
from tests.integration import test_engine_e2e as e2e
from tests.integration.test_engine_e2e import UI, Harness, _now, _quiet

# The end-to-end tests' fixtures: the shop in each real database, and the two syncs on it.
shop = e2e.shop
sync = e2e.sync


def test_email_freed_and_reused_in_one_pass(sync: Harness) -> None:
    h = sync
    ann = h.shop.add(h.shop.customers, email="ann@x.io", first_name="Ann")
    h.cycle()
    # Between two passes: Ann changes her address, and Bea signs up with the old one.
    h.shop.edit(h.shop.customers, ann, email="ann.new@x.io")
    h.shop.add(h.shop.customers, email="ann@x.io", first_name="Bea")

    _, summary = h.cycle()

    assert summary.get("inbound.errors") == 0, summary.line()
    assert h.contact("ann.new@x.io")["firstname"] == "Ann"
    assert h.contact("ann@x.io")["firstname"] == "Bea"
    assert h.store.inbound_errors("shop-customers") == []
    assert h.store.count_links("shop-customers") == 2
    _quiet(h)


def test_a_refused_row_is_retried_by_itself_once_its_value_is_freed(
    sync: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = sync
    h.shop.add(h.shop.customers, email="ann@x.io", first_name="Ann")
    h.cycle()
    # The shop tells addresses apart by case, the CRM does not: Bea matches Ann, who is linked.
    h.shop.add(h.shop.customers, email="ANN@x.io", first_name="Bea")
    # A later row moves the cursor (and its lookback) past Bea's.
    h.shop.add(h.shop.customers, email="cy@x.io", updated_at=_now() + timedelta(seconds=10))
    _, summary = h.cycle()
    assert summary.get("inbound.errors") == 1
    (parked,) = h.store.inbound_errors("shop-customers")
    assert "already linked" in parked.error and parked.retry_at is not None

    # The CRM frees the address; the shop's Bea row does not change again, so only a retry
    # by id (the cursor is past her) can bring her in.
    ann = h.store.find_record("contacts", "email", "ann@x.io")
    h.store.update_record("contacts", ann.id, {"email": "ann.old@x.io"}, UI)
    h.cycle()
    later = datetime.now(UTC) + timedelta(minutes=1)  # past the first back-off of 30 s
    monkeypatch.setattr("store.sync.part.utcnow", lambda: later)
    _, summary = h.cycle()

    assert summary.get("inbound.retried") == 1, summary.line()
    assert h.store.inbound_errors("shop-customers") == []
    assert h.contact("ann@x.io")["firstname"] == "Bea"
    assert h.contact("ann.old@x.io")["firstname"] == "Ann"
    assert h.shop.by_email("ann.old@x.io")["first_name"] == "Ann"
    assert h.store.count_links("shop-customers") == 3
    _quiet(h)


def test_a_new_crm_contact_never_takes_the_row_the_same_pass_deletes(sync: Harness) -> None:
    h = sync  # deletes.from_crm: delete
    h.shop.add(h.shop.customers, email="ann@x.io", first_name="Ann", last_name="Lee")
    h.cycle()
    ann = h.store.find_record("contacts", "email", "ann@x.io")
    # Ann leaves; Bea, new, takes her address before the next pass.
    h.store.archive_records("contacts", [ann.id], UI)
    bea = h.store.create_record("contacts", {"email": "ann@x.io", "firstname": "Bea"}, UI)

    _, summary = h.cycle()

    assert summary.get("outbound.errors") == 0, summary.line()
    row = h.shop.by_email("ann@x.io")  # one row: Bea's own, nothing of Ann's left in it
    assert (row["first_name"], row["last_name"]) == ("Bea", None)
    link = h.store.get_link_by_crm("shop-customers", bea.id)
    assert link is not None and link.external_id == str(row["id"])
    assert h.store.get_link_by_crm("shop-customers", ann.id) is None
    h.run(full=True)
    assert not h.store.get_record("contacts", bea.id).archived
    assert h.shop.by_email("ann@x.io")["first_name"] == "Bea"
    _quiet(h)


def test_from_crm_ignore_a_create_never_takes_the_kept_row(
    store: Store, shop: e2e.Shop, tmp_path: Path
) -> None:
    for h in e2e._harness(store, shop, tmp_path, from_crm="ignore"):
        ann_row = h.shop.add(h.shop.customers, email="ann@x.io", first_name="Ann", last_name="Lee")
        h.cycle()
        ann = h.store.find_record("contacts", "email", "ann@x.io")
        h.store.archive_records("contacts", [ann.id], UI)  # her shop row stays, linked
        h.shop.edit(h.shop.customers, ann_row, last_name="Lee-Shop")  # the shop's own edit
        bea = h.store.create_record("contacts", {"email": "ann@x.io", "firstname": "Bea"}, UI)

        _, summary = h.cycle()

        assert summary.get("outbound.errors") == 1, summary.line()
        (row,) = h.shop.rows(h.shop.customers)  # Ann's row, untouched
        assert (str(row["id"]), row["first_name"], row["last_name"]) == (ann_row, "Ann", "Lee-Shop")
        link = h.store.get_link_by_crm("shop-customers", ann.id)
        assert link is not None and link.external_id == ann_row
        assert h.store.get_link_by_crm("shop-customers", bea.id) is None
        (error,) = h.store.sync_log(sync="shop-customers", action="error")
        assert error.crm_id == bea.id
        assert f"linked to CRM record {ann.id}" in (error.message or "")
        (waiting,) = h.store.outbox("shop-customers")
        assert waiting.crm_id == bea.id and not waiting.parked  # retried once the value is free


def _hand_out_the_deleted_id_again(shop: e2e.Shop) -> None:
    """As SQLite does for a deleted last row (INTEGER PRIMARY KEY): the next insert gets it."""
    name = shop.customers.name
    with shop.engine.begin() as conn:
        if shop.engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
                    f" (SELECT max(id) FROM {name}))"
                )
            )
        elif shop.engine.dialect.name in ("mysql", "mariadb"):
            conn.execute(text(f"ALTER TABLE {name} AUTO_INCREMENT = 1"))  # max(id) + 1


def test_a_reused_external_id_does_not_hijack_a_link(sync: Harness) -> None:
    h = sync  # deletes.from_external: archive
    h.shop.add(h.shop.customers, email="ann@x.io", first_name="Ann")
    xen_row = h.shop.add(h.shop.customers, email="xen@x.io", first_name="Xen")
    h.cycle()
    xen = h.store.find_record("contacts", "email", "xen@x.io")
    # The shop deletes Xen's row (the last one); no pass has noticed yet. A new CRM contact
    # goes out and the shop hands it Xen's old id.
    h.shop.remove(h.shop.customers, xen_row)
    _hand_out_the_deleted_id_again(h.shop)
    yan = h.store.create_record("contacts", {"email": "yan@x.io", "firstname": "Yan"}, UI)

    _, summary = h.cycle()

    assert str(h.shop.by_email("yan@x.io")["id"]) == xen_row  # the id was reused
    link = h.store.get_link_by_crm("shop-customers", yan.id)
    assert link is not None and link.external_id == xen_row
    # Xen's row is gone: the delete rule applied to Xen, not a silent relink.
    assert h.store.get_link_by_crm("shop-customers", xen.id) is None
    assert h.store.get_record("contacts", xen.id, include_archived=True).archived
    (conflict,) = h.store.sync_log(sync="shop-customers", action="conflict")
    assert conflict.crm_id == yan.id and "reused" in (conflict.message or "")
    assert summary.get("outbound.reused_ids") == 1
    _quiet(h)


def test_from_external_ignore_an_unlinked_record_stays_unlinked_until_it_changes(
    store: Store, shop: e2e.Shop, tmp_path: Path
) -> None:
    for h in e2e._harness(store, shop, tmp_path, from_external="ignore"):
        ann = h.store.create_record("contacts", {"email": "ann@x.io", "firstname": "Ann"}, UI)
        h.cycle()  # out to the shop
        h.shop.remove(h.shop.customers, str(h.shop.by_email("ann@x.io")["id"]))
        reconcile_deletes(h.specs["shop-customers"], h.connector, h.store)
        assert h.store.get_link_by_crm("shop-customers", ann.id) is None
        assert not h.store.get_record("contacts", ann.id).archived  # kept, as configured

        summary = h.run(full=True)  # reads every CRM record: Ann is not sent out again

        assert h.shop.rows(h.shop.customers) == []
        assert summary.get("outbound.kept_unlinked") == 1, summary.line()
        _quiet(h)

        # A change in the CRM after the delete: Ann goes out again, as any new contact.
        h.store.update_record("contacts", ann.id, {"firstname": "Ann B."}, UI)
        h.cycle()
        assert h.shop.by_email("ann@x.io")["first_name"] == "Ann B."
        assert h.store.get_link_by_crm("shop-customers", ann.id) is not None
        h.run(full=True)
        assert len(h.shop.rows(h.shop.customers)) == 1
        _quiet(h)


class _AdoptsUnannounced(SqlConnector):
    """Finds a create's record by its match value, as the SQL connector does, but does not
    say so beforehand: the engine's look-up before the write cannot see the adoption coming
    (as when the record takes the value between that look-up and the write)."""

    def finds_before_create(self, external_object: str, field_name: str) -> bool:
        return False


def test_a_create_answered_with_a_record_linked_elsewhere_is_a_conflict_not_a_relink(
    store: Store, shop: e2e.Shop, tmp_path: Path
) -> None:
    for h in e2e._harness(store, shop, tmp_path, from_crm="ignore"):
        ann_row = h.shop.add(h.shop.customers, email="ann@x.io", first_name="Ann")
        h.cycle()
        ann = h.store.find_record("contacts", "email", "ann@x.io")
        h.store.archive_records("contacts", [ann.id], UI)
        bea = h.store.create_record("contacts", {"email": "ann@x.io", "firstname": "Bea"}, UI)
        racy = _AdoptsUnannounced(h.connector.name, h.connector.options)
        try:
            summary = run_sync(h.specs["shop-customers"], racy, h.store)
        finally:
            racy.close()

        assert summary.get("outbound.errors") == 1, summary.line()
        link = h.store.get_link_by_crm("shop-customers", ann.id)
        assert link is not None and link.external_id == ann_row  # kept, not taken over
        assert h.store.get_link_by_crm("shop-customers", bea.id) is None
        (error,) = h.store.sync_log(sync="shop-customers", action="error")
        assert error.crm_id == bea.id and f"linked to CRM record {ann.id}" in (error.message or "")
        (parked,) = h.store.outbox("shop-customers", parked=True)  # for an operator
        assert parked.crm_id == bea.id
