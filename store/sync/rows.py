"""What every sync table shares: the chunk size of its statements, the sync name check, upserts.

Every function of the sync's SQL modules takes many keys and issues one statement per chunk of
at most ``CHUNK`` keys (an IN list that size stays well inside both databases' parameter
limits), so a batch of 500 external records costs a handful of round trips, never one per
record. They run on the connection of the caller's transaction: ``SyncTx`` (one write with the
CRM records) or a short ``SyncPart`` transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Connection,
    Table,
)
from sqlalchemy.dialects import postgresql, sqlite

from store.errors import StoreError

__all__ = ["CHUNK", "check_sync_name", "upsert_into"]

CHUNK = 500
_MAX_SYNC_NAME = 200  # the width of the sync and source_id columns


def check_sync_name(sync: object) -> str:
    """Refused here, before any statement, so a bad name fails the same on both databases."""
    if not isinstance(sync, str) or not sync.strip() or len(sync) > _MAX_SYNC_NAME:
        raise StoreError(f"a sync name is 1 to {_MAX_SYNC_NAME} characters of text, got {sync!r}")
    return sync


def upsert_into(conn: Connection, table: Table) -> Any:
    """An INSERT that can take ``on_conflict_do_update`` on either database."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
