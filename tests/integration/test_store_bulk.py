"""The batch writers (``store/db/bulk.py``) store what SQLAlchemy's executemany stored.

They skip SQLAlchemy's per-row value conversion: the caller encodes JSON and converts
timestamps itself. Compared here on random rows (unicode, None, timestamps in other zones,
upserts over existing rows) with the general path on the same inputs, and record writes
checked against a model of what each create and update must leave behind.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from store import ChangeSource, SourceType, Store
from store.db import tables as t
from store.sync.models import LinkWrite
from store.sync.rows import upsert_into
from store.sync.tx import SyncTx

SEEDS = range(4)
_ALPHABET = "abcXYZ019 -_.@éüß漢字😀\u2603\"'\\/"


def _text(rng: random.Random, size: int = 12) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, size)))


def _when(rng: random.Random) -> datetime | None:
    if rng.random() < 0.2:
        return None
    zone = timezone(timedelta(minutes=rng.choice([-480, -30, 0, 60, 330])))
    moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**8))
    return moment.replace(microsecond=rng.randint(0, 999_999)).astimezone(zone)


def _links(rng: random.Random, ids: list[str]) -> list[LinkWrite]:
    crm_ids = rng.sample(range(1, 10**6), len(ids))
    return [
        LinkWrite(
            external_id,
            crm_id,
            {_text(rng, 6): rng.choice([None, _text(rng)]) for _ in range(rng.randint(0, 5))},
            _when(rng),
            rng.choice([None, _text(rng)]),
        )
        for external_id, crm_id in zip(ids, crm_ids, strict=True)
    ]


def _general_save(tx: SyncTx, sync: str, links: list[LinkWrite]) -> None:
    """``save_links`` as it was: SQLAlchemy's upsert, values converted per row by it."""
    sl = t.sync_links
    conn = tx._tx.connection
    statement = upsert_into(conn, sl)
    statement = statement.on_conflict_do_update(
        index_elements=[sl.c.sync, sl.c.external_id],
        set_={
            name: statement.excluded[name]
            for name in (
                "crm_object",
                "crm_id",
                "base",
                "external_updated_at",
                "external_version",
                "updated_at",
            )
        },
    )
    conn.execute(
        statement,
        [
            {
                "sync": sync,
                "external_id": link.external_id,
                "crm_object": "contacts",
                "crm_id": link.crm_id,
                "base": dict(link.base),
                "external_updated_at": link.external_updated_at,
                "external_version": link.external_version,
                "created_at": tx.now,
                "updated_at": tx.now,
            }
            for link in links
        ],
    )


def _stored(store: Store, sync: str) -> list[dict[str, Any]]:
    sl = t.sync_links
    with store._engine.connect() as conn:
        rows = conn.execute(select(sl).where(sl.c.sync == sync).order_by(sl.c.external_id))
        return [{k: v for k, v in row._mapping.items() if k != "sync"} for row in rows]


@pytest.mark.parametrize("seed", SEEDS)
def test_links_stored_by_the_batch_writer_equal_the_general_paths(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    ids = sorted({_text(rng, 30) for _ in range(60)})
    first = _links(rng, ids)
    # The second round replaces half of them (an upsert) and adds new ones.
    again = _links(rng, rng.sample(ids, len(ids) // 2) + [f"new-{i}" for i in range(10)])
    for links in (first, again):

        def write_fast(tx: SyncTx, links: list[LinkWrite] = links) -> None:
            tx.save_links("contacts", links)

        def write_general(tx: SyncTx, links: list[LinkWrite] = links) -> None:
            _general_save(tx, "general", links)

        store.sync_write("bulk", write_fast)
        store.sync_write("general", write_general)
    bulk, general = _stored(store, "bulk"), _stored(store, "general")
    for row in bulk + general:  # one clock per transaction: compare the shape, not the instant
        row["created_at"] = row["updated_at"] = None
    assert bulk == general


@pytest.mark.parametrize("seed", SEEDS)
def test_record_writes_leave_what_each_create_and_update_asked_for(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    source = ChangeSource(SourceType.INTEGRATION, f"seed-{seed}")
    names = ["firstname", "lastname", "city", "jobtitle", "company", "address"]
    inputs = [
        {"email": f"p{i}-{seed}@example.com"}
        | {n: _text(rng) for n in rng.sample(names, rng.randint(0, len(names)))}
        for i in range(40)
    ]
    created = store.create_records("contacts", inputs, source).records
    model = {r.id: dict(inputs[i]) for i, r in enumerate(created)}
    journal = store.read_journal()
    assert [(e.op, e.record_id) for e in journal] == [("create", r.id) for r in created]
    for entry, given in zip(journal, inputs, strict=True):
        assert entry.changes == {k: [None, v] for k, v in given.items()}
    updates = []
    for record_id in rng.sample(sorted(model), 25):
        change: dict[str, str | None] = {
            n: rng.choice([None, _text(rng)]) for n in rng.sample(names, rng.randint(1, 4))
        }
        updates.append((record_id, change))
    head = store.journal_head()
    store.update_records("contacts", updates, source)
    expected_journal = []
    for record_id, change in updates:
        before = model[record_id]
        real = {k: v for k, v in change.items() if before.get(k) != v}
        if real:
            expected_journal.append((record_id, {k: [before.get(k), v] for k, v in real.items()}))
        after = {**before, **real}
        model[record_id] = {k: v for k, v in after.items() if v is not None}
    assert [(e.record_id, e.changes) for e in store.read_journal(head)] == expected_journal
    for record_id, expected in model.items():
        props = store.get_record("contacts", record_id).properties
        assert {k: props.get(k) for k in [*names, "email"] if props.get(k)} == expected
        history = store.property_history("contacts", record_id)
        latest: dict[str, str | None] = {}
        for version in reversed(history):  # oldest first
            latest[version.property] = version.value
        assert {k: v for k, v in latest.items() if v is not None} == expected
