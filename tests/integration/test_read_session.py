"""A read scope (``store.db.session``): one caller's store calls on one connection, its reads
in one transaction ended by a write, so what the caller wrote is what it reads next."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event

from store import NotFoundError, Store, read_scope
from store.db.session import current_session
from tests.conftest import API


def _statements(store: Store, call: Callable[[], Any]) -> list[str]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store._engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(store._engine, "before_cursor_execute", count)
    return seen


def test_reads_in_a_session_share_one_transaction(store: Store) -> None:
    made = store.create_record("contacts", {"email": "one@session.org"}, API)
    store.get_object("contacts")  # definitions cached

    def three_reads() -> None:
        with read_scope():
            store.get_object("contacts")
            store.get_record("contacts", made.id)
            store.list_records("contacts")

    seen = _statements(store, three_reads)
    assert sum("catalog_version" in s for s in seen) == 1
    assert sum(s == "BEGIN" for s in seen) <= 1  # SQLite's; PostgreSQL's is the driver's


def test_a_write_in_a_scope_is_seen_by_the_next_read(store: Store, db_url: str) -> None:
    made = store.create_record("contacts", {"email": "two@session.org", "firstname": "A"}, API)
    other = Store.open(db_url, migrate=False)
    try:
        with read_scope():
            assert store.get_record("contacts", made.id).properties["firstname"] == "A"
            store.update_record("contacts", made.id, {"firstname": "B"}, API)
            assert store.get_record("contacts", made.id).properties["firstname"] == "B"
            other.update_record("contacts", made.id, {"firstname": "C"}, API)  # not in scope
            store.create_record("contacts", {"email": "three@session.org"}, API)
            assert store.get_record("contacts", made.id).properties["firstname"] == "C"
            session = current_session(store._engine)
            assert session is not None and session.holds_connection
        assert not session.holds_connection
    finally:
        other.close()


def test_a_read_that_fails_leaves_the_scope_usable(store: Store) -> None:
    with read_scope():
        with pytest.raises(NotFoundError):
            store.get_record("contacts", 999_999)
        with pytest.raises(NotFoundError):
            store.get_object("no_such_object")
        assert store.get_object("contacts").name == "contacts"
        made = store.create_record("contacts", {"email": "four@session.org"}, API)
        assert store.get_record("contacts", made.id).properties["email"] == "four@session.org"
