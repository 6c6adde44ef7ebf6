"""The sync engine end to end: a YAML-defined sync between the store and a real second database.

The store runs on SQLite and PostgreSQL (the ``store`` fixture); the external "web shop" is a
table in a SQLite file, in MariaDB and in PostgreSQL (``shop`` fixture), reached through the
SQL connector.
Every test drives whole passes (``run_sync``) and asserts what a user sees on both sides.
"""

from __future__ import annotations

import dataclasses
import os
import textwrap
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.mysql import DATETIME as MYSQL_DATETIME
from sqlalchemy.dialects.mysql import VARCHAR as MYSQL_VARCHAR
from sqlalchemy.exc import OperationalError

from config.load import load_config
from connectors.base import (
    AuthError,
    Connector,
    ConnectorError,
    QuotaExhaustedError,
    TransientError,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from connectors.sql import SqlConnector
from store import ChangeSource, SourceType, Store
from syncd.engine import RunSummary, SyncPaused, SyncSpec, build_connector, build_spec, run_sync
from syncd.engine.conflicts import resolve_conflict

UI = ChangeSource(SourceType.CRM_UI, "test-user")
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
# Microseconds on MariaDB too, so two edits within a second keep their order.
EMAIL_TYPE = String(200).with_variant(MYSQL_VARCHAR(200, collation="utf8mb4_bin"), "mysql")
TIMESTAMP_6 = DateTime(timezone=False).with_variant(MYSQL_DATETIME(fsp=6), "mysql")


@dataclass
class Shop:
    """The external system: customers and companies tables in a real database."""

    url: str
    engine: Engine
    customers: Table
    companies: Table

    def add(self, table: Table, **values: Any) -> str:
        values.setdefault("updated_at", _now())
        with self.engine.begin() as conn:
            result = conn.execute(insert(table).values(**values))
            key = result.inserted_primary_key
            assert key is not None
            return str(key[0])

    def edit(self, table: Table, row_id: str, **values: Any) -> None:
        values.setdefault("updated_at", _now())
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == int(row_id)).values(**values))

    def remove(self, table: Table, row_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.id == int(row_id)))

    def rows(self, table: Table) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]

    def by_email(self, email: str) -> dict[str, Any]:
        found = [r for r in self.rows(self.customers) if r["email"] == email]
        assert len(found) == 1, f"{email}: {len(found)} rows"
        return found[0]


