"""Saved views and lists, in SQL: their values, their rows and list membership upkeep.

A list is MANUAL (static, edited by hand), SNAPSHOT (static, seeded once from its filter)
or DYNAMIC (its membership follows its filter). Dynamic membership is kept in two places:

- on every write, for the records that write touched (``maintain_dynamic_lists``, called
  by ``Store._write`` after calculated properties are refreshed), and
- on every read of the members (``reconcile``), because a relative-date filter
  ("created more than 30 days ago") changes with the clock while no record does.

Each membership change is a ``list_membership_events`` row with its time, so a list's
history can be replayed. Archived records leave dynamic lists (and come back when restored,
if they still match); static lists keep them as members but do not show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, and_, delete, insert, select, true

from store.db import tables as t
from store.db.catalog import LoadedObject, cached_with_catalog
from store.db.tx import Tx
from store.errors import NotFoundError, StoreError
from store.models import Record
from store.search.filters import Filter, FilterGroup, Sort, parse_filter_groups, record_condition
from syncd.errors import SyncdError

__all__ = [
    "MANUAL",
    "PROCESSING_TYPES",
    "BulkEditReport",
    "CrmList",
    "MembersPage",
    "MembershipEvent",
    "SavedView",
    "apply_diff",
    "check_name",
    "groups_to_json",
    "live_matching",
    "maintain_dynamic_lists",
    "member_ids",
    "reconcile",
    "sorts_to_json",
]

MANUAL, SNAPSHOT, DYNAMIC = "MANUAL", "SNAPSHOT", "DYNAMIC"
PROCESSING_TYPES = (MANUAL, SNAPSHOT, DYNAMIC)
MAX_NAME = 200  # the width of the name columns
_CHUNK = 1000


@dataclass(frozen=True)
class SavedView:
    """A named way to look at one object's records: filter, sort and the columns shown."""

    object: str
    name: str
    filter_groups: tuple[dict[str, Any], ...]  # HubSpot's filterGroups shape
    sorts: tuple[dict[str, Any], ...]  # HubSpot's sorts shape: propertyName, direction
    columns: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CrmList:
    """A list of records of one object; ``size`` counts its live members."""

    id: int
    name: str
    object: str
    processing_type: str
    filter_groups: tuple[dict[str, Any], ...] | None
    size: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MembershipEvent:
    """A record joining (``added``) or leaving (``removed``) a list, and when."""

    record_id: int
    change: str
    at: datetime


@dataclass(frozen=True)
class MembersPage:
    """Members in id order; ``next_after`` is the id to pass as ``after`` for more."""

    records: list[Record]
    next_after: int | None


@dataclass(frozen=True)
class BulkEditReport:
    """What a bulk edit did; ``failures`` holds the first few (record id, error)."""

    matched: int
    updated: int
    unchanged: int
    failed: int
    failures: tuple[tuple[int, Exception], ...]


def check_name(kind: str, name: object) -> str:
    """A view or list name: text, not blank, at most ``MAX_NAME`` characters; stripped."""
    if not isinstance(name, str) or not name.strip():
        raise StoreError(f"a {kind} needs a name that is not blank")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise StoreError(f"a {kind} name is at most {MAX_NAME} characters, got {len(name)}")
    if any(ord(c) < 32 for c in name):
        raise StoreError(f"a {kind} name cannot hold control characters: {name!r}")
    return name


def _filter_json(f: Filter) -> dict[str, Any]:
    out: dict[str, Any] = {"propertyName": f.property, "operator": f.operator}
    if f.value is not None:
        out["value"] = f.value
    if f.values:
        out["values"] = list(f.values)
    if f.high_value is not None:
        out["highValue"] = f.high_value
    return out


def groups_to_json(groups: Sequence[FilterGroup]) -> list[dict[str, Any]]:
    """Filter groups in HubSpot's ``filterGroups`` JSON shape (what views and lists store)."""
    return [{"filters": [_filter_json(f) for f in g.filters]} for g in groups]


def sorts_to_json(sorts: Sequence[Sort]) -> list[dict[str, Any]]:
    return [
        {"propertyName": s.property, "direction": "DESCENDING" if s.descending else "ASCENDING"}
        for s in sorts
    ]


