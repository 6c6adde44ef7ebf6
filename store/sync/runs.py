"""A sync's state (cursor, journal position, pause), its runs, and the log of what each run did."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Connection, select

from store.db import bulk
from store.db import tables as t
from store.db.jsoncodec import dumps
from store.errors import StoreError
from store.records import creations
from store.records.creations import as_log_changes
from store.sync.models import (
    LogAction,
    LogDirection,
    LogSpec,
    SyncLogEntry,
    SyncRun,
    SyncState,
)
from store.sync.rows import upsert_into

__all__ = [
    "RUN_STATUSES",
    "check_status",
    "log_from_row",
    "read_state",
    "run_from_row",
    "upsert_state",
    "write_log",
]

RUN_STATUSES = ("running", "ok", "failed", "paused", "dry_run")


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
    if conn.dialect.name == "postgresql":
        # Nothing reads its result: sent unread (``bulk.insert_rows``), so it does not wait
        # for the page's rows sent before it (a page's cursor is its last statement but the
        # journal's).
        names = list(row)
        bulk.insert_rows(
            conn,
            st,
            names,
            [tuple(_bound(conn, st.c[n], row[n]) for n in names)],
            upsert=(["sync"], [*values, "updated_at"]),
        )
        return
    statement = upsert_into(conn, st)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[st.c.sync], set_={**values, "updated_at": now}
        ),
        row,
    )


def _bound(conn: Connection, column: Column[Any], value: Any) -> Any:
    """``value`` as ``bulk.insert_rows`` takes it for ``column``: JSON as its text (None as
    JSON null, as SQLAlchemy writes it), the rest as SQLAlchemy binds it."""
    if isinstance(column.type, JSON):
        return dumps(value)
    return bulk.bound(conn, column, value)


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


# ---------------------------------------------------------------- the log


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
    bulk.insert_rows(
        conn,
        t.sync_log,
        ("crm_id", "external_id", "direction", "action", "changes", "message", "level"),
        _log_rows(entries),
        fixed={
            "sync": sync,
            "run_id": run_id,
            "at": bulk.bound(conn, t.sync_log.c.at, at),
            "crm_object": crm_object,
        },
    )


# Enum values by member (or by value): a lookup, where calling the enum per row cost more
# than the rest of the row. Anything else still goes through the enum, which refuses it.
_DIRECTIONS = {member: member.value for member in LogDirection}
_ACTIONS = {member: member.value for member in LogAction}


def _log_rows(entries: Sequence[LogSpec]) -> list[tuple[Any, ...]]:
    directions, actions = _DIRECTIONS, _ACTIONS
    try:
        return [
            (
                e.crm_id,
                e.external_id,
                directions.get(e.direction) or LogDirection(e.direction).value,
                actions.get(e.action) or LogAction(e.action).value,
                dumps(e.changes),  # None as JSON null, as SQLAlchemy stored it
                e.message,
                e.level,
            )
            for e in entries
        ]
    except TypeError:  # an unhashable direction or action: the enum's own refusal
        for e in entries:
            LogDirection(e.direction), LogAction(e.action)
        raise


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


def with_created_values(conn: Connection, entries: list[SyncLogEntry]) -> list[SyncLogEntry]:
    """Inbound creates' changes: a sync logs a create with no values, which are the CRM
    record's first history row (``store.records.creations``)."""
    return creations.with_created_values(conn, entries, _bare_create, as_log_changes)


def _bare_create(entry: SyncLogEntry) -> int | None:
    bare = (
        entry.action is LogAction.CREATED
        and entry.direction is LogDirection.INBOUND
        and entry.changes is None
    )
    return entry.crm_id if bare else None
