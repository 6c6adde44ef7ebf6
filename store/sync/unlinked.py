"""Records unlinked by an external delete under ``deletes.from_external: ignore``, in SQL.

The CRM record is kept and its link dropped, as configured; without a trace of why, the next
outbound pass that reads it (``sync --full`` reads every record) would find an unlinked CRM
record and create it outside again: the delete undone though nobody changed anything. The
row here says "unlinked at this time because the other side deleted it"; outbound leaves the
record alone until it changes in the CRM after that time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from store.db import tables as t
from store.db.chunks import chunks

__all__ = ["forget_unlinked", "remember_unlinked", "unlinked_at"]


def remember_unlinked(
    conn: Connection, sync: str, unlinked: Mapping[int, str], now: datetime
) -> None:
    """CRM id -> the external id whose delete unlinked it; a later unlink replaces the row."""
    if not unlinked:
        return
    forget_unlinked(conn, sync, list(unlinked))
    conn.execute(
        insert(t.sync_unlinked),
        [
            {"sync": sync, "crm_id": crm_id, "external_id": external_id, "unlinked_at": now}
            for crm_id, external_id in unlinked.items()
        ],
    )


def unlinked_at(conn: Connection, sync: str, crm_ids: Sequence[int]) -> dict[int, datetime]:
    """When each of these CRM records was unlinked by an external delete (absent: never)."""
    table = t.sync_unlinked
    found: dict[int, datetime] = {}
    for part in chunks(sorted(set(crm_ids)), 500):
        for row in conn.execute(
            select(table.c.crm_id, table.c.unlinked_at).where(
                table.c.sync == sync, table.c.crm_id.in_(part)
            )
        ):
            found[int(row.crm_id)] = row.unlinked_at
    return found


def forget_unlinked(conn: Connection, sync: str, crm_ids: Sequence[int]) -> None:
    table = t.sync_unlinked
    for part in chunks(sorted(set(crm_ids)), 500):
        conn.execute(delete(table).where(table.c.sync == sync, table.c.crm_id.in_(part)))