def _chunks(items: Sequence[int], size: int = _CHUNK) -> list[Sequence[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def live_matching(
    conn: Connection,
    obj: LoadedObject,
    condition: ColumnElement[bool],
    ids: Sequence[int] | None = None,
) -> set[int]:
    """Ids of live records of ``obj`` meeting ``condition`` (only among ``ids`` if given)."""
    r = t.records
    base = and_(
        r.c.object_type_id == obj.id,
        r.c.archived.is_(False),
        r.c.merged_into_id.is_(None),
        condition,
    )
    if ids is None:
        return set(conn.scalars(select(r.c.id).where(base)))
    found: set[int] = set()
    for chunk in _chunks(sorted(set(ids))):
        found.update(conn.scalars(select(r.c.id).where(base, r.c.id.in_(chunk))))
    return found


def member_ids(conn: Connection, list_id: int, ids: Sequence[int] | None = None) -> set[int]:
    """The list's member ids (archived records included), or those among ``ids``."""
    m = t.list_memberships
    if ids is None:
        return set(conn.scalars(select(m.c.record_id).where(m.c.list_id == list_id)))
    found: set[int] = set()
    for chunk in _chunks(sorted(set(ids))):
        found.update(
            conn.scalars(
                select(m.c.record_id).where(m.c.list_id == list_id, m.c.record_id.in_(chunk))
            )
        )
    return found


def apply_diff(
    conn: Connection, list_id: int, add: Iterable[int], remove: Iterable[int], at: datetime
) -> tuple[int, int]:
    """Add and remove members, recording each change at ``at``; returns (added, removed)."""
    added, removed = sorted(set(add)), sorted(set(remove))
    m, e = t.list_memberships, t.list_membership_events
    for chunk in _chunks(added):
        conn.execute(
            insert(m), [{"list_id": list_id, "record_id": rid, "added_at": at} for rid in chunk]
        )
    for chunk in _chunks(removed):
        conn.execute(delete(m).where(m.c.list_id == list_id, m.c.record_id.in_(chunk)))
    events = [
        *({"list_id": list_id, "record_id": rid, "change": "added", "at": at} for rid in added),
        *({"list_id": list_id, "record_id": rid, "change": "removed", "at": at} for rid in removed),
    ]
    for start in range(0, len(events), _CHUNK):
        conn.execute(insert(e), events[start : start + _CHUNK])
    if added or removed:
        conn.execute(t.lists.update().where(t.lists.c.id == list_id).values(updated_at=at))
    return len(added), len(removed)


def condition_for(
    conn: Connection, obj: LoadedObject, stored: object, now: datetime
) -> ColumnElement[bool]:
    """The SQL condition of a stored filterGroups value (none stored: every record)."""
    if stored is None:
        return true()
    groups = parse_filter_groups(stored)
    return record_condition(conn.dialect.name, obj, groups, now=now)


def reconcile(
    conn: Connection, list_id: int, obj: LoadedObject, stored: object, now: datetime
) -> tuple[int, int]:
    """Bring a dynamic list's whole membership in line with its filter as of ``now``."""
    matching = live_matching(conn, obj, condition_for(conn, obj, stored, now))
    current = member_ids(conn, list_id)
    return apply_diff(conn, list_id, matching - current, current - matching, now)


def maintain_dynamic_lists(tx: Tx) -> None:
    """Re-evaluate every dynamic list for the records this transaction touched.

    A list whose filter no longer compiles (a property it names was archived) is left as
    it is rather than failing every write to its object; reading its members reports why.
    """
    touched = tx.touched()
    if not touched:
        return
    conn = tx.connection
    lst, ot = t.lists, t.object_types
    # Which objects have a dynamic list changes only with the catalogue version (creating or
    # deleting one bumps it), so most writes know there is none without asking.
    having = cached_with_catalog(conn, "dynamic_lists", lambda: _objects_with_dynamic_lists(conn))
    if having.isdisjoint(touched):
        return
    rows = conn.execute(
        select(lst.c.id, lst.c.filter_groups, ot.c.name)
        .join(ot, ot.c.id == lst.c.object_type_id)
        .where(lst.c.processing_type == DYNAMIC, ot.c.name.in_(sorted(touched)))
        .order_by(lst.c.id)
        .with_for_update(of=lst)  # one membership writer per list at a time (PostgreSQL)
    ).all()
    for list_id, stored, object_name in rows:
        obj = tx.object(object_name)
        try:
            condition = condition_for(conn, obj, stored, tx.now)
        except SyncdError:
            continue
        ids = sorted(touched[object_name])
        matching = live_matching(conn, obj, condition, ids)
        current = member_ids(conn, list_id, ids)
        apply_diff(conn, list_id, matching - current, current - matching, tx.now)


def _objects_with_dynamic_lists(conn: Connection) -> frozenset[str]:
    lst, ot = t.lists, t.object_types
    return frozenset(
        conn.execute(
            select(ot.c.name)
            .join(lst, lst.c.object_type_id == ot.c.id)
            .where(lst.c.processing_type == DYNAMIC)
            .distinct()
        ).scalars()
    )


def list_row(conn: Connection, name: str, *, lock: bool = False) -> RowMapping:
    """The ``lists`` row named ``name`` with its object's name, or a NotFoundError.

    ``lock``: held until commit, so two writers of one list's membership (a write keeping
    it current, a read reconciling it, a hand edit) take turns instead of colliding.
    """
    lst, ot = t.lists, t.object_types
    query = (
        select(lst, ot.c.name.label("object_name"))
        .join(ot, ot.c.id == lst.c.object_type_id)
        .where(lst.c.name == name)
    )
    if lock:
        query = query.with_for_update(of=lst)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFoundError(f"no list named {name!r}", list=name)
    return row
