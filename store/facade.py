"""The record store's one entry point: every CRM operation, in domain terms.

``Store`` is composed of one part per concept (``store/<concept>/part.py``: schema, records,
associations, activities, search, lists, CSV imports, sync, inbox, overview, tokens); what is
here is what they share: opening and closing, the write and read transactions, the journal.
Nothing outside ``store/`` sees a connection or a row. Every write runs in one transaction
(``BEGIN IMMEDIATE`` on SQLite) that ends with calculated properties refreshed and the
journal appended; a write that collides with a concurrent writer on a unique value is run
again once, and then finds the winner and reports a ``DuplicateError`` naming it. A SQLite
write that took cached definitions at a catalogue version another process has since moved
is run again too (``store.db.catalog.defer_check``).
"""

from __future__ import annotations

import contextvars
import copy
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Column, Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from store.activities.part import ActivitiesPart
from store.associations import calculated
from store.associations.part import AssociationsPart
from store.csv.part import ImportsPart
from store.db import unread
from store.db.catalog import (
    CatalogMoved,
    changed_here,
    defer_check,
    enable_cache,
    forget_cache,
)
from store.db.driver import first_row
from store.db.engine import WRITE, close_engine, make_engine, redact_url, write_turn
from store.db.migrate import current_revision, head_revision, upgrade
from store.db.session import ReadSession, current_session
from store.db.tx import Tx, last_seq
from store.db.types import utcnow
from store.errors import NotMigratedError, StoreError
from store.inbox.part import InboxPart
from store.lists import sql as lists_sql
from store.lists.part import ListsPart
from store.models import ChangeSource, JournalEntry
from store.overview.part import OverviewPart
from store.records.part import RecordsPart
from store.schema.part import SchemaPart
from store.search.part import SearchPart
from store.sync import leases as lease_sql
from store.sync.leases import Fence
from store.sync.part import SyncPart
from store.tokens.part import TokensPart

__all__ = ["Store"]

T = TypeVar("T")
# Threads that run a write's ``meanwhile`` (``Store._write``): one per sync writing at once.
_MEANWHILE = ThreadPoolExecutor(max_workers=8, thread_name_prefix="syncd-meanwhile")

_UNIQUE_RETRIES = 3
# Runs of one write whose catalogue moved under it before it is refused: definitions change
# by hand, a few at a time, so a write that keeps losing to them is stuck, not unlucky.
_CATALOG_RETRIES = 5


