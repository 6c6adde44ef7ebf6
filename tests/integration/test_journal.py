"""The change journal: ordered, dense, complete, and free of rolled-back rows.

The sync engine reads outbound changes by resuming after the last seq it saw. On
PostgreSQL plain sequence values commit out of order, so such a reader could skip a row
that commits late with a smaller number; these tests run real concurrent writers against a
tailing reader and check that it never happens here.
"""

from __future__ import annotations

import json
import random
import threading
import time

import pytest
from sqlalchemy import text

from store import BatchError, ChangeSource, SourceType, Store
from store.db.tx import Tx
from store.records.sql import create_records, purge_records
from tests.conftest import API

WRITERS = 4
TRANSACTIONS_PER_WRITER = 25


class _Boom(Exception):
    pass


def _rolled_back_after_journal(store: Store, email: str) -> None:
    """A write whose journal rows were appended, then the transaction rolled back."""

    def work(tx: Tx) -> None:
        create_records(tx, tx.object("contacts"), [{"email": email}])
        tx.flush_journal()
        raise _Boom

    with pytest.raises(_Boom):
        store._write(API, work)


def test_each_write_appends_its_rows_in_order_with_its_source(store: Store) -> None:
    sync = ChangeSource(SourceType.INTEGRATION, "shop-customers")
    contact = store.create_record("contacts", {"email": "a@example.com"}, sync)
    store.update_record("contacts", contact.id, {"firstname": "Ann"}, API)
    store.archive_records("contacts", [contact.id], API)
    store.restore_records("contacts", [contact.id], API)

    entries = store.read_journal()
    assert [(e.op, e.record_id) for e in entries] == [
        ("create", contact.id),
        ("update", contact.id),
        ("archive", contact.id),
        ("restore", contact.id),
    ]
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert (entries[0].source_type, entries[0].source_id) == (
        SourceType.INTEGRATION,
        "shop-customers",
    )
    assert entries[0].changes == {"email": [None, "a@example.com"]}
    assert entries[1].changes == {"firstname": [None, "Ann"]}
    assert (entries[1].source_type, entries[1].source_id) == (SourceType.API, "test-token")
    assert store.journal_head() == 4


def test_refused_and_rolled_back_writes_leave_no_rows_and_no_gap(store: Store) -> None:
    store.create_record("contacts", {"email": "first@example.com"}, API)
    with pytest.raises(BatchError):
        store.create_records(
            "contacts", [{"email": "ok@example.com"}, {"email": "not an email"}], API
        )
    _rolled_back_after_journal(store, "ghost@example.com")
    store.create_record("contacts", {"email": "second@example.com"}, API)

    entries = store.read_journal()
    assert [e.seq for e in entries] == [1, 2]
    emails = [e.changes["email"][1] for e in entries if e.changes]
    assert emails == ["first@example.com", "second@example.com"]


def test_reader_resuming_after_last_seq_sees_every_commit_exactly_once(store: Store) -> None:
    """Concurrent writers (some rolling back after appending) and one tailing reader."""
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []
    gaps: list[tuple[int, int]] = []

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            for i in range(TRANSACTIONS_PER_WRITER):
                roll = rng.random()
                if roll < 0.15:
                    _rolled_back_after_journal(store, f"ghost-{n}-{i}@example.com")
                elif roll < 0.25:
                    with pytest.raises(BatchError):
                        store.create_records(
                            "contacts",
                            [{"email": f"w{n}-{i}-ok@example.com"}, {"email": "broken"}],
                            API,
                        )
                else:
                    size = rng.randint(1, 20)
                    store.create_records(
                        "contacts",
                        [{"email": f"w{n}-{i}-{k}@example.com"} for k in range(size)],
                        API,
                    )
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        last = 0
        try:
            while True:
                finished = done.is_set()
                batch = store.read_journal(after=last, limit=200)
                for entry in batch:
                    if entry.seq != last + 1:
                        gaps.append((last, entry.seq))
                    last = entry.seq
                    seen.append(entry.seq)
                if finished and not batch:
                    return
                if not batch:
                    time.sleep(0.002)
        except BaseException as exc:
            errors.append(exc)

    tail = threading.Thread(target=reader)
    tail.start()
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    tail.join(timeout=60)

    assert not errors, errors
    assert not gaps, f"the reader jumped over seqs: {gaps[:5]}"
    head = store.journal_head()
    assert seen == list(range(1, head + 1))
    journal_emails = {e.changes["email"][1] for e in store.read_journal(limit=100_000) if e.changes}
    assert not any(email.startswith("ghost-") for email in journal_emails)
    assert not any(email.endswith("-ok@example.com") for email in journal_emails)
    stored = {r.properties["email"] for r in store.list_records("contacts", limit=10_000)}
    assert journal_emails == stored


def test_a_create_is_read_with_the_values_it_was_created_with(store: Store) -> None:
    """A create's values are written once, in its history row, and the journal reads them
    from there: the values as created, not as the record holds them after later writes."""
    sync = ChangeSource(SourceType.INTEGRATION, "shop-customers")
    created = store.create_records(
        "contacts",
        [{"email": "a@example.com", "firstname": "Ann"}, {"email": "b@example.com"}],
        sync,
    ).records
    store.update_record("contacts", created[0].id, {"firstname": "Annie"}, API)

    entries = store.read_journal()
    assert [(e.op, e.record_id, e.changes) for e in entries] == [
        ("create", created[0].id, {"email": [None, "a@example.com"], "firstname": [None, "Ann"]}),
        ("create", created[1].id, {"email": [None, "b@example.com"]}),
        ("update", created[0].id, {"firstname": ["Ann", "Annie"]}),
    ]
    with store._engine.connect() as conn:
        stored = conn.execute(
            text("SELECT op, changes FROM journal WHERE op = 'create' ORDER BY seq")
        ).all()
    # JSON null: SQLite's driver gives its text, PostgreSQL's the value.
    assert [json.loads(c) if isinstance(c, str) else c for _, c in stored] == [None, None]


def test_a_purged_records_create_is_read_without_its_values(store: Store) -> None:
    """A purge removes the record's history: its create stays in the journal, values gone."""
    kept, purged = store.create_records(
        "contacts", [{"email": "kept@example.com"}, {"email": "gone@example.com"}], API
    ).records

    def work(tx: Tx) -> None:
        purge_records(tx, tx.object("contacts"), [purged.id])

    store._write(API, work)

    creates = {e.record_id: e.changes for e in store.read_journal() if e.op == "create"}
    assert creates == {kept.id: {"email": [None, "kept@example.com"]}, purged.id: None}
