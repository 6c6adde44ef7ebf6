"""The sync engine's state in SQL: links, sync state, runs, log rows and conflicts.

Every function takes many keys and issues one statement per chunk of at most ``CHUNK`` keys
(an IN list that size stays well inside both databases' parameter limits), so a batch of
500 external records costs a handful of round trips, never one per record. They run on the
connection of the caller's transaction: ``SyncTx`` (one write with the CRM records) or a
short ``SyncPart`` transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from store.db import tables as t
from store.db.catalog import LoadedObject
from store.db.chunks import chunks
from store.errors import LinkConflictError, NotFoundError, StoreError, ValidationError
from store.models import Association, AssociationLabel, Record
from store.records.sql import is_record_id, record_from_row
from store.search.filters import index_expression
from store.sync.models import (
    ConflictRecord,
    ConflictSpec,
    Link,
    LinkWrite,
    LogAction,
    LogDirection,
    LogSpec,
    SyncLogEntry,
    SyncRun,
    SyncState,
)
from store.values import unique_key

__all__ = [
    "CHUNK",
    "RUN_STATUSES",
    "add_conflicts",
    "associations_of",
    "changed_at",
    "check_status",
    "check_sync_name",
    "conflict_from_row",
    "conflicts_for",
    "delete_links",
    "find_by_property",
    "get_conflict",
    "link_from_row",
    "links_by_crm",
    "links_by_external",
    "log_from_row",
    "read_records_as_stored",
    "read_state",
    "relink",
    "resolve_conflict",
    "run_from_row",
    "save_links",
    "supersede_conflicts",
    "upsert_state",
    "write_log",
]

CHUNK = 500
RUN_STATUSES = ("running", "ok", "failed", "paused", "dry_run")
_MAX_SYNC_NAME = 200  # the width of the sync and source_id columns
_MAX_EXTERNAL_ID = 400


def check_sync_name(sync: object) -> str:
    """Refused here, before any statement, so a bad name fails the same on both databases."""
    if not isinstance(sync, str) or not sync.strip() or len(sync) > _MAX_SYNC_NAME:
        raise StoreError(f"a sync name is 1 to {_MAX_SYNC_NAME} characters of text, got {sync!r}")
    return sync


def _upsert(conn: Connection, table: Table) -> Any:
    """An INSERT that can take ``on_conflict_do_update`` on either database."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _allocate_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """Ids for ``count`` new rows in one statement, so the insert can be one executemany.

    INSERT ... RETURNING in input order is one statement per row on SQLite. SQLite writes
    hold the database's write lock (BEGIN IMMEDIATE), so max(id) cannot move under us;
    PostgreSQL hands out the sequence's next values.
    """
    if conn.dialect.name == "postgresql":
        return sorted(
            conn.scalars(
                text(
                    f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": count},
            )
        )
    top = conn.execute(select(func.max(table.c.id))).scalar()
    first = int(top or 0) + 1
    return list(range(first, first + count))


# ---------------------------------------------------------------- links


def link_from_row(row: Mapping[Any, Any]) -> Link:
    return Link(
        sync=row["sync"],
        external_id=row["external_id"],
        crm_object=row["crm_object"],
        crm_id=row["crm_id"],
        base=dict(row["base"]),
        external_updated_at=row["external_updated_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        external_version=row["external_version"],
    )


def _links_by(conn: Connection, sync: str, column: str, keys: Sequence[Any]) -> dict[Any, Link]:
    """The sync's links whose ``column`` is one of ``keys``, keyed by it in key order: a query
    per chunk (ordered, so callers see the same order on both databases, whatever order an
    update left the rows in)."""
    sl = t.sync_links
    found: dict[Any, Link] = {}
    for chunk in chunks(sorted(set(keys)), CHUNK):
        for row in conn.execute(
            select(sl).where(sl.c.sync == sync, sl.c[column].in_(chunk)).order_by(sl.c[column])
        ).mappings():
            found[row[column]] = link_from_row(row)
    return found


def links_by_external(conn: Connection, sync: str, external_ids: Sequence[str]) -> dict[str, Link]:
    return _links_by(conn, sync, "external_id", external_ids)


def links_by_crm(conn: Connection, sync: str, crm_ids: Sequence[int]) -> dict[int, Link]:
    return _links_by(conn, sync, "crm_id", crm_ids)


def save_links(
    conn: Connection,
    sync: str,
    crm_object: str,
    links: Sequence[LinkWrite],
    now: datetime,
    *,
    fresh: Collection[int] = (),
) -> None:
    """Create or replace links by (sync, external id); a replaced link keeps its created_at.

    Checked before writing, so a refusal leaves the transaction usable (PostgreSQL aborts a
    transaction on a constraint violation): a CRM record may hold one link per sync, and a
    link moves to another CRM record only if that one holds none. ``fresh`` CRM ids are
    records the caller's transaction created, which no stored link can name yet: the
    database is not asked about them.
    """
    if not links:
        return
    by_external: dict[str, LinkWrite] = {}
    by_crm: dict[int, str] = {}
    for link in links:
        if (
            not isinstance(link.external_id, str)
            or not 0 < len(link.external_id) <= _MAX_EXTERNAL_ID
        ):
            raise StoreError(
                f"sync {sync!r}: an external id is 1 to {_MAX_EXTERNAL_ID} characters, "
                f"got {link.external_id!r}"
            )
        if link.external_id in by_external:
            raise StoreError(
                f"sync {sync!r}: external record {link.external_id!r} appears twice in one "
                "save_links call; pass each link once"
            )
        other = by_crm.get(link.crm_id)
        if other is not None:
            raise LinkConflictError(sync, link.crm_id, other, link.external_id)
        by_external[link.external_id] = link
        by_crm[link.crm_id] = link.external_id
    stored = [crm_id for crm_id in by_crm if crm_id not in fresh]
    for crm_id, held in links_by_crm(conn, sync, stored).items():
        if held.external_id != by_crm[crm_id]:
            raise LinkConflictError(sync, crm_id, held.external_id, by_crm[crm_id])
    sl = t.sync_links
    statement = _upsert(conn, sl)
    statement = statement.on_conflict_do_update(
        index_elements=[sl.c.sync, sl.c.external_id],
        set_={
            "crm_object": statement.excluded.crm_object,
            "crm_id": statement.excluded.crm_id,
            "base": statement.excluded.base,
            "external_updated_at": statement.excluded.external_updated_at,
            "external_version": statement.excluded.external_version,
            "updated_at": statement.excluded.updated_at,
        },
    )
    conn.execute(
        statement,
        [
            {
                "sync": sync,
                "external_id": link.external_id,
                "crm_object": crm_object,
                "crm_id": link.crm_id,
                "base": dict(link.base),
                "external_updated_at": link.external_updated_at,
                "external_version": _version(link.external_version),
                "created_at": now,
                "updated_at": now,
            }
            for link in links
        ],
    )


def _version(version: str | None) -> str | None:
    """A version too long to keep is not kept: comparing it would be a guess."""
    return version if version is not None and len(version) <= _MAX_EXTERNAL_ID else None


def delete_links(conn: Connection, sync: str, external_ids: Sequence[str]) -> None:
    sl = t.sync_links
    for chunk in chunks(sorted(set(external_ids)), CHUNK):
        conn.execute(delete(sl).where(sl.c.sync == sync, sl.c.external_id.in_(chunk)))


def relink(conn: Connection, sync: str, from_crm_id: int, to_crm_id: int, now: datetime) -> None:
    """Move the merged-away record's link to the record it was merged into."""
    if from_crm_id == to_crm_id:
        return
    found = links_by_crm(conn, sync, [from_crm_id, to_crm_id])
    moving, held = found.get(from_crm_id), found.get(to_crm_id)
    if moving is None:
        return
    if held is not None:
        raise LinkConflictError(sync, to_crm_id, held.external_id, moving.external_id)
    sl = t.sync_links
    conn.execute(
        update(sl)
        .where(sl.c.sync == sync, sl.c.crm_id == from_crm_id)
        .values(crm_id=to_crm_id, updated_at=now)
    )


