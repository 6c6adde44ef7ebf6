"""The store facade's part for records: create, update, upsert, archive, restore, merge, read.

Each method is one transaction (``FacadePart._write``) that ends, as every write does, with
calculated properties refreshed and the journal appended. A batch either commits whole
(``atomic``) or commits its valid records and reports the others by index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select

from store.db import tables as t
from store.db.catalog import LoadedObject, load_object
from store.db.part import FacadePart
from store.db.tx import Tx
from store.errors import BatchError, RecordWriteError
from store.models import (
    BatchFailure,
    BatchResult,
    ChangeSource,
    HistoryEntry,
    Record,
    SourceType,
)
from store.records import sql as record_sql

__all__ = ["RecordsPart"]


class RecordsPart(FacadePart):
    """Records of any object, one at a time or in batches, and their property history."""

    def create_record(
        self,
        object_name: str,
        properties: Mapping[str, object],
        source: ChangeSource,
        *,
        associations: Sequence[tuple[str, int, str | None]] = (),
    ) -> Record:
        """One record, optionally with associations (object, id, label) made in the same write."""

        def work(tx: Tx) -> Record:
            obj = tx.object(object_name)
            outcome = record_sql.create_records(tx, obj, [properties], source)[0]
            if isinstance(outcome, RecordWriteError):
                raise outcome
            for to_object, to_id, label in associations:
                self._associate(tx, obj, outcome.id, tx.object(to_object), to_id, label)
            return self._refreshed(tx, obj, outcome.id) if associations else outcome

        return self._write(source, work)

    def create_records(
        self,
        object_name: str,
        inputs: Sequence[Mapping[str, object]],
        source: ChangeSource,
        *,
        atomic: bool = True,
    ) -> BatchResult:
        """Many records in one transaction; atomic: all or nothing, else the valid ones."""
        return self._batch(
            source,
            atomic,
            lambda tx: [
                (o, True)
                for o in record_sql.create_records(tx, tx.object(object_name), inputs, source)
            ],
        )

    def update_record(
        self,
        object_name: str,
        record_id: int,
        properties: Mapping[str, object],
        source: ChangeSource,
    ) -> Record:
        result = self.update_records(object_name, [(record_id, properties)], source)
        return result.records[0]

    def update_records(
        self,
        object_name: str,
        updates: Sequence[tuple[int, Mapping[str, object]]],
        source: ChangeSource,
        *,
        atomic: bool = True,
    ) -> BatchResult:
        return self._batch(
            source,
            atomic,
            lambda tx: [
                (o, False)
                for o in record_sql.update_records(tx, tx.object(object_name), updates, source)
            ],
        )

    def upsert_records(
        self,
        object_name: str,
        id_property: str,
        inputs: Sequence[tuple[object, Mapping[str, object]]],
        source: ChangeSource,
        *,
        atomic: bool = True,
    ) -> BatchResult:
        """Update by a unique property (or ``hs_object_id``), creating what is not there."""
        return self._batch(
            source,
            atomic,
            lambda tx: record_sql.upsert_records(
                tx, tx.object(object_name), id_property, inputs, source
            ),
        )

    def _batch(
        self,
        source: ChangeSource,
        atomic: bool,
        work: Callable[[Tx], list[tuple[record_sql.Outcome, bool]]],
    ) -> BatchResult:
        def run(tx: Tx) -> BatchResult:
            outcomes = work(tx)
            failures = [
                BatchFailure(i, o)
                for i, (o, _) in enumerate(outcomes)
                if isinstance(o, RecordWriteError)
            ]
            if atomic and failures:
                if len(outcomes) == 1:
                    raise failures[0].error
                raise BatchError([(f.index, f.error) for f in failures])
            records = [o for o, _ in outcomes if isinstance(o, Record)]
            created = frozenset(o.id for o, new in outcomes if isinstance(o, Record) and new)
            return BatchResult(records=records, failures=failures, created=created)

        return self._write(source, run)

    def archive_records(self, object_name: str, ids: Sequence[int], source: ChangeSource) -> None:
        def work(tx: Tx) -> None:
            outcomes = record_sql.archive_records(tx, tx.object(object_name), ids)
            for outcome in outcomes:
                if isinstance(outcome, RecordWriteError):
                    raise outcome

        self._write(source, work)

    def restore_records(
        self, object_name: str, ids: Sequence[int], source: ChangeSource
    ) -> list[Record]:
        def work(tx: Tx) -> list[Record]:
            outcomes = record_sql.restore_records(tx, tx.object(object_name), ids)
            for outcome in outcomes:
                if isinstance(outcome, RecordWriteError):
                    raise outcome
            return [o for o in outcomes if isinstance(o, Record)]

        return self._write(source, work)

    def merge_records(
        self, object_name: str, winner_id: int, loser_id: int, source: ChangeSource
    ) -> Record:
        def work(tx: Tx) -> Record:
            obj = tx.object(object_name)
            merged = record_sql.merge_records(tx, obj, winner_id, loser_id)
            return self._refreshed(tx, obj, merged.id)

        return self._write(source, work)

    def get_record(
        self, object_name: str, record_id: int, *, include_archived: bool = False
    ) -> Record:
        """A record by id; a merged-away id gives the record it was merged into."""

        def work(conn: Any) -> Record:
            obj = load_object(conn, object_name)
            found = record_sql.read_records(
                conn, obj, [record_id], include_archived=include_archived
            )
            if record_id not in found:
                raise record_sql.record_not_found(obj, record_id)
            return found[record_id]

        return self._read(work)

    def get_records(
        self, object_name: str, ids: Sequence[int], *, include_archived: bool = False
    ) -> dict[int, Record]:
        return self._read(
            lambda c: record_sql.read_records(
                c, load_object(c, object_name), ids, include_archived=include_archived
            )
        )

    def find_record(self, object_name: str, property_name: str, value: object) -> Record:
        """The live record whose unique property holds ``value`` (email, domain, ...)."""

        def work(conn: Any) -> Record:
            obj = load_object(conn, object_name)
            record_id = record_sql.find_by_unique(conn, obj, property_name, value)
            return record_sql.read_records(conn, obj, [record_id])[record_id]

        return self._read(work)

    def list_records(
        self, object_name: str, *, after: int = 0, limit: int = 100, archived: bool = False
    ) -> list[Record]:
        """A page of records in id order, starting after ``after``."""

        def work(conn: Any) -> list[Record]:
            obj = load_object(conn, object_name)
            rows = conn.execute(
                select(t.records)
                .where(
                    t.records.c.object_type_id == obj.id,
                    t.records.c.archived.is_(archived),
                    t.records.c.id > after,
                    t.records.c.merged_into_id.is_(None),
                )
                .order_by(t.records.c.id)
                .limit(max(1, min(limit, 10_000)))
            ).mappings()
            return [record_sql.record_from_row(obj, r) for r in rows]

        return self._read(work)

    def property_history(
        self, object_name: str, record_id: int, property_name: str | None = None
    ) -> list[HistoryEntry]:
        """Every value the record's properties had, newest first."""

        def work(conn: Any) -> list[HistoryEntry]:
            obj = load_object(conn, object_name)
            if property_name is not None:
                obj.property(property_name)
            if (
                not record_sql.is_record_id(record_id)
                or not conn.execute(
                    select(t.records.c.id).where(
                        t.records.c.id == record_id, t.records.c.object_type_id == obj.id
                    )
                ).first()
            ):
                raise record_sql.record_not_found(obj, record_id)
            h = t.property_history
            entries = []
            for row in conn.execute(
                select(h).where(h.c.record_id == record_id).order_by(h.c.id.desc())
            ):
                for name, value in row.changes.items():
                    if property_name is None or name == property_name:
                        entries.append(
                            HistoryEntry(
                                name,
                                value,
                                row.changed_at,
                                SourceType(row.source_type),
                                row.source_id,
                            )
                        )
            return entries

        return self._read(work)

    def _refreshed(self, tx: Tx, obj: LoadedObject, record_id: int) -> Record:
        """The record as it will commit: its calculated properties brought up to date first."""
        self._refresh_calculated(tx)
        return record_sql.read_records(tx.connection, obj, [record_id])[record_id]