def _now() -> datetime:
    # Naive UTC, as a plain DATETIME column holds it; the connector reads naive as UTC.
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture(params=["sqlite", "mariadb", "postgresql"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shop]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    elif request.param == "mariadb":
        url = MARIADB_URL
    else:
        pg = os.environ.get("SYNCD_TEST_POSTGRES_URL")
        if not pg:
            pytest.skip("PostgreSQL not configured (SYNCD_TEST_POSTGRES_URL)")
        # The shop's own tables, in the public schema beside the store's test schemas.
        url = pg.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    except OperationalError:
        engine.dispose()
        if os.environ.get("SYNCD_TEST_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"{request.param} is not reachable")
    suffix = uuid.uuid4().hex[:8]
    meta = MetaData()
    customers = Table(
        f"customers_{suffix}",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        # Case-sensitive on MariaDB too, as on the others: two rows may differ by case only.
        Column("email", EMAIL_TYPE, unique=True),
        Column("first_name", String(100)),
        Column("last_name", String(100)),
        Column("status", String(20)),
        Column("company_id", String(20)),
        # Lets a test make the shop refuse one record's write.
        CheckConstraint("first_name IS NULL OR first_name <> 'REFUSED'"),
        Column(
            "updated_at",
            TIMESTAMP_6,
            nullable=False,
        ),
    )
    companies = Table(
        f"companies_{suffix}",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(200)),
        Column("domain", String(200), unique=True),
        Column(
            "updated_at",
            TIMESTAMP_6,
            nullable=False,
        ),
    )
    meta.create_all(engine)
    try:
        yield Shop(url, engine, customers, companies)
    finally:
        meta.drop_all(engine)
        engine.dispose()


CONFIG = """
store: {{url: "sqlite:///unused.db"}}
connectors:
  shop:
    type: sql
    url: "${{SHOP_URL}}"
    objects:
      customers: {{table: {customers}, id: id, updated_at: updated_at, lookback_seconds: 1}}
      companies: {{table: {companies}, id: id, updated_at: updated_at, lookback_seconds: 1}}
syncs:
  shop-companies:
    connector: shop
    external_object: companies
    crm_object: companies
    match: {{crm: domain, external: domain}}
    conflict: crm_wins
    fields:
      - {{crm: name, external: name}}
      - {{crm: domain, external: domain, transform: lowercase}}
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    match: {{crm: email, external: email}}
    conflict: {rule}
    deletes: {{from_external: {from_external}, from_crm: {from_crm}}}
{extra}
    fields:
      - {{crm: email, external: email, transform: lowercase}}
      - {{crm: firstname, external: first_name}}
{lastname}
      - {{crm: hs_lead_status, external: status, values: {{new: NEW, open: OPEN, bad: BAD_TIMING}}, unmapped: skip}}
    associations:
      - {{external: company_id, crm_object: companies, sync: shop-companies}}
"""


@dataclass
class Harness:
    store: Store
    shop: Shop
    specs: dict[str, SyncSpec]
    connector: Connector

    def run(self, name: str = "shop-customers", **options: Any) -> RunSummary:
        return run_sync(self.specs[name], self.connector, self.store, **options)

    def cycle(self) -> tuple[RunSummary, RunSummary]:
        return self.run("shop-companies"), self.run("shop-customers")

    def contact(self, email: str) -> dict[str, str]:
        return dict(self.store.find_record("contacts", "email", email).properties)


def _harness(
    store: Store,
    shop: Shop,
    tmp_path: Path,
    *,
    rule: str = "crm_wins",
    from_external: str = "archive",
    from_crm: str = "delete",
    extra: str = "",
    with_lastname: bool = True,
) -> Iterator[Harness]:
    path = tmp_path / "syncd.yaml"
    path.write_text(
        CONFIG.format(
            customers=shop.customers.name,
            companies=shop.companies.name,
            rule=rule,
            from_external=from_external,
            from_crm=from_crm,
            extra=textwrap.indent(textwrap.dedent(extra), "    "),
            lastname="      - {crm: lastname, external: last_name}" if with_lastname else "",
        )
    )
    config = load_config(path, env={"SHOP_URL": shop.url})
    specs = {name: build_spec(config, sync) for name, sync in config.syncs.items()}
    connector = build_connector(config, "shop")
    try:
        yield Harness(store, shop, specs, connector)
    finally:
        connector.close()


@pytest.fixture
def sync(store: Store, shop: Shop, tmp_path: Path) -> Iterator[Harness]:
    yield from _harness(store, shop, tmp_path)


def _quiet(h: Harness, cycles: int = 5) -> None:
    """Cycles with no edits anywhere write nothing on either side."""
    for _ in range(cycles):
        for summary in h.cycle():
            assert summary.crm_writes == 0, summary.line()
            assert summary.external_writes == 0, summary.line()


# ------------------------------------------------------------------ initial sync


def test_initial_sync_of_two_populated_sides_makes_no_duplicates(sync: Harness) -> None:
    h = sync
    h.store.create_record("contacts", {"email": "ada@x.io", "firstname": "Ada"}, UI)
    h.store.create_record("contacts", {"email": "bob@x.io", "firstname": "Bob"}, UI)
    h.shop.add(h.shop.customers, email="ADA@x.io", first_name="Ada", last_name="Lovelace")
    h.shop.add(h.shop.customers, email="cy@x.io", first_name="Cy", status="open")

    h.cycle()

    emails = sorted(r.properties["email"] for r in h.store.list_records("contacts", limit=100))
    assert emails == ["ada@x.io", "bob@x.io", "cy@x.io"]
    rows = h.shop.rows(h.shop.customers)
    assert sorted(r["email"].lower() for r in rows) == ["ada@x.io", "bob@x.io", "cy@x.io"]
    # Empty on one side is filled from the other, never used to clear it.
    assert h.contact("ada@x.io")["lastname"] == "Lovelace"
    assert h.contact("cy@x.io")["hs_lead_status"] == "OPEN"
    assert h.shop.by_email("bob@x.io")["first_name"] == "Bob"
    assert h.store.count_links("shop-customers") == 3
    _quiet(h)


def test_a_lowercase_field_is_spelled_one_way_on_both_sides_after_the_first_pass(
    sync: Harness,
) -> None:
    """Matched or created, a value spelled otherwise on either side (``Ada@X.io`` in the CRM,
    ``BOB@x.io`` or ``Cy@X.io`` outside) holds the transform's one spelling on both sides
    after the pass that links it, not one pass later, and no conflict is raised for it."""
    h = sync
    h.store.create_record("contacts", {"email": "Ada@X.io", "firstname": "Ada"}, UI)
    h.store.create_record("contacts", {"email": "bob@x.io", "firstname": "Bob"}, UI)
    h.shop.add(h.shop.customers, email="ada@x.io", first_name="Ada")
    h.shop.add(h.shop.customers, email="BOB@x.io", first_name="Bob")
    h.shop.add(h.shop.customers, email="Cy@X.io", first_name="Cy")

    _, first = h.run("shop-companies"), h.run()

    crm = sorted(r.properties["email"] for r in h.store.list_records("contacts", limit=100))
    outside = sorted(r["email"] for r in h.shop.rows(h.shop.customers))
    assert crm == outside == ["ada@x.io", "bob@x.io", "cy@x.io"], first.line()
    assert h.store.list_conflicts(sync="shop-customers") == []
    assert h.store.count_links("shop-customers") == 3
    _quiet(h)


# ------------------------------------------------------------------ edits both ways


def test_edits_flow_each_way_and_then_converge(sync: Harness) -> None:
    h = sync
    ext = h.shop.add(h.shop.customers, email="ada@x.io", first_name="Ada")
    h.cycle()
    ada = h.store.find_record("contacts", "email", "ada@x.io")

    h.store.update_record("contacts", ada.id, {"lastname": "Byron"}, UI)
    h.shop.edit(h.shop.customers, ext, first_name="Augusta")
    _, summary = h.cycle()

    assert h.contact("ada@x.io")["firstname"] == "Augusta"
    assert h.shop.by_email("ada@x.io")["last_name"] == "Byron"
    assert summary.get("inbound.updated") == 1
    assert summary.get("outbound.updated") == 1
    history = h.store.property_history("contacts", ada.id, "firstname")
    assert history[0].source_type is SourceType.INTEGRATION
    assert history[0].source_id == "shop-customers"
    _quiet(h)


def test_our_own_write_coming_back_is_an_echo_not_a_change(sync: Harness) -> None:
    h = sync
    h.shop.add(h.shop.customers, email="ada@x.io", first_name="Ada")
    h.cycle()
    ada = h.store.find_record("contacts", "email", "ada@x.io")
    h.store.update_record("contacts", ada.id, {"firstname": "Ada K."}, UI)
    h.cycle()  # pushes out; the connector bumps updated_at outside

    _, summary = h.cycle()  # reads its own write back

    assert summary.get("inbound.echoes") >= 1
    assert summary.crm_writes == 0 and summary.external_writes == 0


# ------------------------------------------------------------------ conflicts


def _conflicting_edit(h: Harness, *, crm_first: bool = True) -> tuple[int, str]:
    ext = h.shop.add(h.shop.customers, email="ada@x.io", first_name="Ada")
    h.cycle()
    ada = h.store.find_record("contacts", "email", "ada@x.io")
    if crm_first:
        h.store.update_record("contacts", ada.id, {"firstname": "FromCRM"}, UI)
        h.shop.edit(
            h.shop.customers, ext, first_name="FromShop", updated_at=_now() + timedelta(seconds=5)
        )
    else:
        h.shop.edit(
            h.shop.customers, ext, first_name="FromShop", updated_at=_now() - timedelta(hours=1)
        )
        h.store.update_record("contacts", ada.id, {"firstname": "FromCRM"}, UI)
    return ada.id, ext


@pytest.mark.parametrize(
    ("rule", "crm_first", "winner"),
    [
        ("crm_wins", True, "FromCRM"),
        ("external_wins", True, "FromShop"),
        ("most_recent", True, "FromShop"),
        ("most_recent", False, "FromCRM"),
    ],
)
def test_conflict_rules_pick_the_winner_and_keep_the_loser(
    store: Store, shop: Shop, tmp_path: Path, rule: str, crm_first: bool, winner: str
) -> None:
    for h in _harness(store, shop, tmp_path, rule=rule):
        crm_id, _ = _conflicting_edit(h, crm_first=crm_first)
        h.cycle()
        assert h.contact("ada@x.io")["firstname"] == winner
        assert h.shop.by_email("ada@x.io")["first_name"] == winner
        conflicts = h.store.list_conflicts(sync="shop-customers")
        assert len(conflicts) == 1
        kept = conflicts[0]
        assert (kept.field, kept.crm_id, kept.open) == ("firstname", crm_id, False)
        assert kept.base == "Ada"
        assert kept.loser_value == ({"FromCRM", "FromShop"} - {winner}).pop()
        _quiet(h)


def test_manual_conflict_is_held_then_resolved_by_an_operator(
    store: Store, shop: Shop, tmp_path: Path
) -> None:
    for h in _harness(store, shop, tmp_path, rule="manual"):
        _conflicting_edit(h)
        h.cycle()
        # Nothing overwritten on either side while the conflict waits.
        assert h.contact("ada@x.io")["firstname"] == "FromCRM"
        assert h.shop.by_email("ada@x.io")["first_name"] == "FromShop"
        (held,) = h.store.list_conflicts(sync="shop-customers", open_only=True)
        _quiet(h, cycles=2)
        assert len(h.store.list_conflicts(sync="shop-customers", open_only=True)) == 1

        resolve_conflict(h.store, h.specs["shop-customers"], held.id, take="external")
        h.cycle()

        assert h.contact("ada@x.io")["firstname"] == "FromShop"
        assert h.shop.by_email("ada@x.io")["first_name"] == "FromShop"
        assert h.store.list_conflicts(sync="shop-customers", open_only=True) == []
        _quiet(h)


def test_conflict_resolved_with_a_new_value_reaches_both_sides(
    store: Store, shop: Shop, tmp_path: Path
) -> None:
    for h in _harness(store, shop, tmp_path, rule="manual"):
        _conflicting_edit(h)
        h.cycle()
        (held,) = h.store.list_conflicts(sync="shop-customers", open_only=True)
        resolve_conflict(h.store, h.specs["shop-customers"], held.id, value="Agreed")
        h.cycle()
        assert h.contact("ada@x.io")["firstname"] == "Agreed"
        assert h.shop.by_email("ada@x.io")["first_name"] == "Agreed"
        _quiet(h)


# ------------------------------------------------------------------ associations


def test_association_field_becomes_a_crm_association_and_back(sync: Harness) -> None:
    h = sync
    # The contact arrives before its company is synced: associated once the company is.
    acme = h.shop.add(h.shop.companies, name="Acme", domain="acme.io")
    h.shop.add(h.shop.customers, email="ada@x.io", first_name="Ada", company_id=acme)
    h.run("shop-customers")
    h.run("shop-companies")
    h.run("shop-customers")

    ada = h.store.find_record("contacts", "email", "ada@x.io")
    company = h.store.find_record("companies", "domain", "acme.io")
    linked = h.store.list_associations("contacts", ada.id, "companies")
    assert [a.to_id for a in linked] == [company.id]

    # And back: the CRM associates a second contact with Acme; the shop gets company_id.
    bob = h.store.create_record("contacts", {"email": "bob@x.io"}, UI)
    h.store.associate("contacts", bob.id, "companies", company.id, UI)
    h.cycle()
    assert h.shop.by_email("bob@x.io")["company_id"] == acme
    _quiet(h)


# ------------------------------------------------------------------ deletes


@pytest.mark.parametrize("rule", ["archive", "delete", "ignore"])
def test_external_delete_follows_the_rule(
    store: Store, shop: Shop, tmp_path: Path, rule: str
) -> None:
    for h in _harness(store, shop, tmp_path, from_external=rule):
        keep = h.shop.add(h.shop.customers, email="keep@x.io")
        for i in range(9):
            h.shop.add(h.shop.customers, email=f"c{i}@x.io")
        gone = h.shop.add(h.shop.customers, email="gone@x.io")
        h.cycle()
        crm_id = h.store.find_record("contacts", "email", "gone@x.io").id
        # A table has no tombstones: deletes are found by reconciliation of ids.
        h.shop.remove(h.shop.customers, gone)
        from syncd.engine.reconcile import reconcile_deletes

        reconcile_deletes(h.specs["shop-customers"], h.connector, h.store)

        record = (
            h.store.get_record("contacts", crm_id, include_archived=True)
            if rule != "delete"
            else None
        )
        if rule == "archive":
            assert record is not None and record.archived
        elif rule == "ignore":
            assert record is not None and not record.archived
        else:
            with pytest.raises(Exception, match="no contacts record"):
                h.store.get_record("contacts", crm_id, include_archived=True)
        assert h.store.find_record("contacts", "email", "keep@x.io").id
        assert keep
        assert h.store.count_links("shop-customers") == 10
        _quiet(h, cycles=2)


@pytest.mark.parametrize("rule", ["delete", "ignore"])
def test_crm_archive_follows_the_rule_outside(
    store: Store, shop: Shop, tmp_path: Path, rule: str
) -> None:
    for h in _harness(store, shop, tmp_path, from_crm=rule):
        h.shop.add(h.shop.customers, email="ada@x.io")
        h.cycle()
        ada = h.store.find_record("contacts", "email", "ada@x.io")
        h.store.archive_records("contacts", [ada.id], UI)
        h.cycle()
        emails = [r["email"] for r in h.shop.rows(h.shop.customers)]
        assert emails == ([] if rule == "delete" else ["ada@x.io"])
        # Ignored: the link stays, so the shop's row is not taken for a new CRM record.
        assert h.store.count_links("shop-customers") == (0 if rule == "delete" else 1)
        assert [r.id for r in h.store.list_records("contacts", limit=10)] == []
        _quiet(h, cycles=2)


def test_mass_delete_brake_pauses_before_writing(sync: Harness) -> None:
    h = sync
    ids = [h.shop.add(h.shop.customers, email=f"c{i}@x.io") for i in range(30)]
    h.cycle()
    for row_id in ids[:12]:  # 12 of 30: over the 20% share, and past the 10-record floor
        h.shop.remove(h.shop.customers, row_id)
    from syncd.engine.reconcile import reconcile_deletes

    summary = reconcile_deletes(h.specs["shop-customers"], h.connector, h.store)

    assert summary.paused_reason and "--allow-deletes" in summary.paused_reason
    assert h.store.sync_state("shop-customers").paused
    assert len(h.store.list_records("contacts", limit=100)) == 30  # nothing archived
    summary = reconcile_deletes(h.specs["shop-customers"], h.connector, h.store, allow_deletes=True)
    assert summary.get("inbound.archived") == 12
    assert not h.store.sync_state("shop-customers").paused


# ------------------------------------------------------------------ failures


def test_failure_inside_the_apply_transaction_changes_nothing(
    sync: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = sync
    h.shop.add(h.shop.customers, email="ada@x.io", first_name="Ada")
    h.cycle()
    ext = h.shop.by_email("ada@x.io")["id"]
    h.shop.edit(h.shop.customers, str(ext), first_name="New")
    h.shop.add(h.shop.customers, email="bob@x.io")
    before = _snapshot(h)

    from syncd.engine import inbound

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(inbound, "_finish_page", broken)
    with pytest.raises(RuntimeError, match="injected"):
        h.run()
    assert _snapshot(h) == before

    monkeypatch.undo()
    h.run()
    assert h.contact("ada@x.io")["firstname"] == "New"
    assert h.contact("bob@x.io")["email"] == "bob@x.io"


def _snapshot(h: Harness) -> dict[str, Any]:
    s = h.store
    return {
        "records": sorted(
            (r.id, tuple(sorted(r.properties.items())))
            for r in s.list_records("contacts", limit=1000)
        ),
        "journal": s.journal_head(),
        "links": [
            (link.external_id, link.crm_id, link.base) for link in s.list_links("shop-customers")
        ],
        "log": len(s.sync_log(sync="shop-customers")),
        "conflicts": len(s.list_conflicts(sync="shop-customers")),
        "cursor": s.sync_state("shop-customers").cursor,
    }


class _LosesResponses(SqlConnector):
    """Does every write, then loses the answer of the first batch (a timeout after commit)."""

    lost = False

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        results = super().write(external_object, requests)
        if not self.lost:
            self.lost = True
            raise TransientError("read timeout after the request was sent")
        return results


def test_lost_response_on_create_makes_no_duplicate(sync: Harness) -> None:
    h = sync
    h.store.create_record("contacts", {"email": "new@x.io", "firstname": "New"}, UI)
    flaky = _LosesResponses(h.connector.name, h.connector.options)
    with pytest.raises(ConnectorError):
        run_sync(h.specs["shop-customers"], flaky, h.store)
    assert len(h.shop.rows(h.shop.customers)) == 1  # it did reach the shop

    run_sync(h.specs["shop-customers"], flaky, h.store)

    assert [r["email"] for r in h.shop.rows(h.shop.customers)] == ["new@x.io"]
    assert h.store.count_links("shop-customers") == 1
    flaky.close()
    _quiet(h)


def test_dry_run_writes_nothing_anywhere(sync: Harness) -> None:
    h = sync
    h.store.create_record("contacts", {"email": "crm@x.io"}, UI)
    h.shop.add(h.shop.customers, email="shop@x.io")
    before = _snapshot(h)
    rows = h.shop.rows(h.shop.customers)

    summary = h.run(dry_run=True)

    assert summary.get("inbound.created") == 1
    assert summary.get("outbound.created") == 1
    assert _snapshot(h) == before
    assert h.shop.rows(h.shop.customers) == rows
    assert h.store.list_sync_runs("shop-customers") == []


def test_the_log_shows_what_a_created_record_was_created_with(sync: Harness) -> None:
    """A create's values are stored once, in the record's history; the log reads them from
    there: those it was created with (spelled as stored), not the record's values now. A
    dry run, which leaves no history, still shows them in its plan, and plans nothing more
    for the record (it once planned deleting the external record: its own create was rolled
    back before the outbound side looked)."""
    h = sync
    h.shop.add(h.shop.customers, email="Ann@X.io", first_name="Ann", status="open")
    planned = h.run(dry_run=True).planned
    created = {
        "root['email']": "ann@x.io",
        "root['firstname']": "Ann",
        "root['hs_lead_status']": "OPEN",
    }
    assert [(e.action.value, e.changes) for e in planned] == [
        ("created", {"dictionary_item_added": created})
    ]

    h.run()
    contact = h.store.find_record("contacts", "email", "ann@x.io")
    h.store.update_record("contacts", contact.id, {"firstname": "Annie"}, UI)

    (entry,) = h.store.sync_log(sync="shop-customers", action="created")
    assert entry.crm_id == contact.id
    assert entry.changes == {"dictionary_item_added": created}
    (newest,) = h.store.sync_log(crm_id=contact.id, action="created", newest=True)
    assert newest.changes == entry.changes


# ------------------------------------------------------------------ filters, merges, mapping changes


FILTERS = """
filters:
  external: [{field: status, op: neq, value: bad}]
  crm: [{field: hs_lead_status, op: neq, value: BAD_TIMING}]
"""


def test_sync_filters_keep_records_out_and_unlink_those_that_stop_matching(
    store: Store, shop: Shop, tmp_path: Path
) -> None:
    for h in _harness(store, shop, tmp_path, extra=FILTERS):
        ok = h.shop.add(h.shop.customers, email="ok@x.io", status="open")
        h.shop.add(h.shop.customers, email="bad@x.io", status="bad")
        h.store.create_record(
            "contacts", {"email": "crmbad@x.io", "hs_lead_status": "BAD_TIMING"}, UI
        )
        h.cycle()
        emails = sorted(r.properties["email"] for r in h.store.list_records("contacts", limit=10))
        assert emails == ["crmbad@x.io", "ok@x.io"]  # bad@ never came in
        assert sorted(r["email"] for r in h.shop.rows(h.shop.customers)) == ["bad@x.io", "ok@x.io"]

        # ok@ stops matching outside: unlinked, never deleted on either side.
        h.shop.edit(h.shop.customers, ok, status="bad")
        h.cycle()
        assert h.store.count_links("shop-customers") == 0
        assert h.contact("ok@x.io")["email"] == "ok@x.io"
        actions = [e.action.value for e in h.store.sync_log(sync="shop-customers")]
        assert "unlinked" in actions
        _quiet(h, cycles=2)


def test_merged_crm_records_move_their_link_to_the_winner(sync: Harness) -> None:
    h = sync
    h.shop.add(h.shop.customers, email="ada@x.io", first_name="Ada")
    h.cycle()
    linked = h.store.find_record("contacts", "email", "ada@x.io")
    winner = h.store.create_record("contacts", {"email": "ada.l@x.io", "firstname": "Ada L"}, UI)
    # The unlinked winner must not be created outside by the pass that sees the merge.
    h.store.merge_records("contacts", winner.id, linked.id, UI)

    h.cycle()

    link = h.store.get_link_by_crm("shop-customers", winner.id)
    assert link is not None
    assert len(h.shop.rows(h.shop.customers)) == 1
    assert h.store.get_link_by_crm("shop-customers", linked.id) is None
    _quiet(h, cycles=2)


def test_merge_of_two_linked_records_is_reported_not_guessed(sync: Harness) -> None:
    h = sync
    h.shop.add(h.shop.customers, email="a@x.io")
    h.shop.add(h.shop.customers, email="b@x.io")
    h.cycle()
    a = h.store.find_record("contacts", "email", "a@x.io")
    b = h.store.find_record("contacts", "email", "b@x.io")
    h.store.merge_records("contacts", a.id, b.id, UI)

    _, summary = h.cycle()

    assert summary.get("outbound.merge_conflicts") == 1
    errors = [e for e in h.store.sync_log(sync="shop-customers", action="error")]
    assert any("were merged, but both are linked" in (e.message or "") for e in errors)
    assert len(h.shop.rows(h.shop.customers)) == 2  # nothing deleted or overwritten outside


def test_a_field_added_to_the_yaml_is_backfilled_for_linked_records(
    store: Store, shop: Shop, tmp_path: Path
) -> None:
    h = next(_harness(store, shop, tmp_path, with_lastname=False))
    h.shop.add(h.shop.customers, email="ada@x.io", first_name="Ada", last_name="Lovelace")
    h.store.create_record("contacts", {"email": "bob@x.io", "lastname": "Builder"}, UI)
    h.cycle()
    assert "lastname" not in h.contact("ada@x.io")
    h.connector.close()

    for h in _harness(store, shop, tmp_path):
        _, summary = h.cycle()
        assert summary.get("backfill.read") == 2
        assert h.contact("ada@x.io")["lastname"] == "Lovelace"
        assert h.shop.by_email("bob@x.io")["last_name"] == "Builder"
        _quiet(h, cycles=2)


def test_a_failed_external_write_is_logged_and_does_not_stop_the_batch(sync: Harness) -> None:
    h = sync
    h.shop.add(h.shop.customers, email="ok@x.io")
    h.shop.add(h.shop.customers, email="bad@x.io")
    h.cycle()
    ok = h.store.find_record("contacts", "email", "ok@x.io")
    bad = h.store.find_record("contacts", "email", "bad@x.io")
    h.store.update_record("contacts", ok.id, {"firstname": "Fine"}, UI)
    h.store.update_record("contacts", bad.id, {"firstname": "REFUSED"}, UI)  # the shop's CHECK

    _, summary = h.cycle()

    assert h.shop.by_email("ok@x.io")["first_name"] == "Fine"
    assert h.shop.by_email("bad@x.io")["first_name"] is None
    assert summary.get("outbound.errors") == 1
    (error,) = h.store.sync_log(sync="shop-customers", action="error")
    assert error.crm_id == bad.id and error.direction.value == "outbound"
    # The base did not move for the refused value: a later, acceptable edit goes out.
    h.store.update_record("contacts", bad.id, {"firstname": "Better"}, UI)
    h.cycle()
    assert h.shop.by_email("bad@x.io")["first_name"] == "Better"
    _quiet(h, cycles=2)


# ------------------------------------------------------------------ cursor and retries


def test_a_run_failing_mid_way_keeps_the_pages_it_committed(
    sync: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = sync
    stamp = _now()
    # Seven rows share one timestamp, across pages of three: the seam must not lose any.
    for i in range(7):
        h.shop.add(h.shop.customers, email=f"c{i}@x.io", updated_at=stamp)
    spec = dataclasses.replace(h.specs["shop-customers"], batch_size=3)
    from syncd.engine import inbound

    real = inbound.apply_page
    calls = {"n": 0}

    def third_page_fails(*args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("connection lost (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr("syncd.engine.runner.apply_page", third_page_fails)
    with pytest.raises(RuntimeError, match="injected"):
        run_sync(spec, h.connector, h.store)
    assert len(h.store.list_records("contacts", limit=100)) == 6  # two pages committed
    cursor = h.store.sync_state("shop-customers").cursor
    assert cursor is not None

    monkeypatch.undo()
    run_sync(spec, h.connector, h.store)

    emails = sorted(r.properties["email"] for r in h.store.list_records("contacts", limit=100))
    assert emails == [f"c{i}@x.io" for i in range(7)]
    assert h.store.count_links("shop-customers") == 7


class _BusyOnce(SqlConnector):
    """Answers the first write of each record with a retriable failure (a 503, say)."""

    seen: set[str]

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        if not hasattr(self, "seen"):
            self.seen = set()
        fresh = [r for r in requests if r.key not in self.seen]
        self.seen |= {r.key for r in requests}
        if fresh:
            return [
                WriteResult(WriteOutcome.FAILED, r.external_id, error="503 busy", retriable=True)
                for r in requests
            ]
        return super().write(external_object, requests)


def test_a_retriable_failure_is_retried_after_its_back_off(
    sync: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = sync
    h.store.create_record("contacts", {"email": "new@x.io"}, UI)
    busy = _BusyOnce(h.connector.name, h.connector.options)
    try:
        summary = run_sync(h.specs["shop-customers"], busy, h.store)
        assert summary.get("outbound.errors") == 1
        assert h.shop.rows(h.shop.customers) == []
        # Not due yet: the next pass does not hammer the busy system.
        assert h.store.outbound_due("shop-customers") == []
        run_sync(h.specs["shop-customers"], busy, h.store)
        assert h.shop.rows(h.shop.customers) == []

        # A minute later (past the first back-off of 30 s) the record is due and goes out.
        later = datetime.now(UTC) + timedelta(minutes=1)
        monkeypatch.setattr("store.sync.part.utcnow", lambda: later)
        assert h.store.outbound_due("shop-customers") != []
        run_sync(h.specs["shop-customers"], busy, h.store)
    finally:
        busy.close()
    assert [r["email"] for r in h.shop.rows(h.shop.customers)] == ["new@x.io"]
    assert h.store.outbound_due("shop-customers") == []


def test_a_second_external_record_matching_a_linked_crm_record_is_an_error_not_a_relink(
    sync: Harness,
) -> None:
    h = sync
    first = h.shop.add(h.shop.customers, email="ada@x.io", first_name="Ada")
    h.cycle()
    impostor = h.shop.add(h.shop.customers, email="ADA@x.io", first_name="Impostor")

    _, summary = h.cycle()

    assert summary.get("inbound.errors") == 1
    (error,) = h.store.sync_log(sync="shop-customers", action="error")
    assert "already linked" in (error.message or "")
    assert h.contact("ada@x.io")["firstname"] == "Ada"
    link = h.store.get_link_by_crm(
        "shop-customers", h.store.find_record("contacts", "email", "ada@x.io").id
    )
    assert link is not None and link.external_id == first

    # Parked for an operator, not dropped: retried on request, cleared once it applies.
    (parked,) = h.store.inbound_errors("shop-customers")
    assert parked.external_id == impostor and "already linked" in parked.error
    assert h.store.retry_parked("shop-customers", external_id=impostor) == 1
    _, summary = h.cycle()
    assert summary.get("inbound.retried") == 1
    assert h.store.inbound_errors("shop-customers")[0].attempts > 1  # tried again
    h.shop.edit(h.shop.customers, impostor, email="someone.else@x.io")
    h.cycle()
    assert h.store.inbound_errors("shop-customers") == []
    assert h.contact("someone.else@x.io")["firstname"] == "Impostor"


class _Revoked(SqlConnector):
    """The token was revoked outside: every read is refused."""

    def fetch_changes(self, *args: Any, **kwargs: Any) -> Any:
        raise AuthError("401 Unauthorized: token revoked")


def test_refused_credentials_pause_the_sync_instead_of_hammering(sync: Harness) -> None:
    h = sync
    revoked = _Revoked(h.connector.name, h.connector.options)
    try:
        summary = run_sync(h.specs["shop-customers"], revoked, h.store)
        assert summary.paused_reason and "token revoked" in summary.paused_reason
        assert h.store.sync_state("shop-customers").paused
        with pytest.raises(SyncPaused, match="refused the credentials"):
            run_sync(h.specs["shop-customers"], h.connector, h.store)
    finally:
        revoked.close()
    h.store.set_sync_paused("shop-customers", False, None)  # what `syncd resume` does
    h.shop.add(h.shop.customers, email="ada@x.io")
    h.run()
    assert h.contact("ada@x.io")


class _AlwaysBusy(SqlConnector):
    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        return [
            WriteResult(WriteOutcome.FAILED, r.external_id, error="503 busy", retriable=True)
            for r in requests
        ]


def test_after_the_configured_attempts_a_record_is_parked_not_dropped(
    sync: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = sync
    record = h.store.create_record("contacts", {"email": "new@x.io"}, UI)
    spec = dataclasses.replace(h.specs["shop-customers"], retry_attempts=2)
    busy = _AlwaysBusy(h.connector.name, h.connector.options)
    try:
        run_sync(spec, busy, h.store)  # attempt 1: back off
        assert h.store.outbox("shop-customers", parked=False)[0].attempts == 1
        later = datetime.now(UTC) + timedelta(hours=1)
        monkeypatch.setattr("store.sync.part.utcnow", lambda: later)
        run_sync(spec, busy, h.store)  # attempt 2: the last one
    finally:
        busy.close()
    (parked,) = h.store.outbox("shop-customers", parked=True)
    assert (parked.crm_id, parked.attempts, parked.last_error) == (record.id, 2, "503 busy")
    assert h.store.outbound_due("shop-customers") == []  # parked: not retried on its own
    assert h.store.retry_parked("shop-customers") == 1
    run_sync(spec, h.connector, h.store)
    assert [r["email"] for r in h.shop.rows(h.shop.customers)] == ["new@x.io"]


class _QuotaSpent(SqlConnector):
    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        raise QuotaExhaustedError(
            "daily quota of 1000 calls spent", resume_at=datetime(2030, 1, 1, tzinfo=UTC)
        )


def test_a_spent_quota_ends_the_pass_keeping_what_committed(sync: Harness) -> None:
    h = sync
    h.shop.add(h.shop.customers, email="in@x.io")
    h.store.create_record("contacts", {"email": "out@x.io"}, UI)
    spent = _QuotaSpent(h.connector.name, h.connector.options)
    try:
        summary = run_sync(h.specs["shop-customers"], spent, h.store)
    finally:
        spent.close()
    assert summary.quota_resume_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert h.contact("in@x.io")  # the inbound page committed before the quota ran out
    (run,) = h.store.list_sync_runs("shop-customers", limit=1)
    assert run.status == "ok" and run.summary["quota_resume_at"].startswith("2030-01-01")
    h.run()  # next window: the CRM contact goes out
    assert sorted(r["email"] for r in h.shop.rows(h.shop.customers)) == ["in@x.io", "out@x.io"]


class _FailsOnFetch(SqlConnector):
    """Reads pages as usual until call ``fail_at`` of ``fetch_changes``, which fails."""

    fail_at = 0
    calls = 0

    def fetch_changes(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_at:
            raise TransientError("503 busy reading the next page")
        return super().fetch_changes(*args, **kwargs)


def test_a_failure_reading_the_next_page_keeps_the_pages_before_it(sync: Harness) -> None:
    """The next page is read while the store finishes writing this one (``engine.ahead``):
    that read failing fails the pass where the page is needed, after the page before it
    committed with its cursor, and the next pass goes on from there."""
    h = sync
    for i in range(7):
        h.shop.add(h.shop.customers, email=f"p{i}@x.io", first_name=f"P{i}")
    spec = dataclasses.replace(h.specs["shop-customers"], batch_size=3)
    flaky = _FailsOnFetch(h.connector.name, h.connector.options)
    flaky.fail_at = 2
    try:
        with pytest.raises(TransientError, match="next page"):
            run_sync(spec, flaky, h.store)
    finally:
        flaky.close()
    kept = sorted(r.properties["email"] for r in h.store.list_records("contacts", limit=20))
    assert kept == ["p0@x.io", "p1@x.io", "p2@x.io"]
    assert h.store.sync_state("shop-customers").cursor is not None

    summary = run_sync(spec, h.connector, h.store)

    assert summary.get("inbound.created") == 4
    emails = sorted(r.properties["email"] for r in h.store.list_records("contacts", limit=20))
    assert emails == [f"p{i}@x.io" for i in range(7)]
    assert len(h.store.list_links("shop-customers", limit=20)) == 7
