"""Store additions of the apply-path speed-ups: journal reads without changes, known links and uniques.

Each runs on SQLite and PostgreSQL through the ``store`` fixture; each can fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from connectors.base import ExternalRecord
from mapping import FieldMapping
from store import (
    ChangeSource,
    LinkConflictError,
    LinkWrite,
    PropertySpec,
    Record,
    Store,
    SyncTx,
)
from store.db import tables as t
from store.errors import DuplicateError
from tests.conftest import API


def test_read_journal_changed_matches_read_journal_without_changes(store: Store) -> None:
    created = store.create_records(
        "contacts", [{"email": "a@x.example"}, {"email": "b@x.example"}], API
    ).records
    store.merge_records("contacts", created[0].id, created[1].id, API)
    full, brief = store.read_journal(), store.read_journal_changed()
    assert [(e.seq, e.op, e.record_id, e.object, e.source_type, e.source_id) for e in full] == [
        (e.seq, e.op, e.record_id, e.object, e.source_type, e.source_id) for e in brief
    ]
    for whole, short in zip(full, brief, strict=True):
        assert short.changes == (whole.changes if whole.op == "merge" else None)
    assert store.read_journal_changed(after=full[-2].seq, limit=1)[0].seq == full[-1].seq


def test_refresh_planner_statistics_runs_on_postgresql_only(store: Store) -> None:
    assert store.refresh_planner_statistics() is (store.dialect == "postgresql")


def _analyses(store: Store) -> int:
    """How many times PostgreSQL has measured the records table (the count outlives resets)."""
    return int(
        store._read(
            lambda conn: conn.exec_driver_sql(
                "SELECT analyze_count + autoanalyze_count "
                "FROM pg_stat_user_tables WHERE relid = 'records'::regclass"
            ).scalar()
        )
    )


def test_planner_statistics_refreshed_beside_the_caller_arrive_without_waiting(
    store: Store,
) -> None:
    """A pass does not wait for its ANALYZE: it runs on a store thread and lands soon."""
    store.create_records("contacts", [{"email": f"s{i}@x.example"} for i in range(50)], API)
    before = _analyses(store) if store.dialect == "postgresql" else 0
    started = store.refresh_planner_statistics(wait=False)
    assert started is (store.dialect == "postgresql")
    if not started:
        return
    deadline = time.monotonic() + 20
    while _analyses(store) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _analyses(store) > before


def test_create_after_lookup_still_refuses_a_duplicate(store: Store) -> None:
    """The unique look-up cached by find_by_property must not hide a value taken since."""
    store.create_records("contacts", [{"email": "taken@x.example"}], API)

    def work(tx: SyncTx) -> tuple[list[Any], list[Any], list[Any]]:
        assert tx.find_by_property("contacts", "email", ["new@x.example"]) == {}
        first = tx.create_records("contacts", [{"email": "new@x.example"}])
        again = tx.create_records("contacts", [{"email": "NEW@x.example"}])
        taken = tx.create_records("contacts", [{"email": "taken@x.example"}])
        return first, again, taken

    first, again, taken = store.sync_write("s", work)
    assert first[0].properties["email"] == "new@x.example"
    assert isinstance(again[0], DuplicateError)
    assert isinstance(taken[0], DuplicateError)


def test_new_record_linked_twice_in_one_transaction_is_refused(store: Store) -> None:
    """Links of records created in the transaction skip the database check, not the rule."""

    def work(tx: SyncTx) -> None:
        (record,) = tx.create_records("contacts", [{"email": "n@x.example"}])
        assert isinstance(record, Record)
        tx.save_links("contacts", [LinkWrite("e1", record.id, {})])
        tx.save_links("contacts", [LinkWrite("e2", record.id, {})])

    with pytest.raises(LinkConflictError) as refused:
        store.sync_write("s", work)
    assert refused.value.held_by == "e1" and refused.value.wanted_by == "e2"
    with store._engine.connect() as conn:
        assert conn.execute(select(t.sync_links)).first() is None


def _links_by_crm_reads(store: Store, work: Callable[[SyncTx], Any]) -> list[str]:
    """The SELECTs of sync_links by CRM id that ``work`` makes in one sync transaction."""
    seen: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        flat = " ".join(statement.split())
        if (
            flat.startswith("SELECT")
            and "FROM sync_links" in flat
            and "crm_id" in flat.split("WHERE", 1)[-1]
        ):
            seen.append(flat)

    from sqlalchemy import event

    event.listen(store._engine, "before_cursor_execute", watch)
    try:
        store.sync_write("s", work)
    finally:
        event.remove(store._engine, "before_cursor_execute", watch)
    return seen


def test_a_link_saved_as_it_was_read_needs_no_look_up_and_others_still_do(
    store: Store,
) -> None:
    """A link read in the transaction and saved again to the same CRM record (a page of
    updates) skips the look-up of who holds that record; a link moved to another record,
    or not read first, is looked up and refused as before."""
    a, b = store.create_records(
        "contacts", [{"email": "a@x.example"}, {"email": "b@x.example"}], API
    ).records
    store.sync_write(
        "s",
        lambda tx: tx.save_links(
            "contacts", [LinkWrite("e1", a.id, {}), LinkWrite("e2", b.id, {})]
        ),
    )

    def again(tx: SyncTx) -> None:
        tx.links_by_external(["e1", "e2"])
        tx.save_links("contacts", [LinkWrite("e1", a.id, {"email": "a@x.example"})])

    assert _links_by_crm_reads(store, again) == []

    def unread(tx: SyncTx) -> None:
        tx.save_links("contacts", [LinkWrite("e2", b.id, {"email": "b@x.example"})])

    assert len(_links_by_crm_reads(store, unread)) == 1

    def moved(tx: SyncTx) -> None:
        tx.links_by_external(["e1", "e2"])
        tx.save_links("contacts", [LinkWrite("e3", a.id, {})])  # a holds e1

    with pytest.raises(LinkConflictError) as refused:
        store.sync_write("s", moved)
    assert refused.value.held_by == "e1" and refused.value.wanted_by == "e3"

    def deleted_then_other(tx: SyncTx) -> None:
        tx.links_by_external(["e1"])
        tx.delete_links(["e1"])
        tx.save_links("contacts", [LinkWrite("e1", a.id, {"new": "yes"})])

    assert len(_links_by_crm_reads(store, deleted_then_other)) == 1
    assert store.links_by_external("s", ["e1"])["e1"].base == {"new": "yes"}


def test_fresh_records_get_history_and_journal_as_before(store: Store) -> None:
    def work(tx: SyncTx) -> list[Any]:
        return tx.create_records(
            "contacts", [{"email": "h@x.example", "firstname": "Ann", "city": "Köln"}]
        )

    (record,) = store.sync_write("s", work)
    assert record.properties["hs_object_id"] == str(record.id)
    assert record.properties["createdate"] == record.properties["lastmodifieddate"]
    (entry,) = [e for e in store.read_journal() if e.record_id == record.id]
    assert entry.changes == {
        "email": [None, "h@x.example"],
        "firstname": [None, "Ann"],
        "city": [None, "Köln"],
    }
    assert entry.source_type.value == "INTEGRATION" and entry.source_id == "s"
    assert isinstance(API, ChangeSource)


def test_inbound_retry_state_is_retry_due_and_whether_any_is_parked(store: Store) -> None:
    """One statement for the pass's start: the same due ids, and "none parked" only if so."""
    assert store.inbound_retry_state("s") == ([], False)
    store.sync_write("s", lambda tx: tx.inbound_failed({"a": "x", "c": "y"}))
    assert store.inbound_retry_state("s") == ([], True)  # parked, none due
    store.retry_parked("s", external_id="c")
    store.sync_write("s", lambda tx: tx.inbound_failed({"b": "z"}, retry_later=["b"]))
    assert store.inbound_retry_state("s") == (["c"], True) == (store.inbound_retry_due("s"), True)
    assert store.inbound_retry_state("s", limit=1) == (store.inbound_retry_due("s", limit=1), True)
    assert store.inbound_retry_state("other") == ([], False)
    store.sync_write("s", lambda tx: tx.inbound_done(["a", "b", "c"]))
    assert store.inbound_retry_state("s") == ([], False)


