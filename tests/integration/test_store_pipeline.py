"""Statements sent without waiting (``store/db/pipeline.py``) keep the write transaction's
promises: a later read in the transaction sees them, an error in one is raised from the
write (and a unique value taken concurrently is still retried), and nothing of a write that
failed is committed. On SQLite the same writes run as before: the assertions hold there too.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from store import ChangeSource, Store, StoreError
from store.db import bulk
from store.db import tables as t
from store.db.tx import Tx

_UV = ("object_type_id", "property_name", "value_key", "record_id")
SOURCE = ChangeSource.cli()


def _contacts(store: Store) -> tuple[int, list[int]]:
    """The contacts object's id and four contacts' ids (unique values name a record)."""
    made = store.create_records("contacts", [{"firstname": f"n{n}"} for n in range(4)], SOURCE)
    ids = [record.id for record in made.records]

    def work(tx: Tx) -> int:
        return int(
            tx.connection.execute(
                select(t.object_types.c.id).where(t.object_types.c.name == "contacts")
            ).scalar_one()
        )

    return store._write(SOURCE, work), ids


def _values(store: Store) -> list[tuple[Any, ...]]:
    with store._engine.connect() as conn:
        rows = conn.execute(
            select(t.unique_values.c.value_key, t.unique_values.c.record_id).where(
                t.unique_values.c.property_name == "pipeline_test"
            )
        )
        return sorted(tuple(row) for row in rows)


def test_a_read_after_unawaited_writes_sees_them_in_order(store: Store) -> None:
    oid, ids = _contacts(store)

    def work(tx: Tx) -> list[tuple[Any, ...]]:
        conn = tx.connection
        for n in range(3):
            bulk.insert_rows(conn, t.unique_values, _UV, [(oid, "pipeline_test", f"k{n}", ids[n])])
        if conn.dialect.name == "postgresql":  # sent, not waited for
            driver: Any = conn.connection.driver_connection
            assert driver.pgconn.pipeline_status
        return sorted(
            tuple(row)
            for row in conn.execute(
                select(t.unique_values.c.value_key, t.unique_values.c.record_id).where(
                    t.unique_values.c.property_name == "pipeline_test"
                )
            )
        )

    seen = store._write(SOURCE, work)

    assert seen == [("k0", ids[0]), ("k1", ids[1]), ("k2", ids[2])]
    assert _values(store) == seen


@pytest.mark.parametrize("then_read", [False, True], ids=["at-the-end", "at-a-read"])
def test_an_error_in_an_unawaited_write_fails_the_write_and_commits_nothing(
    store: Store, then_read: bool
) -> None:
    oid, ids = _contacts(store)
    reached: list[str] = []

    def work(tx: Tx) -> None:
        conn = tx.connection
        bulk.insert_rows(conn, t.unique_values, _UV, [(oid, "pipeline_test", "a", ids[0])])
        bulk.insert_rows(conn, t.unique_values, _UV, [(oid, "pipeline_test", "a", ids[1])])
        bulk.insert_rows(conn, t.unique_values, _UV, [(oid, "pipeline_test", "b", ids[2])])
        if then_read:
            conn.execute(select(t.object_types.c.id)).all()
            reached.append("read")  # never: the read waits for the failed insert

    with pytest.raises(StoreError, match="unique"):
        store._write(SOURCE, work)

    assert reached == []
    assert _values(store) == []
    # The connection went back to the pool usable: the next write commits.
    store._write(
        SOURCE,
        lambda tx: bulk.insert_rows(
            tx.connection, t.unique_values, _UV, [(oid, "pipeline_test", "c", ids[3])]
        ),
    )
    assert _values(store) == [("c", ids[3])]


def test_an_error_elsewhere_rolls_back_the_unawaited_writes(store: Store) -> None:
    oid, ids = _contacts(store)

    def work(tx: Tx) -> None:
        bulk.insert_rows(tx.connection, t.unique_values, _UV, [(oid, "pipeline_test", "a", ids[0])])
        raise RuntimeError("the engine failed after sending it")

    with pytest.raises(RuntimeError, match="engine failed"):
        store._write(SOURCE, work)

    assert _values(store) == []
