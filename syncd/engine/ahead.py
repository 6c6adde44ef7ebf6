"""The next page of changes, read while the database finishes writing this one.

On PostgreSQL a page's last statements (history, links, log, cursor, journal) are sent
without waiting and the server runs them while Python goes on (``store.db.unread``); on
SQLite the commit runs in C, without the GIL. Without something for Python to go on with,
it only waited for them. Reading the next page from the connector needs nothing from the
store, so ``Store.sync_write`` runs it on a store thread then (its ``meanwhile``), with
mapping its records to CRM values, which is pure: the two overlap instead of taking turns.

Nothing changes in what is read or when it counts: the next page is read from the same
cursor the loop would read it from, and only after this page's statements are sent; a
failure to read it is raised where the loop would have read it, after this page committed.
The connector is called from that thread while the loop waits, never from two at once.
"""

from __future__ import annotations

from connectors.base import ChangePage, Cursor
from syncd.engine.context import RunContext
from syncd.engine.inbound import Mapped, map_record

__all__ = ["PageAhead"]


class PageAhead:
    """A fetch of the page after ``cursor``, to be run once as a write's ``meanwhile``."""

    def __init__(self, ctx: RunContext, cursor: Cursor | None) -> None:
        self._ctx = ctx
        self._cursor = cursor
        self._page: ChangePage | None = None
        self._error: Exception | None = None
        self.ran = False
        #: ``map_record`` of the page's records, by ``id(record)`` (``apply_page``'s).
        self.mapped: dict[int, Mapped] = {}

    def __call__(self) -> None:
        """Fetch now; keep the page or the failure for :meth:`take` (the write goes on)."""
        self.ran = True
        spec = self._ctx.spec
        try:
            page = self._ctx.connector.fetch_changes(
                spec.external_object, self._cursor, limit=spec.batch_size, resume=False
            )
        except Exception as exc:  # raised by take(), where the loop reads the page
            self._error = exc
            return
        self._page = page
        self.mapped = {id(r): map_record(spec, r) for r in page.records if not r.deleted}

    def take(self) -> ChangePage:
        """The page fetched, or the fetch's failure raised."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        assert self._page is not None
        return self._page
