"""The store facade's part for saved views, static and dynamic lists, and bulk edits.

Views and lists store their filters in HubSpot's ``filterGroups`` JSON, validated against
the object when saved (an unknown property is refused then, not when the view runs).
How dynamic membership is kept current is told in ``store.lists.sql``; ``docs/lists.md`` is the
user's view of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, true

from store.db import tables as t
from store.db.catalog import LoadedObject, catalog_changed, load_object
from store.db.part import FacadePart
from store.db.tx import Tx
from store.db.types import utcnow
from store.errors import NotFoundError, RecordWriteError, StoreError
from store.lists import sql as ops
from store.lists.sql import (
    DYNAMIC,
    MANUAL,
    PROCESSING_TYPES,
    BulkEditReport,
    CrmList,
    MembershipEvent,
    MembersPage,
    SavedView,
)
from store.models import ChangeSource, Record
from store.records import sql as record_sql
from store.search.filters import FilterGroup, Sort, parse_filter_groups, record_condition
from store.search.part import SearchPage, SearchPart

__all__ = [
    "BulkEditReport",
    "CrmList",
    "ListsPart",
    "MembersPage",
    "MembershipEvent",
    "SavedView",
]

_SHOWN_IDS = 10  # unknown ids named in an error before "and N more"
_MAX_IDS = 100_000  # ids in one add/remove


def _parsed(raw: object) -> tuple[FilterGroup, ...]:
    """Typed filter groups, or HubSpot's JSON shape parsed (and so validated)."""
    if isinstance(raw, list | tuple) and all(isinstance(g, FilterGroup) for g in raw) and raw:
        return tuple(raw)
    return parse_filter_groups(raw)


def _validated(
    conn: Connection, obj: LoadedObject, raw: object, *, allow_empty: bool = True
) -> list[dict[str, Any]]:
    """Filter groups checked against ``obj`` and returned in the stored JSON shape."""
    groups = _parsed(raw)
    if not groups and not allow_empty:
        raise StoreError("give a filter: this list is built from one")
    # Properties, operators and values, checked as a search would check them.
    record_condition(conn.dialect.name, obj, groups, now=utcnow())
    stored = ops.groups_to_json(groups)
    parse_filter_groups(stored)  # what is stored must read back
    return stored


