"""The record store's one entry point: every CRM operation, in domain terms.

Nothing outside ``store/`` sees a connection or a row. Every write runs in one transaction
(``BEGIN IMMEDIATE`` on SQLite) that ends with calculated properties refreshed and the
journal appended; a write that collides with a concurrent writer on a unique value is run
again once, and then finds the winner and reports a ``DuplicateError`` naming it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError

from store.activities.part import ActivitiesPart
from store.associations import calculated
from store.associations import sql as association_sql
from store.associations.part import AssociationsPart
from store.csv.part import ImportsPart
from store.db import tables as t
from store.db.catalog import LoadedObject, load_object, load_objects
from store.db.engine import WRITE, make_engine, redact_url
from store.db.migrate import current_revision, head_revision, upgrade
from store.db.tx import Tx
from store.db.types import utcnow
from store.errors import BatchError, NotMigratedError, RecordWriteError, StoreError
from store.inbox.part import InboxPart
from store.lists import sql as lists_sql
from store.lists.part import ListsPart
from store.models import (
    Association,
    AssociationLabel,
    BatchFailure,
    BatchResult,
    ChangeSource,
    GroupSpec,
    HistoryEntry,
    JournalEntry,
    ObjectSchema,
    ObjectSpec,
    PropertyDef,
    PropertySpec,
    PropertyUpdateReport,
    Record,
    SourceType,
)
from store.overview.part import OverviewPart
from store.records import sql as record_sql
from store.schema import sql as schema_sql
from store.schema.part import SchemaPart
from store.search.part import SearchPart
from store.sync import leases as lease_sql
from store.sync.leases import Fence
from store.sync.part import SyncPart
from store.tokens.part import TokensPart

__all__ = ["Store"]

T = TypeVar("T")
_UNIQUE_RETRIES = 3


class Store(
    SearchPart,
    ListsPart,
    ImportsPart,
    ActivitiesPart,
    SyncPart,
    InboxPart,
    OverviewPart,
    TokensPart,
    SchemaPart,
    AssociationsPart,
):
    """The CRM record store on one database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._fence: Fence | None = None

    def fenced(self, fence: Fence) -> Store:
        """This store, with every write first proving ``fence`` still holds its sync's lease.

        The check runs inside each write transaction, under the lease row's lock: a process
        that lost its lease (paused past the expiry, partitioned) has its transaction refused
        with ``LeaseLostError`` instead of committing beside the new holder. The view shares
        this store's engine: close the store, not the view.
        """
        view = copy.copy(self)
        view._fence = fence
        return view

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Open the store at ``url``; bring its schema up to date first unless told not to."""
        engine = make_engine(url)
        store = cls(engine)
        try:
            if migrate:
                # At head already: skip Alembic, which costs more than the command itself.
                # A catalogue change therefore ships with a migration (an empty one will do).
                if current_revision(engine) != head_revision():
                    upgrade(engine)
            else:
                store.check_migrated()
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(
                f"cannot reach the database {redact_url(url)}: {exc.orig or exc}".splitlines()[0]
            ) from None
        except BaseException:
            engine.dispose()
            raise
        return store

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def upgrade(self) -> None:
        upgrade(self._engine)

    def check_migrated(self) -> None:
        current, head = current_revision(self._engine), head_revision()
        if current != head:
            raise NotMigratedError(
                f"the database schema is at {current or 'nothing'}, this syncd needs {head}; "
                "run `syncd db upgrade`"
            )

    def _write(self, source: ChangeSource, work: Callable[[Tx], T]) -> T:
        for attempt in range(_UNIQUE_RETRIES):
            try:
                with self._engine.connect().execution_options(**{WRITE: True}) as conn:
                    with conn.begin():
                        tx = Tx(conn, source, utcnow())
                        if self._fence is not None:
                            lease_sql.check(conn, self._fence, tx.now)
                        result = work(tx)
                        calculated.refresh_calculated(tx)
                        lists_sql.maintain_dynamic_lists(tx)
                        tx.flush_journal()
                    return result
            except IntegrityError as exc:
                # A concurrent writer took a unique value between our check and our insert;
                # running again sees its commit and reports the duplicate properly.
                if attempt + 1 < _UNIQUE_RETRIES and "unique_values" in str(exc.orig or exc):
                    continue
                raise StoreError(f"the database refused the write: {exc.orig or exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, work: Callable[[Any], T]) -> T:
        with self._engine.connect() as conn, conn.begin():
            return work(conn)

    def _object(self, name: str) -> LoadedObject:
        return self._read(lambda conn: load_object(conn, name))

    # ------------------------------------------------------------ objects

    def list_objects(self, *, include_archived: bool = False) -> list[ObjectSchema]:
        return [
            o.schema
            for o in self._read(lambda c: load_objects(c, include_archived=include_archived))
        ]

    def get_object(self, name: str, *, include_archived: bool = False) -> ObjectSchema:
        return self._read(lambda c: load_object(c, name, include_archived=include_archived)).schema

    def create_object(self, spec: ObjectSpec, source: ChangeSource | None = None) -> ObjectSchema:
        def work(tx: Tx) -> ObjectSchema:
            schema_sql.create_object(tx, spec)
            return tx.object(spec.name).schema

        return self._write(source or ChangeSource.cli(), work)

    def update_object(self, name: str, changes: Mapping[str, Any]) -> ObjectSchema:
        def work(tx: Tx) -> ObjectSchema:
            schema_sql.update_object(tx, name, dict(changes))
            return tx.object(name).schema

        return self._write(ChangeSource.cli(), work)

    def archive_object(self, name: str) -> None:
        self._write(ChangeSource.cli(), lambda tx: schema_sql.archive_object(tx, name))

    # ------------------------------------------------------------ properties

    def list_properties(
        self, object_name: str, *, include_archived: bool = False
    ) -> list[PropertyDef]:
        obj = self._object(object_name)
        source = obj.all_properties if include_archived else obj.properties
        return list(source.values())

    def get_property(self, object_name: str, name: str) -> PropertyDef:
        return self._object(object_name).property(name)

    def create_property(self, object_name: str, spec: PropertySpec) -> PropertyDef:
        def work(tx: Tx) -> PropertyDef:
            schema_sql.create_property(tx, object_name, spec)
            return tx.object(object_name).property(spec.name)

        return self._write(ChangeSource.cli(), work)

    def update_property(
        self, object_name: str, name: str, changes: Mapping[str, Any]
    ) -> PropertyUpdateReport:
        return self._write(
            ChangeSource.cli(),
            lambda tx: schema_sql.update_property(tx, object_name, name, dict(changes)),
        )

    def archive_property(self, object_name: str, name: str) -> None:
        self._write(
            ChangeSource.cli(), lambda tx: schema_sql.archive_property(tx, object_name, name)
        )

    def restore_property(self, object_name: str, name: str) -> PropertyDef:
        def work(tx: Tx) -> PropertyDef:
            schema_sql.restore_property(tx, object_name, name)
            return tx.object(object_name).property(name)

        return self._write(ChangeSource.cli(), work)

    def create_group(self, object_name: str, spec: GroupSpec) -> None:
        self._write(ChangeSource.cli(), lambda tx: schema_sql.create_group(tx, object_name, spec))

    # ------------------------------------------------------------ records

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
            return _refreshed(tx, obj, outcome.id) if associations else outcome

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
            return _refreshed(tx, obj, merged.id)

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

    # ------------------------------------------------------------ associations

    def list_labels(self, from_object: str, to_object: str) -> list[AssociationLabel]:
        return self._read(
            lambda c: association_sql.list_labels(
                c, load_object(c, from_object), load_object(c, to_object)
            )
        )

    def create_label(
        self, from_object: str, to_object: str, label: str, inverse: str | None = None
    ) -> list[AssociationLabel]:
        return self._write(
            ChangeSource.cli(),
            lambda tx: association_sql.create_label(
                tx, tx.object(from_object), tx.object(to_object), label, inverse
            ),
        )

    def associate(
        self,
        from_object: str,
        from_id: int,
        to_object: str,
        to_id: int,
        source: ChangeSource,
        *,
        label: str | None = None,
    ) -> AssociationLabel:
        return self._write(
            source,
            lambda tx: self._associate(
                tx, tx.object(from_object), from_id, tx.object(to_object), to_id, label
            ),
        )

    @staticmethod
    def _associate(
        tx: Tx, a: LoadedObject, a_id: int, b: LoadedObject, b_id: int, label: str | None
    ) -> AssociationLabel:
        chosen = association_sql.associate(tx, a, a_id, b, b_id, label)
        if a.schema.activity and b.name == "contacts":
            calculated.link_activity_to_primary_company(tx, a, a_id, b_id)
        elif b.schema.activity and a.name == "contacts":
            calculated.link_activity_to_primary_company(tx, b, b_id, a_id)
        return chosen

    def dissociate(
        self,
        from_object: str,
        from_id: int,
        to_object: str,
        to_id: int,
        source: ChangeSource,
        *,
        label: str | None = None,
    ) -> int:
        """Remove one label, or all links between the two records; returns rows removed."""
        return self._write(
            source,
            lambda tx: association_sql.dissociate(
                tx, tx.object(from_object), from_id, tx.object(to_object), to_id, label
            ),
        )

    def list_associations(
        self, object_name: str, record_id: int, to_object: str | None = None
    ) -> list[Association]:
        """A record's associations with live records; NotFoundError when ``record_id`` is not
        a record of ``object_name`` (ids are unique across objects: another object's record
        of that id is not this one)."""

        def work(conn: Any) -> list[Association]:
            obj = load_object(conn, object_name)
            to = load_object(conn, to_object) if to_object else None
            if record_id not in record_sql.read_records(
                conn, obj, [record_id], include_archived=True
            ):
                raise record_sql.record_not_found(obj, record_id)
            return association_sql.list_associations(conn, obj, record_id, to)

        return self._read(work)

    # ------------------------------------------------------------ journal

    def read_journal(self, after: int = 0, limit: int = 1000) -> list[JournalEntry]:
        """Committed changes with ``seq > after``, in commit order."""
        return self._journal(after, limit, merge_changes_only=False)

    def journal_head(self) -> int:
        return int(self._read(lambda c: c.execute(select(t.journal_head.c.last_seq)).scalar_one()))


def _refreshed(tx: Tx, obj: LoadedObject, record_id: int) -> Record:
    """The record as it will commit: its calculated properties brought up to date first."""
    calculated.refresh_calculated(tx)
    return record_sql.read_records(tx.connection, obj, [record_id])[record_id]
