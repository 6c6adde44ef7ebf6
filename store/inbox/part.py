"""The store facade's part for webhooks: storing received events and reading the inbox.

Claiming and finishing rows belongs to ``SyncTx`` (``claim_inbox``, ``finish_inbox``), so
that an event is marked applied in the very transaction that applied it; what is here are
short transactions of their own: the webhook handler's insert, and reads for the worker,
the CLI and tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from store.db.part import FacadePart
from store.db.types import utcnow
from store.inbox import sql as inbox_sql
from store.models import ChangeSource, SourceType

__all__ = ["InboxPart"]

_MAX_PAGE = 10_000


class InboxPart(FacadePart):
    """Received webhook events, durable before the sender hears back."""

    def inbox_add(self, connector: str, entries: Sequence[inbox_sql.InboxEntrySpec]) -> int:
        """Store the events in one transaction; returns how many were new.

        A repeated delivery (same connector, delivery id, sync and external id) is ignored by
        the database itself, so two processes receiving the same retry store it once.
        """
        if not entries:
            return 0
        return self._write(
            ChangeSource(SourceType.INTEGRATION, connector),
            lambda tx: inbox_sql.add(tx.connection, connector, entries, utcnow()),
        )

    def inbox_depth(self, sync: str | None = None) -> int:
        """Events waiting to be applied, for one sync or all."""
        return self._read(lambda conn: inbox_sql.depth(conn, sync))

    def inbox_peek(self, sync: str, limit: int = 500) -> list[inbox_sql.InboxEntry]:
        """Pending events of ``sync``, oldest first, claimed by no one at this moment.

        Nothing stays locked: the worker uses this to fetch thin events' records before it
        opens its write transaction, where it claims the rows for real.
        """
        return self._read(lambda conn: inbox_sql.claim(conn, sync, limit))

    def inbox_list(
        self,
        *,
        sync: str | None = None,
        state: str | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[inbox_sql.InboxEntry]:
        """Inbox rows oldest first, after ``after_id`` (page by the last id seen)."""
        return self._read(
            lambda conn: inbox_sql.list_entries(
                conn,
                sync=sync,
                state=state,
                after_id=after_id,
                limit=max(1, min(int(limit), _MAX_PAGE)),
            )
        )