# ---------------------------------------------------------------- state and runs


def read_state(conn: Connection, sync: str) -> SyncState:
    row = conn.execute(select(t.sync_states).where(t.sync_states.c.sync == sync)).mappings().first()
    if row is None:
        return SyncState(sync)
    return SyncState(
        sync=row["sync"],
        cursor=row["cursor"],
        journal_position=row["journal_position"],
        paused=row["paused"],
        paused_reason=row["paused_reason"],
        last_run_at=row["last_run_at"],
        updated_at=row["updated_at"],
        fields=None if row["fields"] is None else list(row["fields"]),
    )


def upsert_state(conn: Connection, sync: str, now: datetime, values: Mapping[str, Any]) -> None:
    """Set some columns of the sync's state row, creating it with defaults if need be."""
    st = t.sync_states
    row = {
        "sync": sync,
        "cursor": None,
        "journal_position": 0,
        "paused": False,
        "paused_reason": None,
        "last_run_at": None,
        "fields": None,
        "updated_at": now,
        **values,
    }
    statement = _upsert(conn, st)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[st.c.sync], set_={**values, "updated_at": now}
        ),
        row,
    )


def run_from_row(row: Mapping[Any, Any]) -> SyncRun:
    return SyncRun(
        id=row["id"],
        sync=row["sync"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        status=row["status"],
        summary=dict(row["summary"] or {}),
    )


def check_status(status: str) -> str:
    if status not in RUN_STATUSES:
        raise StoreError(f"run status {status!r} unknown; use one of {', '.join(RUN_STATUSES)}")
    return status


# ---------------------------------------------------------------- log


def write_log(
    conn: Connection,
    sync: str,
    run_id: int | None,
    at: datetime,
    crm_object: str,
    entries: Sequence[LogSpec],
) -> None:
    if not entries:
        return
    rows = [
        {
            "sync": sync,
            "run_id": run_id,
            "at": at,
            "crm_object": crm_object,
            "crm_id": e.crm_id,
            "external_id": e.external_id,
            "direction": LogDirection(e.direction).value,
            "action": LogAction(e.action).value,
            "changes": e.changes,
            "message": e.message,
            "level": e.level,
        }
        for e in entries
    ]
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(t.sync_log), rows[start : start + CHUNK])


