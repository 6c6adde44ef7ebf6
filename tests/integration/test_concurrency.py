"""Concurrent writers: one winner per unique value, no lost updates, no "database is locked"."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from store import DuplicateError, Store, utcnow
from store.db.tx import Tx
from store.records.sql import create_records
from tests.conftest import API


def _run_all(workers: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def wrap(work: Callable[[], None]) -> None:
        try:
            start.wait()
            work()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_duplicate_email_in_two_open_transactions_has_one_winner(store: Store) -> None:
    """Writer B checks for the email while A's insert is not yet committed.

    On PostgreSQL, B's insert of the unique value waits for A and then collides; on SQLite,
    B waits for the write lock. Either way B must be refused naming A's record, and B's
    half-done record must not survive.
    """
    outcome: list[BaseException | int] = []

    def writer_b() -> None:
        try:
            outcome.append(store.create_record("contacts", {"email": "Same@Example.com"}, API).id)
        except BaseException as exc:
            outcome.append(exc)

    engine = store._engine
    with engine.connect().execution_options(syncd_write=True) as conn, conn.begin():
        tx = Tx(conn, API, utcnow())
        winner = create_records(tx, tx.object("contacts"), [{"email": "same@example.com"}])[0]
        b = threading.Thread(target=writer_b)
        b.start()
        time.sleep(0.5)  # B is now blocked behind A
        assert not outcome, "B finished while A still held its transaction open"
        tx.flush_journal()
    b.join(timeout=30)

    assert len(outcome) == 1
    refused = outcome[0]
    assert isinstance(refused, DuplicateError), refused
    assert refused.existing_id == winner.id  # type: ignore[union-attr]
    contacts = store.list_records("contacts")
    assert [c.properties["email"] for c in contacts] == ["same@example.com"]
    assert len(store.read_journal()) == 1


def test_many_racing_creates_of_one_email_leave_exactly_one_record(store: Store) -> None:
    results: list[int] = []
    refused: list[DuplicateError] = []

    def create() -> None:
        try:
            results.append(store.create_record("contacts", {"email": "race@example.com"}, API).id)
        except DuplicateError as exc:
            refused.append(exc)

    errors = _run_all([create for _ in range(8)])
    assert not errors, errors
    assert len(results) == 1
    assert len(refused) == 7
    assert {e.existing_id for e in refused} == set(results)


def test_concurrent_read_then_write_transactions_neither_lock_out_nor_lose_updates(
    store: Store,
) -> None:
    """Each writer reads the record and writes one property of it, all at once.

    A deferred SQLite transaction would fail here with "database is locked" when its read
    turns into a write; a read-modify-write without a row lock would lose updates.
    """
    contact = store.create_record("contacts", {"email": "shared@example.com"}, API)
    fields = ["firstname", "lastname", "company", "jobtitle", "city", "state", "zip", "country"]

    def writer(name: str) -> Callable[[], None]:
        def work() -> None:
            for round_ in range(5):
                store.update_record("contacts", contact.id, {name: f"{name}-{round_}"}, API)

        return work

    errors = _run_all([writer(name) for name in fields])
    assert not errors, errors
    final = store.get_record("contacts", contact.id).properties
    assert {name: final[name] for name in fields} == {name: f"{name}-4" for name in fields}
    history = store.property_history("contacts", contact.id)
    assert len([h for h in history if h.property in fields]) == len(fields) * 5


@pytest.mark.parametrize("writers", [4], ids=["4-writers"])
def test_concurrent_batches_get_distinct_ids_and_all_commit(store: Store, writers: int) -> None:
    def batch(n: int) -> Callable[[], None]:
        def work() -> None:
            store.create_records(
                "contacts", [{"email": f"b{n}-{i}@example.com"} for i in range(200)], API
            )

        return work

    errors = _run_all([batch(n) for n in range(writers)])
    assert not errors, errors
    records = store.list_records("contacts", limit=10_000)
    assert len(records) == writers * 200
    assert len({r.id for r in records}) == writers * 200
