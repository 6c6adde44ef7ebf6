"""Statements a write sends without waiting for (``store.db.unread``, PostgreSQL) still belong
to its transaction: a refusal among them fails the write before it commits and keeps none of
it, and a write that fails after sending them leaves its connection fit for the next one.

SQLite waits for every statement; the same promises hold there, and are checked there too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from store import Store, StoreError
from store.db import bulk
from store.db import tables as t
from store.db.tx import Tx
from store.records.sql import create_records
from tests.conftest import API


class _Boom(Exception):
    pass


def _emails(store: Store) -> list[str]:
    return sorted(r.properties["email"] for r in store.list_records("contacts", limit=100))


def _claiming_a_held_value(store: Store) -> Callable[[Tx], None]:
    """A write that creates a record and then claims the unique value another record holds,
    behind the store's checks: the database refuses it, in a statement nothing waits for."""
    (held,) = store.create_records("contacts", [{"email": "held@x.io"}], API).records
    obj_id = store._write(API, lambda tx: tx.object("contacts").id)

    def work(tx: Tx) -> None:
        create_records(tx, tx.object("contacts"), [{"email": "new@x.io"}])
        bulk.insert_rows(
            tx.connection,
            t.unique_values,
            ("object_type_id", "property_name", "value_key", "record_id"),
            [(obj_id, "email", "held@x.io", held.id)],
        )

    return work


def test_a_refusal_among_rows_sent_unread_fails_the_write_and_keeps_none_of_it(
    store: Store,
) -> None:
    with pytest.raises(StoreError, match="refused the write"):
        store._write(API, _claiming_a_held_value(store))

    assert _emails(store) == ["held@x.io"]
    assert [e.op for e in store.read_journal()] == ["create"]


def test_a_write_failing_after_rows_were_sent_keeps_nothing_and_the_next_ones_work(
    store: Store,
) -> None:
    def failing(tx: Tx) -> None:
        create_records(tx, tx.object("contacts"), [{"email": f"lost{i}@x.io"} for i in range(3)])
        raise _Boom

    for _ in range(3):  # more than one of the pool's connections goes back after a failure
        with pytest.raises(_Boom):
            store._write(API, failing)

    made = [
        store.create_records("contacts", [{"email": f"kept{i}@x.io"}], API).records[0]
        for i in range(3)
    ]
    assert _emails(store) == ["kept0@x.io", "kept1@x.io", "kept2@x.io"]
    assert [r.id for r in made] == sorted(r.id for r in made)
    assert [(e.op, e.record_id) for e in store.read_journal()] == [("create", r.id) for r in made]


def test_a_write_commits_while_its_meanwhile_runs_however_long_that_takes(
    store: Store,
) -> None:
    """``meanwhile`` (the next page's read, in a sync) runs on a store thread while the
    write waits for its statements and commits, so the write's locks never wait for it:
    here it waits to see the write committed, which a write that committed after it would
    never let it see."""
    seen: list[list[str]] = []

    def work(tx: Tx) -> None:
        create_records(tx, tx.object("contacts"), [{"email": f"m{i}@x.io"} for i in range(3)])

    def meanwhile() -> None:
        deadline = time.monotonic() + 10
        while not (emails := _emails(store)) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(emails)

    store._write(API, work, meanwhile)

    assert seen == [["m0@x.io", "m1@x.io", "m2@x.io"]]
    assert [e.op for e in store.read_journal()] == ["create"] * 3


def test_a_refusal_found_while_meanwhile_runs_fails_the_write_after_it(store: Store) -> None:
    work = _claiming_a_held_value(store)
    ran: list[bool] = []

    with pytest.raises(StoreError, match="refused the write"):
        store._write(API, work, lambda: ran.append(True))

    # On PostgreSQL the refusal may come back before the write's statements are all sent
    # (then meanwhile does not start) or while it runs; it runs at most once, and never on
    # SQLite, whose refusal is its own statement's.
    assert ran in ([], [True]) if store.dialect == "postgresql" else ran == []
    assert _emails(store) == ["held@x.io"]
    made = store.create_records("contacts", [{"email": "after@x.io"}], API).records
    assert [r.properties["email"] for r in made] == ["after@x.io"]


def test_meanwhile_is_not_run_by_a_write_that_fails(store: Store) -> None:
    ran: list[bool] = []

    def failing(tx: Tx) -> None:
        create_records(tx, tx.object("contacts"), [{"email": "lost@x.io"}])
        raise _Boom

    with pytest.raises(_Boom):
        store._write(API, failing, lambda: ran.append(True))

    assert ran == []
    assert _emails(store) == []