def log_from_row(row: Mapping[Any, Any]) -> SyncLogEntry:
    return SyncLogEntry(
        id=row["id"],
        sync=row["sync"],
        run_id=row["run_id"],
        at=row["at"],
        crm_object=row["crm_object"],
        crm_id=row["crm_id"],
        external_id=row["external_id"],
        direction=LogDirection(row["direction"]),
        action=LogAction(row["action"]),
        changes=row["changes"],
        message=row["message"],
        level=row["level"],
    )


# ---------------------------------------------------------------- conflicts


def conflict_from_row(row: Mapping[Any, Any]) -> ConflictRecord:
    return ConflictRecord(
        **{name: row[name] for name in _CONFLICT_COLUMNS},
    )


_CONFLICT_COLUMNS = tuple(c.name for c in t.sync_conflicts.columns)


def add_conflicts(
    conn: Connection,
    sync: str,
    run_id: int | None,
    crm_object: str,
    conflicts: Sequence[ConflictSpec],
    now: datetime,
) -> list[int]:
    """Store conflicts; their ids, in input order."""
    if not conflicts:
        return []
    ids = _allocate_ids(conn, t.sync_conflicts, len(conflicts))
    rows = [
        {
            "id": conflict_id,
            "sync": sync,
            "run_id": run_id,
            "crm_object": crm_object,
            "crm_id": c.crm_id,
            "external_id": c.external_id,
            "field": c.field,
            "rule": c.rule,
            "base": c.base,
            "has_base": c.has_base,
            "crm_value": c.crm_value,
            "external_value": c.external_value,
            "winner": c.winner,
            "loser_value": c.loser_value,
            "loser_changed_at": c.loser_changed_at,
            "open": c.open,
            "reason": c.reason,
            "created_at": now,
            "resolved_at": None,
            "resolution": None,
            "resolved_value": None,
        }
        for conflict_id, c in zip(ids, conflicts, strict=True)
    ]
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(t.sync_conflicts), rows[start : start + CHUNK])
    return ids


