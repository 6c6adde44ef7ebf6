"""Create intents in SQL: a create is written down before it goes outside.

The engine records an intent (the CRM id, the key it sends, the request) and commits it
before the connector is asked to create; the outbound batch's own commit removes it once
the outcome is known. A row that outlives its pass means a crash or a lost answer came in
between: the next pass looks the record up before anything creates it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from store.db import tables as t
from store.db.chunks import chunks

__all__ = ["CreateIntent", "close_intents", "open_intents", "record_intents"]


@dataclass(frozen=True)
class CreateIntent:
    """One create whose outcome is not committed: what was (about to be) sent, and when."""

    crm_id: int
    key: str
    fields: Mapping[str, Any]
    match: tuple[str, Any] | None
    created_at: datetime


def _intent(row: Any) -> CreateIntent:
    request = row.request or {}
    match = request.get("match")
    return CreateIntent(
        crm_id=int(row.crm_id),
        key=str(row.key),
        fields=dict(request.get("fields") or {}),
        match=(str(match[0]), match[1]) if isinstance(match, list) and len(match) == 2 else None,
        created_at=row.created_at,
    )


def open_intents(
    conn: Connection, sync: str, crm_ids: Sequence[int] | None = None, *, limit: int = 1000
) -> list[CreateIntent]:
    """The sync's open intents, of ``crm_ids`` only when given, oldest first."""
    table = t.sync_create_intents
    query = select(table).where(table.c.sync == sync)
    if crm_ids is None:
        rows = conn.execute(query.order_by(table.c.created_at, table.c.crm_id).limit(limit))
        return [_intent(r) for r in rows]
    found: list[CreateIntent] = []
    for part in chunks(sorted(set(crm_ids)), 500):
        found += [_intent(r) for r in conn.execute(query.where(table.c.crm_id.in_(part)))]
    return found


def record_intents(
    conn: Connection,
    sync: str,
    intents: Sequence[tuple[int, str, Mapping[str, Any], tuple[str, Any] | None]],
    now: datetime,
) -> None:
    """Write down ``(crm_id, key, fields, match)`` creates; an open one is replaced."""
    if not intents:
        return
    close_intents(conn, sync, [i[0] for i in intents])
    conn.execute(
        insert(t.sync_create_intents),
        [
            {
                "sync": sync,
                "crm_id": crm_id,
                "key": key,
                "request": {"fields": dict(fields), "match": list(match) if match else None},
                "created_at": now,
            }
            for crm_id, key, fields, match in intents
        ],
    )


def close_intents(conn: Connection, sync: str | None, crm_ids: Sequence[int] | None) -> None:
    """The outcome of these creates is committed (or an operator settled them)."""
    table = t.sync_create_intents
    if crm_ids is None:
        statement = delete(table)
        if sync is not None:
            statement = statement.where(table.c.sync == sync)
        conn.execute(statement)
        return
    for part in chunks(sorted(set(crm_ids)), 500):
        statement = delete(table).where(table.c.crm_id.in_(part))
        if sync is not None:
            statement = statement.where(table.c.sync == sync)
        conn.execute(statement)