def test_read_journal_of_others_is_read_journal_changed_filtered(store: Store) -> None:
    """The outbound side's journal read leaves out other objects and the sync's own writes,
    in the store: the same entries as filtering ``read_journal_changed``, the same position."""
    store.sync_write("s", lambda tx: tx.create_records("contacts", [{"email": "s1@x.example"}]))
    made = store.create_records(
        "contacts", [{"email": "a@x.example"}, {"email": "b@x.example"}], API
    ).records
    store.create_records("companies", [{"name": "Acme"}], API)
    store.sync_write("t", lambda tx: tx.create_records("contacts", [{"email": "t1@x.example"}]))
    store.merge_records("contacts", made[0].id, made[1].id, API)
    store.sync_write("s", lambda tx: tx.create_records("contacts", [{"email": "s2@x.example"}]))

    def expected(after: int) -> list[tuple[object, ...]]:
        return [
            (e.seq, e.record_id, e.op, e.changes)
            for e in store.read_journal_changed(after=after, limit=1000)
            if e.object == "contacts"
            and not (e.source_type.value == "INTEGRATION" and e.source_id == "s")
        ]

    head = store.read_journal_changed(limit=1000)[-1].seq
    for after in range(head + 1):
        entries, position = store.read_journal_of_others("s", "contacts", after=after)
        assert [(e.seq, e.record_id, e.op, e.changes) for e in entries] == expected(after)
        assert position == head
        # Paged: the last entry returned is where to read on from.
        page, at = store.read_journal_of_others("s", "contacts", after=after, limit=1)
        assert [(e.seq, e.record_id, e.op, e.changes) for e in page] == expected(after)[:1]
        assert at == (page[0].seq if page else head)
    assert store.read_journal_of_others("s", "contacts", after=head) == ([], head)