def _view(row: Any, object_name: str) -> SavedView:
    return SavedView(
        object=object_name,
        name=row.name,
        filter_groups=tuple(row.filter_groups),
        sorts=tuple(row.sorts),
        columns=tuple(row.columns),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _size(conn: Connection, list_id: int) -> int:
    m, r = t.list_memberships, t.records
    return int(
        conn.execute(
            select(func.count())
            .select_from(m.join(r, r.c.id == m.c.record_id))
            .where(m.c.list_id == list_id, r.c.archived.is_(False))
        ).scalar_one()
    )


def _crm_list(conn: Connection, row: Any) -> CrmList:
    stored = row.filter_groups
    return CrmList(
        id=row.id,
        name=row.name,
        object=row.object_name,
        processing_type=row.processing_type,
        filter_groups=tuple(stored) if stored is not None else None,
        size=_size(conn, row.id),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _checked_ids(ids: Sequence[int]) -> list[int]:
    if len(ids) > _MAX_IDS:
        raise StoreError(f"at most {_MAX_IDS} ids at a time, got {len(ids)}")
    bad = [i for i in ids if not record_sql.is_record_id(i)]
    if bad:
        raise NotFoundError(f"not record ids: {_named(bad)}", ids=len(bad))
    return sorted(set(ids))


def _named(ids: Sequence[object]) -> str:
    shown = ", ".join(str(i) for i in ids[:_SHOWN_IDS])
    more = len(ids) - _SHOWN_IDS
    return shown + (f" (and {more} more)" if more > 0 else "")


class ListsPart(FacadePart):
    """Saved views, static and dynamic lists, and bulk edits of the records a filter finds."""

    # ------------------------------------------------------------ saved views

    def create_view(
        self,
        object_name: str,
        name: str,
        filter_groups: object = (),
        sorts: Sequence[Sort] = (),
        columns: Sequence[str] = (),
    ) -> SavedView:
        """Save a view; its filter, sort and column properties must exist on the object."""
        name = ops.check_name("view", name)

        def work(tx: Tx) -> SavedView:
            obj = tx.object(object_name)
            stored = _validated(tx.connection, obj, filter_groups)
            for s in sorts:
                obj.property(s.property)
            for column in columns:
                obj.property(column)
            sv = t.saved_views
            if tx.connection.execute(
                select(sv.c.id).where(sv.c.object_type_id == obj.id, sv.c.name == name)
            ).first():
                raise StoreError(f"{obj.name} already has a view named {name!r}")
            view = SavedView(
                object=obj.name,
                name=name,
                filter_groups=tuple(stored),
                sorts=tuple(ops.sorts_to_json(sorts)),
                columns=tuple(dict.fromkeys(columns)),
                created_at=tx.now,
                updated_at=tx.now,
            )
            tx.connection.execute(
                insert(sv).values(
                    object_type_id=obj.id,
                    name=name,
                    filter_groups=list(view.filter_groups),
                    sorts=list(view.sorts),
                    columns=list(view.columns),
                    created_at=tx.now,
                    updated_at=tx.now,
                )
            )
            return view

        return self._write(ChangeSource.cli(), work)

    def list_views(self, object_name: str | None = None) -> list[SavedView]:
        def work(conn: Connection) -> list[SavedView]:
            sv, ot = t.saved_views, t.object_types
            query = select(sv, ot.c.name.label("object_name")).join(
                ot, ot.c.id == sv.c.object_type_id
            )
            if object_name is not None:
                query = query.where(sv.c.object_type_id == load_object(conn, object_name).id)
            rows = conn.execute(query.order_by(ot.c.name, sv.c.name))
            return [_view(row, row.object_name) for row in rows]

        return self._read(work)

    def get_view(self, object_name: str, name: str) -> SavedView:
        def work(conn: Connection) -> SavedView:
            obj = load_object(conn, object_name)
            sv = t.saved_views
            row = conn.execute(
                select(sv).where(sv.c.object_type_id == obj.id, sv.c.name == name)
            ).first()
            if row is None:
                raise NotFoundError(f"{obj.name} has no view named {name!r}", view=name)
            return _view(row, obj.name)

        return self._read(work)

    def delete_view(self, object_name: str, name: str) -> None:
        def work(tx: Tx) -> None:
            obj = tx.object(object_name)
            sv = t.saved_views
            gone = tx.connection.execute(
                delete(sv).where(sv.c.object_type_id == obj.id, sv.c.name == name)
            ).rowcount
            if not gone:
                raise NotFoundError(f"{obj.name} has no view named {name!r}", view=name)

        self._write(ChangeSource.cli(), work)

    def run_view(
        self,
        object_name: str,
        name: str,
        *,
        limit: int = 100,
        after: str | None = None,
        now: datetime | None = None,
    ) -> SearchPage:
        """The view's search: its filter and sort, its columns as the properties returned."""
        view = self.get_view(object_name, name)
        assert isinstance(self, SearchPart)
        sorts = [Sort(s["propertyName"], s.get("direction") == "DESCENDING") for s in view.sorts]
        return self.search_records(
            view.object,
            filter_groups=parse_filter_groups(list(view.filter_groups)),
            sorts=sorts,
            properties=list(view.columns) or None,
            limit=limit,
            after=after,
            now=now,
        )

    # ------------------------------------------------------------ lists

    def create_list(
        self,
        name: str,
        object_name: str,
        processing_type: str = MANUAL,
        filter_groups: object = None,
        *,
        now: datetime | None = None,
    ) -> CrmList:
        """A MANUAL list starts empty; SNAPSHOT and DYNAMIC ones start with what matches."""
        name = ops.check_name("list", name)
        if processing_type not in PROCESSING_TYPES:
            raise StoreError(
                f"processing type {processing_type!r} unknown; use one of "
                + ", ".join(PROCESSING_TYPES)
            )

        def work(tx: Tx) -> CrmList:
            conn = tx.connection
            obj = tx.object(object_name)
            stored: list[dict[str, Any]] | None = None
            if processing_type == MANUAL:
                if filter_groups:
                    raise StoreError(
                        "a manual list takes no filter; make it --snapshot to seed it once "
                        "from the filter, or --dynamic to follow it"
                    )
            else:
                stored = _validated(conn, obj, filter_groups, allow_empty=False)
            if conn.execute(select(t.lists.c.id).where(t.lists.c.name == name)).first():
                raise StoreError(f"a list named {name!r} already exists")
            at = now or tx.now
            list_id = conn.execute(
                insert(t.lists)
                .values(
                    name=name,
                    object_type_id=obj.id,
                    processing_type=processing_type,
                    filter_groups=stored,
                    created_at=tx.now,
                    updated_at=tx.now,
                )
                .returning(t.lists.c.id)
            ).scalar_one()
            if processing_type == DYNAMIC:
                catalog_changed(conn)  # writes find their dynamic lists by the version
            if stored is not None:
                condition = ops.condition_for(conn, obj, stored, at)
                ops.apply_diff(conn, list_id, ops.live_matching(conn, obj, condition), (), at)
            return _crm_list(conn, ops.list_row(conn, name))

        return self._write(ChangeSource.cli(), work)

    def get_list(self, name: str) -> CrmList:
        return self._read(lambda c: _crm_list(c, ops.list_row(c, name)))

    def list_lists(self) -> list[CrmList]:
        def work(conn: Connection) -> list[CrmList]:
            lst, ot = t.lists, t.object_types
            rows = conn.execute(
                select(lst, ot.c.name.label("object_name"))
                .join(ot, ot.c.id == lst.c.object_type_id)
                .order_by(lst.c.name)
            )
            return [_crm_list(conn, row) for row in rows]

        return self._read(work)

    def delete_list(self, name: str) -> None:
        def work(tx: Tx) -> None:
            conn = tx.connection
            row = ops.list_row(conn, name, lock=True)
            list_id = row["id"]
            if row["processing_type"] == DYNAMIC:
                catalog_changed(conn)
            conn.execute(
                delete(t.list_membership_events).where(
                    t.list_membership_events.c.list_id == list_id
                )
            )
            conn.execute(delete(t.list_memberships).where(t.list_memberships.c.list_id == list_id))
            conn.execute(delete(t.lists).where(t.lists.c.id == list_id))

        self._write(ChangeSource.cli(), work)

    def add_to_list(self, name: str, ids: Sequence[int]) -> int:
        """Add records by id to a static list; all must be live records of its object.

        Returns how many joined (ids already members are left as they are)."""
        wanted = _checked_ids(ids)

        def work(tx: Tx) -> int:
            conn = tx.connection
            row = self._static(conn, name, "add to")
            obj = tx.object(row["object_name"])
            live = ops.live_matching(conn, obj, true(), wanted)
            missing = [i for i in wanted if i not in live]
            if missing:
                raise NotFoundError(
                    f"no live {obj.name} records {_named(missing)}; nothing added",
                    object=obj.name,
                    missing=len(missing),
                )
            new = live - ops.member_ids(conn, row["id"], wanted)
            return ops.apply_diff(conn, row["id"], new, (), tx.now)[0]

        return self._write(ChangeSource.cli(), work)

    def add_matching_to_list(
        self, name: str, filter_groups: object, *, now: datetime | None = None
    ) -> int:
        """Add every live record the filter finds to a static list; returns how many joined."""

        def work(tx: Tx) -> int:
            conn = tx.connection
            row = self._static(conn, name, "add to")
            obj = tx.object(row["object_name"])
            stored = _validated(conn, obj, filter_groups, allow_empty=False)
            at = now or tx.now
            found = ops.live_matching(conn, obj, ops.condition_for(conn, obj, stored, at))
            new = found - ops.member_ids(conn, row["id"])
            return ops.apply_diff(conn, row["id"], new, (), tx.now)[0]

        return self._write(ChangeSource.cli(), work)

    def remove_from_list(self, name: str, ids: Sequence[int]) -> int:
        """Remove records by id from a static list; every id must be a member."""
        wanted = _checked_ids(ids)

        def work(tx: Tx) -> int:
            conn = tx.connection
            row = self._static(conn, name, "remove from")
            members = ops.member_ids(conn, row["id"], wanted)
            missing = [i for i in wanted if i not in members]
            if missing:
                raise NotFoundError(
                    f"not members of list {name!r}: {_named(missing)}; nothing removed",
                    list=name,
                    missing=len(missing),
                )
            return ops.apply_diff(conn, row["id"], (), members, tx.now)[1]

        return self._write(ChangeSource.cli(), work)

    @staticmethod
    def _static(conn: Connection, name: str, verb: str) -> Any:
        row = ops.list_row(conn, name, lock=True)
        if row["processing_type"] == DYNAMIC:
            raise StoreError(
                f"list {name!r} is dynamic: its filter decides its members, so you cannot "
                f"{verb} it by hand; make a static list (MANUAL or --snapshot) instead",
                list=name,
            )
        return row

    def list_members(
        self,
        name: str,
        *,
        limit: int = 100,
        after: int = 0,
        now: datetime | None = None,
    ) -> MembersPage:
        """A page of live members in id order; a dynamic list is reconciled first as of
        ``now``, recording any drift (a relative date that passed) at that time."""

        def work(tx: Tx) -> MembersPage:
            conn = tx.connection
            row = ops.list_row(conn, name, lock=True)
            obj = tx.object(row["object_name"])
            if row["processing_type"] == DYNAMIC:
                ops.reconcile(conn, row["id"], obj, row["filter_groups"], now or tx.now)
            m, r = t.list_memberships, t.records
            size = max(1, min(limit, 10_000))
            rows = (
                conn.execute(
                    select(r)
                    .join(m, m.c.record_id == r.c.id)
                    .where(m.c.list_id == row["id"], r.c.archived.is_(False), r.c.id > after)
                    .order_by(r.c.id)
                    .limit(size + 1)
                )
                .mappings()
                .all()
            )
            records: list[Record] = [record_sql.record_from_row(obj, x) for x in rows[:size]]
            more = len(rows) > size
            return MembersPage(records, records[-1].id if more else None)

        return self._write(ChangeSource.cli(), work)

    def list_history(self, name: str, *, limit: int = 1000) -> list[MembershipEvent]:
        """Membership changes, newest first."""

        def work(conn: Connection) -> list[MembershipEvent]:
            list_id = ops.list_row(conn, name)["id"]
            e = t.list_membership_events
            rows = conn.execute(
                select(e.c.record_id, e.c.change, e.c.at)
                .where(e.c.list_id == list_id)
                .order_by(e.c.id.desc())
                .limit(max(1, limit))
            )
            return [MembershipEvent(x.record_id, x.change, x.at) for x in rows]

        return self._read(work)

    # ------------------------------------------------------------ bulk edits

    def bulk_update(
        self,
        object_name: str,
        filter_groups: Sequence[FilterGroup],
        properties: Mapping[str, object],
        source: ChangeSource,
        *,
        batch: int = 500,
        now: datetime | None = None,
        examples: int = 5,
    ) -> BulkEditReport:
        """Set ``properties`` on every record the filter finds, ``batch`` records per write.

        The matching ids are taken first, so records the edit makes (un)match are not
        chased. A record refused (a bad value, a duplicate) stops nothing else: it is
        counted, and the first ``examples`` are reported with their error.
        """
        if not properties:
            raise StoreError("nothing to change: give at least one property")

        def matching(conn: Connection) -> tuple[LoadedObject, list[int]]:
            obj = load_object(conn, object_name)
            for prop in properties:
                obj.property(prop)
            condition = record_condition(
                conn.dialect.name, obj, tuple(filter_groups), now=now or utcnow()
            )
            return obj, sorted(ops.live_matching(conn, obj, condition))

        obj, ids = self._read(matching)
        updated = unchanged = 0
        failures: list[tuple[int, Exception]] = []
        for start in range(0, len(ids), max(1, batch)):
            chunk = ids[start : start + max(1, batch)]

            def work(tx: Tx, chunk: list[int] = chunk) -> tuple[int, int, list[Any]]:
                outcomes = record_sql.update_records(
                    tx, tx.object(obj.name), [(i, properties) for i in chunk], source
                )
                done = [o for o in outcomes if not isinstance(o, RecordWriteError)]
                changed = sum(1 for o in done if o.updated_at == tx.now)
                failed = [
                    (rid, o)
                    for rid, o in zip(chunk, outcomes, strict=True)
                    if isinstance(o, RecordWriteError)
                ]
                return changed, len(done) - changed, failed

            changed, same, failed = self._write(source, work)
            updated += changed
            unchanged += same
            failures.extend(failed)
        return BulkEditReport(
            matched=len(ids),
            updated=updated,
            unchanged=unchanged,
            failed=len(failures),
            failures=tuple(failures[: max(0, examples)]),
        )
