"""The sync engine's state lives in the store and commits with the CRM writes it goes with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, select

from store import (
    ConflictSpec,
    DuplicateError,
    LinkConflictError,
    LinkWrite,
    LogAction,
    LogDirection,
    LogSpec,
    NotFoundError,
    Record,
    RecordWriteError,
    SourceType,
    Store,
    StoreError,
    SyncTx,
    unwatch_unread,
    watch_unread,
)
from store.db import tables as t
from tests.conftest import API
from tests.integration._store_helpers import company, contact, linked_ids

SYNC = "hubspot-main"


def _everything(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, catalogue included: nothing may differ after a rollback."""
    with store._engine.connect() as conn:
        return {
            table.name: [
                dict(row._mapping)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in t.metadata.sorted_tables
        }


def _conflict(crm_id: int, external_id: str, field: str = "firstname", **kw: Any) -> ConflictSpec:
    values: dict[str, Any] = {
        "crm_id": crm_id,
        "external_id": external_id,
        "field": field,
        "rule": "manual",
        "base": "Ann",
        "has_base": True,
        "crm_value": "Anne",
        "external_value": "Anna",
        "winner": None,
        "loser_value": None,
        "loser_changed_at": None,
        "open": True,
        "reason": "changed on both sides",
    }
    values.update(kw)
    return ConflictSpec(**values)


def _ok(outcome: Record | RecordWriteError) -> Record:
    assert isinstance(outcome, Record), outcome
    return outcome


def test_an_exception_in_the_work_rolls_back_records_and_sync_state(store: Store) -> None:
    existing = contact(store, firstname="Ann")
    acme = company(store)
    store.create_list("vips", "contacts")
    store.add_to_list("vips", [existing.id])
    store.sync_write(SYNC, lambda s: s.save_links("contacts", [LinkWrite("x-0", existing.id, {})]))
    before = _everything(store)

    def work(s: SyncTx) -> None:
        made = _ok(s.create_records("contacts", [{"email": "new@example.com"}])[0])
        _ok(s.update_records("contacts", [(existing.id, {"firstname": "Anna"})])[0])
        s.associate("contacts", made.id, "companies", acme.id, None)
        s.save_links("contacts", [LinkWrite("x-1", made.id, {"email": "new@example.com"})])
        s.delete_links(["x-0"])
        s.log("contacts", [LogSpec(LogDirection.INBOUND, LogAction.CREATED, made.id, "x-1")])
        s.add_conflicts("contacts", [_conflict(existing.id, "x-0")])
        s.set_cursor({"after": "2026-01-01"})
        s.set_journal_position(42)
        s.purge_records("contacts", [existing.id])
        raise RuntimeError("the connector failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        store.sync_write(SYNC, work)
    assert _everything(store) == before


def test_writes_carry_the_sync_as_their_source(store: Store) -> None:
    head = store.journal_head()
    made = store.sync_write(
        SYNC, lambda s: _ok(s.create_records("contacts", [{"email": "a@example.com"}])[0])
    )
    entries = store.read_journal(after=head)
    assert [(e.record_id, e.op) for e in entries] == [(made.id, "create")]
    assert (entries[0].source_type, entries[0].source_id) == (SourceType.INTEGRATION, SYNC)
    history = store.property_history("contacts", made.id, "email")
    assert (history[0].source_type, history[0].source_id) == (SourceType.INTEGRATION, SYNC)


def test_a_refused_input_leaves_the_others_and_the_transaction_usable(store: Store) -> None:
    taken = contact(store, email="taken@example.com")

    def work(s: SyncTx) -> list[Record | RecordWriteError]:
        outcomes = s.create_records(
            "contacts",
            [
                {"email": "not an email"},
                {"email": "Taken@example.com"},
                {"email": "ok@example.com"},
            ],
        )
        made = _ok(outcomes[2])
        # Afterwards the same transaction still writes (PostgreSQL has not aborted it).
        s.save_links("contacts", [LinkWrite("x-ok", made.id, {"email": "ok@example.com"})])
        updates = s.update_records(
            "contacts", [(taken.id, {"email": "ok@example.com"}), (made.id, {"firstname": "Ok"})]
        )
        return [*outcomes, *updates]

    outcomes = store.sync_write(SYNC, work)
    assert isinstance(outcomes[0], RecordWriteError)
    assert isinstance(outcomes[1], DuplicateError) and outcomes[1].existing_id == taken.id
    assert isinstance(outcomes[3], RecordWriteError)  # the email is the new record's now
    assert _ok(outcomes[4]).properties["firstname"] == "Ok"
    assert store.find_record("contacts", "email", "ok@example.com").properties["firstname"] == "Ok"
    assert store.get_record("contacts", taken.id).properties["email"] == "taken@example.com"
    assert store.count_links(SYNC) == 1


def test_a_sync_batch_may_hand_unique_values_on_and_swap_them(store: Store) -> None:
    """What happened outside between two passes lands in one batch: Bo gave his email to
    Ann, Cy and Di swapped theirs. Checked against the records before the batch (HubSpot's
    rule, and still the default) every taker is refused; a sync's batch frees a value for
    the others when the record giving it up lands."""
    ann, bo = contact(store, email="a@x.io"), contact(store, email="b@x.io")
    cy, di = contact(store, email="c@x.io"), contact(store, email="d@x.io")
    moves: list[tuple[int, dict[str, str | None]]] = [
        (ann.id, {"email": "B@x.io"}),
        (bo.id, {"email": "e@x.io"}),
        (cy.id, {"email": "d@x.io"}),
        (di.id, {"email": "c@x.io"}),
    ]

    before = store.sync_write(SYNC, lambda s: s.update_records("contacts", moves))
    assert [type(o).__name__ for o in before] == [
        "DuplicateError",
        "Record",
        "DuplicateError",
        "DuplicateError",
    ]
    store.sync_write(SYNC, lambda s: s.update_records("contacts", [(bo.id, {"email": "b@x.io"})]))

    within = store.sync_write(
        SYNC, lambda s: s.update_records("contacts", moves, moves_within=True)
    )
    assert all(isinstance(o, Record) for o in within), within
    emails = {r.id: r.properties["email"] for r in map(_ok, within)}
    assert emails == {ann.id: "B@x.io", bo.id: "e@x.io", cy.id: "d@x.io", di.id: "c@x.io"}
    for record_id, email in emails.items():
        assert store.find_record("contacts", "email", email.lower()).id == record_id
    with pytest.raises(NotFoundError):
        store.find_record("contacts", "email", "a@x.io")


def test_a_value_is_not_handed_on_by_a_record_whose_own_update_is_refused(store: Store) -> None:
    """Bo gives up b@x.io for an email Eve holds: his update is refused, so he keeps
    b@x.io, and Ann, who wanted it, is refused too; the batch's other inputs land."""
    ann, bo = contact(store, email="a@x.io"), contact(store, email="b@x.io")
    contact(store, email="e@x.io")
    fay = contact(store, email="f@x.io")
    moves: list[tuple[int, dict[str, str | None]]] = [
        (ann.id, {"email": "b@x.io"}),
        (bo.id, {"email": "e@x.io"}),
        (fay.id, {"email": "g@x.io"}),
    ]

    outcomes = store.sync_write(
        SYNC, lambda s: s.update_records("contacts", moves, moves_within=True)
    )

    assert isinstance(outcomes[0], DuplicateError) and isinstance(outcomes[1], DuplicateError)
    assert _ok(outcomes[2]).properties["email"] == "g@x.io"
    assert store.find_record("contacts", "email", "b@x.io").id == bo.id
    assert store.find_record("contacts", "email", "a@x.io").id == ann.id


def test_saving_a_link_again_replaces_its_base_and_keeps_when_it_was_made(store: Store) -> None:
    a, b = contact(store), contact(store)
    store.sync_write(
        SYNC,
        lambda s: s.save_links(
            "contacts",
            [
                LinkWrite("x-a", a.id, {"firstname": "Ann", "lastname": None}),
                LinkWrite("x-b", b.id, {}),
            ],
        ),
    )
    first = store.get_link_by_crm(SYNC, a.id)
    assert first is not None and first.base == {"firstname": "Ann", "lastname": None}

    store.sync_write(
        SYNC, lambda s: s.save_links("contacts", [LinkWrite("x-a", a.id, {"firstname": "Anna"})])
    )
    again = store.sync_write(SYNC, lambda s: s.links_by_external(["x-a", "x-missing"]))
    assert list(again) == ["x-a"]
    link = again["x-a"]
    assert link.base == {"firstname": "Anna"}  # replaced, not merged: lastname is gone
    assert link.created_at == first.created_at
    assert link.updated_at > first.updated_at
    assert store.sync_write(SYNC, lambda s: list(s.links_by_crm([a.id, b.id]))) == [a.id, b.id]
    # Another sync sees none of them, but may look them up by name.
    assert store.count_links("other") == 0 and store.get_link_by_crm("other", a.id) is None
    assert store.sync_write("other", lambda s: list(s.links_by_crm([a.id], sync=SYNC))) == [a.id]
    assert store.sync_write("other", lambda s: s.links_by_external(["x-a"])) == {}


def test_links_page_in_external_id_order(store: Store) -> None:
    people = [contact(store) for _ in range(5)]
    store.sync_write(
        SYNC,
        lambda s: s.save_links(
            "contacts",
            [LinkWrite(f"x-{i}", p.id, {}) for i, p in reversed(list(enumerate(people)))],
        ),
    )
    first = store.list_links(SYNC, limit=2)
    rest = store.list_links(SYNC, after_external_id=first[-1].external_id)
    assert [x.external_id for x in first + rest] == [f"x-{i}" for i in range(5)]
    assert store.count_links(SYNC) == 5


def test_one_crm_record_cannot_hold_two_links_of_a_sync(store: Store) -> None:
    a, b = contact(store), contact(store)

    def work(s: SyncTx) -> None:
        s.save_links("contacts", [LinkWrite("x-a", a.id, {}), LinkWrite("x-b", b.id, {})])
        with pytest.raises(LinkConflictError, match="x-a"):
            s.save_links("contacts", [LinkWrite("x-other", a.id, {})])
        with pytest.raises(LinkConflictError, match=r"'x-b'.*'x-a'"):
            s.relink(a.id, b.id)  # b holds x-b already
        # Both refusals came before any statement failed: the transaction goes on.
        s.delete_links(["x-b"])
        s.relink(a.id, b.id)

    store.sync_write(SYNC, work)
    moved = store.get_link_by_crm(SYNC, b.id)
    assert moved is not None and moved.external_id == "x-a"
    assert store.get_link_by_crm(SYNC, a.id) is None
    assert [x.external_id for x in store.list_links(SYNC)] == ["x-a"]


def test_find_by_property_matches_unique_values_as_dedupe_does(store: Store) -> None:
    ann = contact(store, email="ann@example.com", firstname="Ann", jobtitle="CEO")
    contact(store, email="bob@example.com", firstname="ann")
    gone = contact(store, email="gone@example.com", firstname="Gone")
    store.archive_records("contacts", [gone.id], API)

    def work(s: SyncTx) -> tuple[dict[str, Record], ...]:
        return (
            s.find_by_property(
                "contacts", "email", ["ANN@example.com", "gone@example.com", "nobody@x.com"]
            ),
            s.find_by_property("contacts", "firstname", ["Ann", "Gone", "Zed"]),
            s.find_by_property("contacts", "jobtitle", ["CEO"]),
        )

    by_email, by_name, by_title = store.sync_write(SYNC, work)
    assert {k: r.id for k, r in by_email.items()} == {"ANN@example.com": ann.id}
    # Not unique: exact match, so "ann" (Bob) is not Ann, and archived records are not found.
    assert {k: r.id for k, r in by_name.items()} == {"Ann": ann.id}
    assert {k: r.id for k, r in by_title.items()} == {"CEO": ann.id}


def test_changed_at_gives_the_latest_change_of_each_property(store: Store) -> None:
    ann = contact(store, firstname="Ann", lastname="Lee")
    updated = store.update_record("contacts", ann.id, {"firstname": "Anna"}, API)
    other = contact(store, firstname="Bob")

    found = store.sync_write(
        SYNC,
        lambda s: s.changed_at(
            "contacts", [ann.id, other.id], ["firstname", "lastname", "jobtitle"]
        ),
    )
    assert found == {
        (ann.id, "firstname"): updated.updated_at,
        (ann.id, "lastname"): ann.created_at,
        (other.id, "firstname"): other.created_at,
    }
    assert updated.updated_at > ann.created_at


def test_get_records_shows_merged_and_archived_records_as_they_are(store: Store) -> None:
    winner, loser = contact(store), contact(store)
    store.merge_records("contacts", winner.id, loser.id, API)

    def work(s: SyncTx) -> tuple[dict[int, Record], dict[int, Record]]:
        ids = [winner.id, loser.id]
        return s.get_records("contacts", ids), s.get_records("contacts", ids, include_archived=True)

    live, everything = store.sync_write(SYNC, work)
    assert list(live) == [winner.id]
    assert everything[loser.id].archived and everything[loser.id].merged_into == winner.id


def test_purge_removes_every_trace_so_the_email_can_be_reused(store: Store) -> None:
    acme = company(store)
    doomed = contact(store, email="doomed@example.com")
    store.associate("contacts", doomed.id, "companies", acme.id, API)
    store.create_list("doomed-list", "contacts")
    store.add_to_list("doomed-list", [doomed.id])
    store.sync_write(SYNC, lambda s: s.save_links("contacts", [LinkWrite("x-d", doomed.id, {})]))
    assert store.get_record("companies", acme.id).properties["num_associated_contacts"] == "1"
    head = store.journal_head()

    outcomes = store.sync_write(SYNC, lambda s: s.purge_records("contacts", [doomed.id, 999_999]))

    assert outcomes[0] == doomed.id and isinstance(outcomes[1], NotFoundError)
    assert store.get_records("contacts", [doomed.id], include_archived=True) == {}
    assert linked_ids(store, "companies", acme.id, "contacts") == set()
    assert store.get_record("companies", acme.id).properties["num_associated_contacts"] == "0"
    assert store.list_members("doomed-list").records == []
    assert store.get_link_by_crm(SYNC, doomed.id) is None
    deleted = [e for e in store.read_journal(after=head) if e.op == "delete"]
    assert [(e.record_id, e.changes) for e in deleted] == [(doomed.id, {"links": {SYNC: "x-d"}})]
    with store._engine.connect() as conn:
        h = t.property_history
        assert conn.execute(select(h).where(h.c.record_id == doomed.id)).first() is None
    again = contact(store, email="doomed@example.com")
    assert store.find_record("contacts", "email", "doomed@example.com").id == again.id


def test_associate_is_idempotent_and_associations_are_read_in_one_batch(store: Store) -> None:
    acme, globex = company(store), company(store)
    ann, bob = contact(store), contact(store)

    def work(s: SyncTx) -> dict[int, Any]:
        s.associate("contacts", ann.id, "companies", acme.id, None)
        s.associate("contacts", ann.id, "companies", acme.id, None)  # already there: fine
        s.associate("contacts", ann.id, "companies", globex.id, None)
        s.associate("contacts", bob.id, "companies", globex.id, None)
        s.dissociate("contacts", bob.id, "companies", globex.id, None)
        return s.associations_of("contacts", [ann.id, bob.id], "companies")

    found = store.sync_write(SYNC, work)
    assert list(found) == [ann.id]
    assert [a.to_id for a in found[ann.id]] == [acme.id, globex.id]
    assert all(a.from_object == "contacts" and a.to_object == "companies" for a in found[ann.id])
    assert linked_ids(store, "contacts", ann.id, "companies") == {acme.id, globex.id}


def test_log_reads_back_oldest_first_with_filters_and_paging(store: Store) -> None:
    one = store.start_sync_run(SYNC)
    two = store.start_sync_run(SYNC)
    store.sync_write(
        SYNC,
        lambda s: s.log(
            "contacts",
            [
                LogSpec(LogDirection.INBOUND, LogAction.CREATED, 1, "x-1", {"email": [None, "a"]}),
                LogSpec(LogDirection.OUTBOUND, LogAction.UPDATED, 2, "x-2"),
                LogSpec(
                    LogDirection.INBOUND, LogAction.ERROR, None, "x-3", message="bad", level="error"
                ),
            ],
        ),
        run_id=one.id,
    )
    store.sync_write(
        "other", lambda s: s.log("companies", [LogSpec(LogDirection.INBOUND, LogAction.SKIPPED)])
    )
    store.sync_write(
        SYNC,
        lambda s: s.log("contacts", [LogSpec(LogDirection.INBOUND, LogAction.UPDATED, 1, "x-1")]),
        run_id=two.id,
    )

    mine = store.sync_log(sync=SYNC)
    assert [(e.external_id, e.action) for e in mine] == [
        ("x-1", LogAction.CREATED),
        ("x-2", LogAction.UPDATED),
        ("x-3", LogAction.ERROR),
        ("x-1", LogAction.UPDATED),
    ]
    assert mine[0].changes == {"email": [None, "a"]} and mine[0].run_id == one.id
    assert mine[2].message == "bad" and mine[2].level == "error" and mine[2].crm_id is None
    assert [e.run_id for e in store.sync_log(run_id=two.id)] == [two.id]
    assert [e.crm_id for e in store.sync_log(crm_object="contacts", crm_id=1)] == [1, 1]
    assert len(store.sync_log(external_id="x-1", action="updated")) == 1
    assert [e.sync for e in store.sync_log(crm_object="companies")] == ["other"]
    page = store.sync_log(sync=SYNC, after_id=mine[1].id, limit=1)
    assert [e.id for e in page] == [mine[2].id]


def test_conflicts_are_recorded_listed_and_resolved_once(store: Store) -> None:
    ann = contact(store)
    run = store.start_sync_run(SYNC)
    ids = store.sync_write(
        SYNC,
        lambda s: s.add_conflicts(
            "contacts",
            [
                _conflict(ann.id, "x-1"),
                _conflict(ann.id, "x-1", "lastname", rule="crm_wins", open=False, winner="crm"),
            ],
        ),
        run_id=run.id,
    )
    assert len(ids) == 2 and ids[0] < ids[1]
    stored = store.get_conflict(ids[0])
    assert (stored.field, stored.open, stored.run_id, stored.crm_object) == (
        "firstname",
        True,
        run.id,
        "contacts",
    )
    assert [c.id for c in store.list_conflicts(sync=SYNC, open_only=True)] == [ids[0]]
    assert {c.id for c in store.list_conflicts(sync=SYNC)} == set(ids)

    done = store.sync_write(SYNC, lambda s: s.resolve_conflict(ids[0], "external", "Anna"))
    assert (done.open, done.resolution, done.resolved_value) == (False, "external", "Anna")
    assert done.resolved_at is not None
    assert store.list_conflicts(open_only=True) == []
    with pytest.raises(StoreError, match="already resolved"):
        store.sync_write(SYNC, lambda s: s.resolve_conflict(ids[0], "crm", None))
    with pytest.raises(StoreError, match="not open"):
        store.sync_write(SYNC, lambda s: s.resolve_conflict(ids[1], "crm", None))
    with pytest.raises(NotFoundError):
        store.get_conflict(ids[1] + 100)


def test_state_runs_and_pause(store: Store) -> None:
    fresh = store.sync_state(SYNC)
    assert (fresh.cursor, fresh.journal_position, fresh.paused) == (None, 0, False)

    def work(s: SyncTx) -> None:
        s.set_cursor({"after": "abc", "page": 2})
        s.set_journal_position(17)

    store.sync_write(SYNC, work)
    store.set_sync_paused(SYNC, True, "the token expired")
    state = store.sync_state(SYNC)
    assert state.cursor == {"after": "abc", "page": 2} and state.journal_position == 17
    assert state.paused and state.paused_reason == "the token expired"
    store.set_sync_paused(SYNC, False, None)
    store.sync_write(SYNC, lambda s: s.set_cursor(None))
    resumed = store.sync_state(SYNC)
    assert not resumed.paused and resumed.cursor is None and resumed.journal_position == 17

    first = store.start_sync_run(SYNC)
    second = store.start_sync_run(SYNC, status="dry_run")
    store.start_sync_run("other")
    finished = store.finish_sync_run(first.id, "ok", {"created": 3})
    assert finished.status == "ok" and finished.summary == {"created": 3}
    assert finished.finished_at is not None
    assert [r.id for r in store.list_sync_runs(SYNC)] == [second.id, first.id]
    assert store.sync_state(SYNC).last_run_at == first.started_at
    with pytest.raises(StoreError, match="status"):
        store.finish_sync_run(first.id, "great", {})
    with pytest.raises(NotFoundError):
        store.finish_sync_run(first.id + 100, "ok", {})


def test_batched_calls_cost_one_statement_per_500_keys(store: Store) -> None:
    """A run over thousands of records must not make a round trip per record."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    ids = list(range(1, 1201))
    texts = [f"x-{i}@example.com" for i in ids]

    def work(s: SyncTx) -> dict[str, int]:
        s.get_records("contacts", [])  # the object definitions load once per transaction
        s.get_records("companies", [])
        calls: dict[str, Callable[[], object]] = {
            "links_by_external": lambda: s.links_by_external(texts),
            "links_by_crm": lambda: s.links_by_crm(ids),
            "get_records": lambda: s.get_records("contacts", ids, include_archived=True),
            "find_by_unique": lambda: s.find_by_property("contacts", "email", texts),
            "find_by_other": lambda: s.find_by_property("contacts", "firstname", texts),
            "changed_at": lambda: s.changed_at("contacts", ids, ["email", "firstname"]),
            "associations_of": lambda: s.associations_of("contacts", ids, "companies"),
            "log": lambda: s.log(
                "contacts", [LogSpec(LogDirection.INBOUND, LogAction.SKIPPED, i) for i in ids]
            ),
        }
        costs: dict[str, int] = {}
        event.listen(store._engine, "before_cursor_execute", count)
        watch_unread(store._engine, statements.append)  # sent without waiting (PostgreSQL)
        try:
            for name, call in calls.items():
                statements.clear()
                call()
                costs[name] = len(statements)
        finally:
            event.remove(store._engine, "before_cursor_execute", count)
            unwatch_unread(store._engine, statements.append)
        return costs

    costs = store.sync_write(SYNC, work)
    # Reads go by chunks of 500 keys; log rows go in one statement whatever their number.
    assert costs == {**dict.fromkeys(costs, 3), "log": 1}
