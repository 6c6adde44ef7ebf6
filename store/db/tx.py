"""One write transaction: its connection, clock, per-transaction caches and journal buffer.

Journal rows are buffered and appended last, just before commit. Their sequence numbers come
from the single ``journal_head`` row, whose row lock is then held only until that commit: so
sequence order is commit order and there are no gaps (a rolled-back transaction also rolls
back its increment). A reader that resumes after the last seq it saw can never skip a row
that commits later with a smaller seq, the trap of plain sequences on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from store.db import tables as t
from store.db.catalog import LoadedObject, catalog_changed, load_object
from store.models import ChangeSource

__all__ = ["Tx"]


class Tx:
    """The state one store write carries from its first statement to its commit."""

    def __init__(self, connection: Connection, source: ChangeSource, now: datetime) -> None:
        self.connection = connection
        self.source = source
        self.now = now
        self._objects: dict[str, LoadedObject] = {}
        self._journal: list[dict[str, Any]] = []
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
        self._journal.append(
            {
                "written_at": self.now,
                "object_type": object_name,
                "record_id": record_id,
                "op": op,
                "changes": changes,
                "source_type": src.type.value,
                "source_id": src.id,
            }
        )

    def touched(self) -> dict[str, set[int]]:
        """The records this transaction has journalled so far, by object name (not yet flushed).

        Calculated-property refreshes journal their changes too, so after
        ``refresh_calculated`` this is every record whose stored state changed.
        """
        out: dict[str, set[int]] = {}
        for row in self._journal:
            out.setdefault(row["object_type"], set()).add(row["record_id"])
        return out

    def journal_many(self, rows: Iterable[dict[str, Any]]) -> None:
        self._journal.extend(rows)

    def flush_journal(self) -> None:
        if not self._journal:
            return
        count = len(self._journal)
        last = self.connection.execute(
            update(t.journal_head)
            .where(t.journal_head.c.id == 1)
            .values(last_seq=t.journal_head.c.last_seq + count)
            .returning(t.journal_head.c.last_seq)
        ).scalar_one()
        first = last - count + 1
        for offset, row in enumerate(self._journal):
            row["seq"] = first + offset
        self.connection.execute(insert(t.journal), self._journal)
        self._journal = []