class Store(
    RecordsPart,
    SearchPart,
    ListsPart,
    ImportsPart,
    ActivitiesPart,
    SyncPart,
    InboxPart,
    OverviewPart,
    TokensPart,
    SchemaPart,
    AssociationsPart,
):
    """The CRM record store on one database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._fence: Fence | None = None
        # Definitions kept across transactions, under the catalogue version (store.db.catalog).
        self._catalog = enable_cache(engine)

    def fenced(self, fence: Fence) -> Store:
        """This store, with every write first proving ``fence`` still holds its sync's lease.

        The check runs inside each write transaction, under the lease row's lock: a process
        that lost its lease (paused past the expiry, partitioned) has its transaction refused
        with ``LeaseLostError`` instead of committing beside the new holder. The view shares
        this store's engine: close the store, not the view.
        """
        view = copy.copy(self)
        view._fence = fence
        return view

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Open the store at ``url``; bring its schema up to date first unless told not to."""
        engine = make_engine(url)
        store = cls(engine)
        try:
            if migrate:
                # At head already: skip Alembic, which costs more than the command itself.
                # A catalogue change therefore ships with a migration (an empty one will do).
                if current_revision(engine) != head_revision():
                    upgrade(engine)
            else:
                store.check_migrated()
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(
                f"cannot reach the database {redact_url(url)}: {exc.orig or exc}".splitlines()[0]
            ) from None
        except BaseException:
            engine.dispose()
            raise
        return store

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def close(self) -> None:
        self._statistics_done()
        close_engine(self._engine)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def upgrade(self) -> None:
        upgrade(self._engine)

    def check_migrated(self) -> None:
        current, head = current_revision(self._engine), head_revision()
        if current != head:
            raise NotMigratedError(
                f"the database schema is at {current or 'nothing'}, this syncd needs {head}; "
                "run `syncd db upgrade`"
            )

    def _write(
        self,
        source: ChangeSource,
        work: Callable[[Tx], T],
        meanwhile: Callable[[], object] | None = None,
    ) -> T:
        """Run ``work`` in one transaction and commit it (retried as the handlers say).

        ``meanwhile``, if given, is called once, on a store thread, without the store, from
        the moment the write's statements are all sent: it runs while the database finishes
        them and commits (PostgreSQL's server works, SQLite's C code runs without the GIL).
        This returns once both are done; the write's locks go at its commit, not after
        ``meanwhile``. A write that fails before that point has not started it (a retry
        that gets there does); its exception is raised after the write's outcome.
        """
        started: list[Future[object]] = []

        def start() -> None:
            if meanwhile is not None and not started:
                started.append(_MEANWHILE.submit(contextvars.copy_context().run, meanwhile))

        try:
            result = self._write_retried(source, work, start)
        except BaseException:
            futures.wait(started)
            raise
        for running in started:
            running.result()
        return result

    def _write_retried(
        self, source: ChangeSource, work: Callable[[Tx], T], start: Callable[[], None]
    ) -> T:
        session = current_session(self._engine)
        if session is not None and session.writing:
            session = None  # a write within a write: a connection of its own, as before
        attempt = moved = 0
        while True:
            try:
                with self._write_connection(session) as conn, write_turn(self._engine):
                    with conn.begin():
                        tx = Tx(conn, source, utcnow())
                        if self.dialect == "sqlite":
                            # It holds the write lock to its commit: the catalogue version
                            # is checked at its end, in the journal's statement.
                            defer_check(conn)
                        result = self._work(tx, work, start)
                        changed = changed_here(conn)
                    if changed:
                        forget_cache(self._engine)  # the next write reads the new version
                    return result
            except CatalogMoved:
                # Another process changed definitions since this one cached them: run again
                # from the start with them read afresh (nothing of this run committed).
                forget_cache(self._engine)
                moved += 1
                if moved >= _CATALOG_RETRIES:
                    raise StoreError(
                        "the write was run again after each of several definition changes "
                        "made meanwhile, and gave up; try again"
                    ) from None
            except IntegrityError as exc:
                # A concurrent writer took a unique value between our check and our insert;
                # running again sees its commit and reports the duplicate properly.
                attempt += 1
                if attempt < _UNIQUE_RETRIES and "unique_values" in str(exc.orig or exc):
                    continue
                raise StoreError(f"the database refused the write: {exc.orig or exc}") from None

    def _work(self, tx: Tx, work: Callable[[Tx], T], start: Callable[[], None]) -> T:
        """``work`` and what ends every write, up to (not including) the commit.

        ``start``: called once every statement is sent (``_write``'s ``meanwhile``).
        """
        try:
            if self._fence is not None:
                lease_sql.check(tx.connection, self._fence, tx.now)
            result = work(tx)
            calculated.refresh_calculated(tx)
            lists_sql.maintain_dynamic_lists(tx)
            tx.flush_journal()
            tx.check_catalog()
            start()
            unread.settle(tx.connection)  # refusals of statements sent unread, if any
            return result
        except CatalogMoved:
            raise
        except Exception:
            # Definitions taken unchecked may be why it failed: if the catalogue moved, the
            # failure is no answer, and the write runs again.
            try:
                tx.check_catalog()
            except CatalogMoved:
                raise CatalogMoved from None
            except Exception:
                pass  # the original failure tells more
            raise

    @contextmanager
    def _write_connection(self, session: ReadSession | None) -> Iterator[Connection]:
        """A fresh connection; in a read scope its connection, its reads' transaction ended."""
        if session is None:
            with self._engine.connect().execution_options(**{WRITE: True}) as conn:
                yield conn
            return
        session.end_transaction()
        conn = session.connection()
        conn.execution_options(**{WRITE: True})
        session.writing = True
        try:
            yield conn
        finally:
            session.writing = False
            conn.execution_options(**{WRITE: False})

    def _refresh_calculated(self, tx: Tx) -> None:
        calculated.refresh_calculated(tx)

    def _read(self, work: Callable[[Any], T]) -> T:
        session = current_session(self._engine)
        if session is None or session.writing:
            with self._engine.connect() as conn, conn.begin():
                return work(conn)
        conn = session.connection()
        if not conn.in_transaction():
            conn.begin()
        try:
            return work(conn)
        except BaseException:
            session.failed()
            raise

    def _read_row(
        self, sql: str, params: Sequence[Any], columns: Sequence[Column[Any]]
    ) -> tuple[Any, ...] | None:
        return first_row(self._engine, sql, params, columns)

    # ------------------------------------------------------------ journal

    def read_journal(self, after: int = 0, limit: int = 1000) -> list[JournalEntry]:
        """Committed changes with ``seq > after``, in commit order."""
        return self._journal(after, limit, merge_changes_only=False)

    def journal_head(self) -> int:
        return self._read(last_seq)
