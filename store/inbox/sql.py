"""The webhook inbox in SQL: received events waiting to be applied, and their fate.

A webhook handler stores each verified event here and answers at once; the worker claims a
sync's pending rows, applies them through the engine and marks them done in the same
transaction as its CRM writes, so an event is applied exactly once or not at all. The unique
key (connector, delivery id, sync, external id) turns a delivery the sender repeats into a
no-op in the database itself, on SQLite and PostgreSQL alike, whichever process receives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.db import tables as t
from store.db.chunks import chunks
from store.errors import StoreError

__all__ = [
    "MAX_ATTEMPTS",
    "STATES",
    "InboxEntry",
    "InboxEntrySpec",
    "add",
    "claim",
    "depth",
    "entry_from_row",
    "fail",
    "finish",
    "list_entries",
]

#: A row whose batch failed this many times is set aside (state ``failed``) for an operator.
MAX_ATTEMPTS = 5
STATES = ("pending", "done", "failed")
_MAX_ID = 400
_MAX_NAME = 200


@dataclass(frozen=True)
class InboxEntrySpec:
    """One event for one sync, as the webhook handler stores it.

    ``event`` is JSON-ready data (the engine's ``syncd.engine.events`` writes and reads it);
    ``delivery_id`` None means the sender named no delivery, so a repeat cannot be recognised.
    """

    sync: str
    external_object: str
    external_id: str
    event: Mapping[str, Any] = field(default_factory=dict)
    delivery_id: str | None = None


@dataclass(frozen=True)
class InboxEntry:
    """One stored event and what became of it."""

    id: int
    connector: str
    sync: str
    external_object: str
    external_id: str
    delivery_id: str | None
    event: dict[str, Any]
    received_at: datetime
    attempts: int
    last_error: str | None
    state: str
    applied_at: datetime | None


def _check(spec: InboxEntrySpec, connector: str) -> None:
    """Refused before any statement, so an oversized id fails alike on both databases."""
    for label, value, limit in (
        ("connector", connector, _MAX_NAME),
        ("sync", spec.sync, _MAX_NAME),
        ("external object", spec.external_object, _MAX_NAME),
        ("external id", spec.external_id, _MAX_ID),
    ):
        if not isinstance(value, str) or not value or len(value) > limit:
            raise StoreError(f"an inbox entry's {label} is 1 to {limit} characters of text")
    if spec.delivery_id is not None and (
        not isinstance(spec.delivery_id, str) or len(spec.delivery_id) > _MAX_ID
    ):
        raise StoreError(f"an inbox entry's delivery id is at most {_MAX_ID} characters")


def add(conn: Connection, connector: str, entries: Sequence[InboxEntrySpec], now: datetime) -> int:
    """Store the entries; returns how many were new (a repeated delivery is not)."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for spec in entries:
        _check(spec, connector)
        row = {
            "connector": connector,
            "sync": spec.sync,
            "external_object": spec.external_object,
            "external_id": spec.external_id,
            "delivery_id": spec.delivery_id,
            "event": dict(spec.event),
            "received_at": now,
            "attempts": 0,
            "last_error": None,
            "state": "pending",
            "applied_at": None,
        }
        if spec.delivery_id is None:
            rows[(len(rows), None)] = row  # nothing to recognise a repeat by: always new
        else:
            rows.setdefault((spec.delivery_id, spec.sync, spec.external_id), row)
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(t.webhook_inbox)
        .on_conflict_do_nothing(index_elements=["connector", "delivery_id", "sync", "external_id"])
        .returning(t.webhook_inbox.c.id)
    )
    new = 0
    for part in chunks(list(rows.values()), 500):
        new += len(conn.execute(stmt, list(part)).all())
    return new


def _select_pending(sync: str, limit: int, ids: Sequence[int] | None) -> Any:
    inbox = t.webhook_inbox
    query = (
        select(inbox)
        .where(inbox.c.sync == sync, inbox.c.state == "pending")
        .order_by(inbox.c.id)
        .limit(max(1, int(limit)))
    )
    if ids is not None:
        query = query.where(inbox.c.id.in_(list(ids)))
    return query


def claim(
    conn: Connection, sync: str, limit: int, *, ids: Sequence[int] | None = None
) -> list[InboxEntry]:
    """Pending rows of ``sync``, oldest first, locked until the transaction ends.

    On PostgreSQL rows another transaction holds are skipped (``SKIP LOCKED``), so several
    workers never take the same row; on SQLite the caller's write transaction already
    serialises every writer. ``ids`` narrows the claim to rows the caller prepared for.
    """
    if ids is not None and not ids:
        return []
    query = _select_pending(sync, limit, ids).with_for_update(skip_locked=True)
    return [entry_from_row(r) for r in conn.execute(query).mappings()]


def finish(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    inbox = t.webhook_inbox
    for part in chunks(sorted(set(ids)), 500):
        conn.execute(
            update(inbox)
            .where(inbox.c.id.in_(part), inbox.c.state == "pending")
            .values(state="done", applied_at=now, last_error=None)
        )


def fail(conn: Connection, entry_id: int, error: str) -> None:
    """Count one failed attempt; after ``MAX_ATTEMPTS`` the row is set aside as failed."""
    inbox = t.webhook_inbox
    conn.execute(
        update(inbox)
        .where(inbox.c.id == entry_id, inbox.c.state == "pending")
        .values(
            attempts=inbox.c.attempts + 1,
            last_error=error[:2000],
            state=_after_failure(inbox.c.attempts + 1),
        )
    )


def _after_failure(attempts: Any) -> Any:
    return case((attempts >= MAX_ATTEMPTS, "failed"), else_="pending")


def depth(conn: Connection, sync: str | None) -> int:
    """Pending rows: how far the worker is behind."""
    inbox = t.webhook_inbox
    query = select(func.count()).select_from(inbox).where(inbox.c.state == "pending")
    if sync is not None:
        query = query.where(inbox.c.sync == sync)
    return int(conn.execute(query).scalar_one())


def list_entries(
    conn: Connection,
    *,
    sync: str | None,
    state: str | None,
    after_id: int,
    limit: int,
) -> list[InboxEntry]:
    inbox = t.webhook_inbox
    if state is not None and state not in STATES:
        raise StoreError(f"inbox state {state!r} is not one of {', '.join(STATES)}")
    query = select(inbox).where(inbox.c.id > after_id).order_by(inbox.c.id).limit(limit)
    if sync is not None:
        query = query.where(inbox.c.sync == sync)
    if state is not None:
        query = query.where(inbox.c.state == state)
    return [entry_from_row(r) for r in conn.execute(query).mappings()]


def entry_from_row(row: RowMapping) -> InboxEntry:
    return InboxEntry(
        id=int(row["id"]),
        connector=row["connector"],
        sync=row["sync"],
        external_object=row["external_object"],
        external_id=row["external_id"],
        delivery_id=row["delivery_id"],
        event=dict(row["event"] or {}),
        received_at=row["received_at"],
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
        state=row["state"],
        applied_at=row["applied_at"],
    )
