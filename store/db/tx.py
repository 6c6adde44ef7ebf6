"""One write transaction: its connection, clock, per-transaction caches and journal buffer.

Journal rows are buffered (their changes already JSON) and appended last, just before commit,
in one statement. Their sequence numbers are dense and in commit order, so a reader that
resumes after the last seq it saw can never skip a row that commits later with a smaller
seq, the trap of plain sequences on PostgreSQL:

- PostgreSQL: from the single ``journal_head`` row, raised by the number of rows in the same
  statement that inserts them (a CTE); its row lock is held until commit, so journal appends
  commit one at a time in seq order, and a rolled-back transaction rolls back its increment.
- SQLite: a write holds the database's one write lock from its ``BEGIN IMMEDIATE`` to its
  commit, so the journal's own largest seq, read by each inserted row, is that counter
  already; ``journal_head`` is not kept there (``last_seq`` reads the journal on both).
  The same statement checks the catalogue version a write took cached definitions under
  (``store.db.catalog.defer_check``): its rows are inserted only at that version.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from store.db import bulk, jsoncodec, unread
from store.db import tables as t
from store.db.catalog import (
    CatalogMoved,
    LoadedObject,
    catalog_changed,
    check_deferred,
    deferred_version,
    load_object,
)
from store.models import ChangeSource

__all__ = ["JournalRow", "Tx", "last_seq"]

# (object type, record id, op, changes as JSON text, source type, source id)
JournalRow = tuple[str, int, str, str, str, str | None]
_JOURNAL_COLUMNS = ("object_type", "record_id", "op", "changes", "source_type", "source_id")


def last_seq(conn: Connection) -> int:
    """The seq of the last committed journal row (0 for none): the journal's head."""
    return int(conn.execute(select(func.coalesce(func.max(t.journal.c.seq), 0))).scalar_one())


class Tx:
    """The state one store write carries from its first statement to its commit."""

    def __init__(self, connection: Connection, source: ChangeSource, now: datetime) -> None:
        self.connection = connection
        self.source = source
        self.now = now
        self._objects: dict[str, LoadedObject] = {}
        self._journal: list[JournalRow] = []
        # Records whose calculated properties (counts, last activity) may have changed.
        self.dirty: set[int] = set()
        # Who holds unique values this transaction has already looked up:
        # (object type id, property, value key) -> record id, or None when free. Valid
        # until this transaction writes unique values again (``forget_unique``), so a
        # create right after a look-up by the same keys needs no second query.
        self.unique_known: dict[tuple[int, str, str], int | None] = {}
        # Records this transaction created: nothing outside it can refer to them yet.
        self.created: set[int] = set()

    def object(self, name: str, *, include_archived: bool = False) -> LoadedObject:
        cached = self._objects.get(name)
        if cached is None:
            cached = load_object(self.connection, name, include_archived=include_archived)
            self._objects[name] = cached
            self._objects[cached.name] = cached
            self._objects[cached.schema.type_id] = cached
        return cached

    def forget_objects(self) -> None:
        """This transaction changed a definition: drop what it cached and bump the catalogue
        version, so every process loads definitions again once it commits."""
        catalog_changed(self.connection)
        self._objects.clear()
        self.unique_known.clear()

    def forget_unique(self) -> None:
        """This transaction changed ``unique_values``: what it looked up there is stale."""
        self.unique_known.clear()

    def journal(
        self,
        object_name: str,
        record_id: int,
        op: str,
        changes: dict[str, Any] | None = None,
        source: ChangeSource | None = None,
    ) -> None:
        src = source or self.source
        # None is stored as JSON null, as SQLAlchemy's JSON type always stored it.
        encoded = jsoncodec.dumps(changes)
        self._journal.append((object_name, record_id, op, encoded, src.type.value, src.id))

    def journal_many(self, rows: Iterable[JournalRow]) -> None:
        """Rows whose changes the caller encoded already (a batch of creates or updates)."""
        self._journal.extend(rows)

    def touched(self) -> dict[str, set[int]]:
        """The records this transaction has journalled so far, by object name (not yet flushed).

        Calculated-property refreshes journal their changes too, so after
        ``refresh_calculated`` this is every record whose stored state changed.
        """
        out: dict[str, set[int]] = {}
        for row in self._journal:
            out.setdefault(row[0], set()).add(row[1])
        return out

    def flush_journal(self) -> None:
        """Append the buffered rows in one statement, numbered after the journal's head."""
        if not self._journal:
            return
        conn, rows = self.connection, self._journal
        now = bulk.bound(conn, t.journal.c.written_at, self.now)
        names = ", ".join(("seq", "written_at", *_JOURNAL_COLUMNS))
        if conn.dialect.name == "postgresql":
            source, arrays = bulk.unnest(conn, t.journal, _JOURNAL_COLUMNS, rows)
            aliases = ", ".join(f"u.{name}" for name in _JOURNAL_COLUMNS)
            unread.send(
                conn,
                "WITH head AS (UPDATE journal_head SET last_seq = last_seq + %s WHERE id = 1 "
                f"RETURNING last_seq) INSERT INTO journal ({names}) "
                f"SELECT head.last_seq - %s + u.n, %s::timestamptz, {aliases} "
                f"FROM head, {source} WITH ORDINALITY AS u({', '.join(_JOURNAL_COLUMNS)}, n)",
                (len(rows), len(rows), now, *arrays),
            )
        elif (taken := deferred_version(conn)) is None:
            conn.exec_driver_sql(
                f"INSERT INTO journal ({names}) VALUES "
                "((SELECT coalesce(max(seq), 0) + 1 FROM journal), ?, ?, ?, ?, ?, ?, ?)",
                [(now, *row) for row in rows],
            )
        else:
            # Inserted only at the catalogue version the write took its definitions under.
            inserted = conn.exec_driver_sql(
                f"INSERT INTO journal ({names}) "
                "SELECT (SELECT coalesce(max(seq), 0) + 1 FROM journal), ?, ?, ?, ?, ?, ?, ? "
                "FROM catalog_version WHERE id = 1 AND version = ?",
                [(now, *row, taken) for row in rows],
            ).rowcount
            if inserted != len(rows):
                raise CatalogMoved
            check_deferred(conn, taken)
        self._journal = []

    def check_catalog(self) -> None:
        """Before commit: the catalogue version this write took cached definitions under
        unchecked is still the database's (usually checked by the journal's statement)."""
        check_deferred(self.connection)