def _first_pass_pages(store: Store) -> tuple[Any, Callable[..., int]]:
    """A run context of sync ``s`` (email matched, first name mapped; no connector), and a
    writer applying one page of external records in its own sync transaction."""
    from syncd.engine.context import RunContext
    from syncd.engine.inbound import apply_page
    from syncd.engine.spec import SyncSpec

    spec = SyncSpec.build(
        "s",
        connector="c",
        external_object="o",
        crm_object="contacts",
        mappings=[FieldMapping(("email",), "email"), FieldMapping(("firstname",), "name")],
        match_crm="email",
        match_external="email",
    )
    ctx = RunContext(spec, None, store, None)  # type: ignore[arg-type]  # no connector call

    def page(*records: ExternalRecord) -> int:
        """How many times the store ran the page's work."""
        runs: list[int] = []

        def work(tx: SyncTx) -> None:
            runs.append(1)
            apply_page(ctx, tx, records, None, deletes_so_far=0, linked_total=0)

        store.sync_write("s", ctx.once(work))
        return len(runs)

    return ctx, page


@pytest.mark.parametrize("first_pass", [True, False], ids=["knows-its-links", "looks-them-up"])
def test_a_first_pass_skips_link_lookups_only_for_ids_it_never_linked(
    store: Store, first_pass: bool
) -> None:
    """A record read again on a later page of the first pass (a lookback, an edit during
    the pass) is found linked by the page that linked it: one CRM record, updated."""
    ctx, page = _first_pass_pages(store)
    if first_pass:
        ctx.linked = set()
    at = datetime(2026, 1, 1, tzinfo=UTC)

    page(ExternalRecord("1", {"email": "a@x.example", "name": "Ann"}, at))
    page(
        ExternalRecord("2", {"email": "b@x.example", "name": "Bo"}, at),
        ExternalRecord("1", {"email": "a@x.example", "name": "Anne"}, at),
    )
    links = store.links_by_external("s", ["1", "2"])
    assert sorted(links) == ["1", "2"]
    assert ctx.summary.get("inbound.created") == 2
    assert ctx.summary.get("inbound.updated") == 1
    assert ctx.linked == ({"1", "2"} if first_pass else None)


def test_a_first_pass_forgets_its_links_past_the_cap_and_looks_them_up_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``LINKS_KEPT_IN_MEMORY`` ids the first pass stops remembering (its memory must not
    grow with the source) and a record read again is still found linked: one record."""
    from syncd.engine import inbound

    monkeypatch.setattr(inbound, "LINKS_KEPT_IN_MEMORY", 2)
    ctx, page = _first_pass_pages(store)
    ctx.linked = set()
    at = datetime(2026, 1, 1, tzinfo=UTC)

    page(*(ExternalRecord(str(n), {"email": f"{n}@x.example", "name": "A"}, at) for n in (1, 2)))
    assert ctx.linked == {"1", "2"}
    page(ExternalRecord("3", {"email": "3@x.example", "name": "C"}, at))
    assert ctx.linked is None  # past the cap: forgotten
    page(ExternalRecord("1", {"email": "1@x.example", "name": "Ann"}, at))
    assert sorted(store.links_by_external("s", ["1", "2", "3"])) == ["1", "2", "3"]
    assert ctx.summary.get("inbound.created") == 3
    assert ctx.summary.get("inbound.updated") == 1


def test_a_page_run_again_for_a_moved_catalogue_counts_once(store: Store, db_url: str) -> None:
    """A SQLite write takes the definitions it cached unchecked and checks the catalogue
    version at its end: moved by another process, the page runs again from the start with
    the new definitions, and the run's summary counts what committed, once."""
    ctx, page = _first_pass_pages(store)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    page(ExternalRecord("1", {"email": "a@x.example", "name": "Ann"}, at))  # caches contacts
    other = Store.open(db_url, migrate=False)
    try:
        other.create_property("contacts", PropertySpec(name="tier", label="Tier"))
    finally:
        other.close()
    runs = page(
        ExternalRecord("2", {"email": "b@x.example", "name": "Bo"}, at),
        ExternalRecord("1", {"email": "a@x.example", "name": "Anne"}, at),
    )
    assert runs == (2 if store.dialect == "sqlite" else 1)
    assert ctx.summary.get("inbound.created") == 2
    assert ctx.summary.get("inbound.updated") == 1
    assert store.find_record("contacts", "email", "a@x.example").properties["firstname"] == "Anne"
    assert sorted(store.links_by_external("s", ["1", "2"])) == ["1", "2"]