def get_conflict(conn: Connection, conflict_id: int, *, lock: bool = False) -> ConflictRecord:
    sc = t.sync_conflicts
    query = select(sc).where(sc.c.id == conflict_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first() if _is_id(conflict_id) else None
    if row is None:
        raise NotFoundError(
            f"no sync conflict {conflict_id}; `syncd conflicts list` lists them",
            conflict_id=conflict_id,
        )
    return conflict_from_row(row)


def conflicts_for(conn: Connection, sync: str, crm_ids: Sequence[int]) -> list[ConflictRecord]:
    """Unresolved conflicts recorded for these records (open or settled by a rule)."""
    sc = t.sync_conflicts
    out: list[ConflictRecord] = []
    for part in chunks(sorted(set(crm_ids)), CHUNK):
        rows = conn.execute(
            select(sc)
            .where(sc.c.sync == sync, sc.c.crm_id.in_(part), sc.c.resolved_at.is_(None))
            .order_by(sc.c.id)
        ).mappings()
        out.extend(conflict_from_row(row) for row in rows)
    return out


def supersede_conflicts(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    """Close open conflicts whose values have since changed: a newer one replaces each."""
    sc = t.sync_conflicts
    for part in chunks(sorted(set(ids)), CHUNK):
        conn.execute(
            update(sc)
            .where(sc.c.id.in_(part), sc.c.open.is_(True))
            .values(open=False, resolved_at=now, resolution="superseded")
        )


def resolve_conflict(
    conn: Connection, conflict_id: int, resolution: str, value: str | None, now: datetime
) -> ConflictRecord:
    """Close an open conflict with how it was settled; a closed one stays as it was."""
    found = get_conflict(conn, conflict_id, lock=True)
    if not found.open:
        how = (
            f"was already resolved ({found.resolution}) at {found.resolved_at:%Y-%m-%d %H:%M} UTC"
            if found.resolved_at is not None
            else f"is not open: rule {found.rule} settled it when it was recorded"
        )
        raise StoreError(f"sync conflict {conflict_id} {how}; nothing changed")
    if not isinstance(resolution, str) or not 0 < len(resolution) <= 50:
        raise StoreError(f"a conflict resolution is 1 to 50 characters, got {resolution!r}")
    sc = t.sync_conflicts
    conn.execute(
        update(sc)
        .where(sc.c.id == conflict_id)
        .values(open=False, resolved_at=now, resolution=resolution, resolved_value=value)
    )
    return get_conflict(conn, conflict_id)


def _is_id(value: object) -> bool:
    return type(value) is int and 0 < value < 2**63


# ---------------------------------------------------------------- records, as the engine sees them


def read_records_as_stored(
    conn: Connection, obj: LoadedObject, ids: Sequence[int], *, include_archived: bool = False
) -> dict[int, Record]:
    """Records by id without following merges: a merged-away id answers with itself.

    The engine must see that a linked record was archived or merged (``archived``,
    ``merged_into``) to move or drop its link, where a person wants the winner.
    """
    r = t.records
    found: dict[int, Record] = {}
    for chunk in chunks(sorted({i for i in ids if is_record_id(i)}), CHUNK):
        query = select(r).where(r.c.id.in_(chunk), r.c.object_type_id == obj.id)
        if not include_archived:
            query = query.where(r.c.archived.is_(False))
        for row in conn.execute(query).mappings():
            found[row["id"]] = record_from_row(obj, row)
    return found


def find_by_property(
    conn: Connection,
    obj: LoadedObject,
    name: str,
    values: Sequence[str],
    *,
    known: dict[tuple[int, str, str], int | None] | None = None,
) -> dict[str, Record]:
    """Live records whose property ``name`` holds one of ``values``, keyed by the value asked.

    A unique property matches as the store dedupes (email case-insensitively, domains
    normalised), through ``unique_values``; any other matches exactly, and when several
    records hold the value the oldest (lowest id) answers. ``known`` (the transaction's
    ``Tx.unique_known``) learns who holds each unique key asked, so that creating records
    with those values next needs no second look-up.
    """
    prop = obj.property(name)
    wanted = sorted({v for v in values if v is not None})
    for value in wanted:
        if not isinstance(value, str):
            raise ValidationError(obj.name, name, value, "look-up values are canonical text")
    r = t.records
    found: dict[str, Record] = {}
    if prop.unique:
        asked: dict[str, list[str]] = {}
        for value in wanted:
            asked.setdefault(unique_key(prop, value), []).append(value)
        uv = t.unique_values
        holders: dict[str, int] = {}
        for chunk in chunks(sorted(asked), CHUNK):
            # Archived holders are read too (and skipped below): ``known`` must see every
            # unique_values row, live record or not.
            for row in conn.execute(
                select(r, uv.c.value_key)
                .join(uv, uv.c.record_id == r.c.id)
                .where(
                    uv.c.object_type_id == obj.id,
                    uv.c.property_name == name,
                    uv.c.value_key.in_(chunk),
                )
            ).mappings():
                holders[row["value_key"]] = row["id"]
                if row["archived"]:
                    continue
                record = record_from_row(obj, row)
                for value in asked[row["value_key"]]:
                    found[value] = record
        if known is not None:
            known.update(((obj.id, name, key), holders.get(key)) for key in asked)
        return found
    # The expression migration 0003 indexes for the most searched properties; strings are
    # compared lower-cased by the database on both sides, then exactly here.
    expression: ColumnElement[Any] = literal_column(
        index_expression(conn.dialect.name, prop.type, name)
    )
    folded = prop.type == "string"
    for chunk in chunks(wanted, CHUNK):
        keys = [func.lower(literal(v)) if folded else literal(v) for v in chunk]
        rows = conn.execute(
            select(r)
            .where(
                r.c.object_type_id == obj.id,
                r.c.archived.is_(False),
                r.c.merged_into_id.is_(None),
                expression.in_(keys),
            )
            .order_by(r.c.id)
        ).mappings()
        asked_here = set(chunk)
        for row in rows:
            value = row["properties"].get(name)
            if value in asked_here and value not in found:
                found[value] = record_from_row(obj, row)
    return found


def changed_at(
    conn: Connection, ids: Sequence[int], properties: Sequence[str]
) -> dict[tuple[int, str], datetime]:
    """When each property of each record last changed, from property history.

    One grouped query per chunk of records: a history row holds every property one write
    changed, so each property's latest time is a max over the rows that name it.
    """
    names = sorted(set(properties))
    if not names:
        return {}
    h = t.property_history
    postgres = conn.dialect.name == "postgresql"

    def has(name: str) -> Any:
        if postgres:
            return func.jsonb_exists(h.c.changes, literal(name))
        if '"' in name:
            raise StoreError(f"property name {name!r} cannot be looked up in history")
        return func.json_type(h.c.changes, literal(f'$."{name}"')).is_not(None)

    columns = [
        func.max(case((has(name), h.c.changed_at))).label(f"p{i}") for i, name in enumerate(names)
    ]
    found: dict[tuple[int, str], datetime] = {}
    for chunk in chunks(sorted({i for i in ids if is_record_id(i)}), CHUNK):
        for row in conn.execute(
            select(h.c.record_id, *columns).where(h.c.record_id.in_(chunk)).group_by(h.c.record_id)
        ):
            for i, name in enumerate(names):
                when = row[i + 1]
                if when is not None:
                    found[(row[0], name)] = when
    return found


def associations_of(
    conn: Connection, obj: LoadedObject, ids: Sequence[int], to: LoadedObject
) -> dict[int, list[Association]]:
    """Each record's associations with live ``to`` records, grouped per other record."""
    a, r, at = t.associations, t.records, t.association_types
    grouped: dict[int, dict[int, list[AssociationLabel]]] = {}
    names = {obj.id: obj.name, to.id: to.name}
    for chunk in chunks(sorted({i for i in ids if is_record_id(i)}), CHUNK):
        for row in conn.execute(
            select(a.c.from_record_id, a.c.to_record_id, at)
            .join(r, r.c.id == a.c.to_record_id)
            .join(at, at.c.type_id == a.c.type_id)
            .where(
                a.c.from_record_id.in_(chunk),
                r.c.object_type_id == to.id,
                r.c.archived.is_(False),
            )
            .order_by(a.c.from_record_id, a.c.to_record_id, a.c.type_id)
        ):
            label = AssociationLabel(
                type_id=row.type_id,
                from_object=names.get(row.from_object_type_id, obj.name),
                to_object=names.get(row.to_object_type_id, to.name),
                label=row.label,
                name=row.name,
                category=row.category,
                inverse_type_id=row.inverse_type_id,
            )
            grouped.setdefault(row.from_record_id, {}).setdefault(row.to_record_id, []).append(
                label
            )
    return {
        from_id: [
            Association(obj.name, from_id, to.name, to_id, tuple(labels))
            for to_id, labels in by_to.items()
        ]
        for from_id, by_to in grouped.items()
    }
