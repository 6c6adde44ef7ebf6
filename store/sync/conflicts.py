"""Conflicts: a field changed on both sides, with both values, the base and who won."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    func,
    insert,
    select,
    text,
    update,
)

from store.db import tables as t
from store.db.chunks import chunks
from store.errors import NotFoundError, StoreError
from store.sync.models import (
    ConflictRecord,
    ConflictSpec,
)
from store.sync.rows import CHUNK

__all__ = [
    "add_conflicts",
    "conflict_from_row",
    "conflicts_for",
    "get_conflict",
    "resolve_conflict",
    "supersede_conflicts",
]


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
