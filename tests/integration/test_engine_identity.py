"""Identity under interleavings: matching order, refusals retried, unlinked-by-delete, reused ids.

Each test is one defect of issue 13 seen in randomized runs of the SQL sync, replayed as a
whole pass (``run_sync``) between the store (SQLite, PostgreSQL) and a shop table in a real
database (SQLite, MariaDB, PostgreSQL), asserting what a user sees on both sides.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

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
    monkeypatch.setattr("store.sync_api.utcnow", lambda: later)
    _, summary = h.cycle()

    assert summary.get("inbound.retried") == 1, summary.line()
    assert h.store.inbound_errors("shop-customers") == []
    assert h.contact("ann@x.io")["firstname"] == "Bea"
    assert h.contact("ann.old@x.io")["firstname"] == "Ann"
    assert h.shop.by_email("ann.old@x.io")["first_name"] == "Ann"
    assert h.store.count_links("shop-customers") == 3
    _quiet(h)
