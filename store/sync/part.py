"""The store facade's part for the sync engine: its one write entry point and its reads.

``sync_write`` is the engine's way in for everything it changes during a run (records,
links, bases, log, conflicts, cursor), as one transaction; the rest are short transactions
for the CLI and for a run's bookkeeping (start, finish, pause), which must survive a run
that fails and rolls back its work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy import (
    Connection,
    and_,
    case,
    func,
    insert,
    not_,
    null,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.exc import OperationalError

from store.db import tables as t
from store.db.part import FacadePart
from store.db.tx import Tx
from store.db.types import utcnow
from store.errors import NotFoundError
from store.models import ChangeSource, JournalEntry, SourceType
from store.records.creations import as_journal_changes, with_created_values
from store.sync import conflicts as conflict_sql
from store.sync import leases as lease_sql
from store.sync import links as link_sql
from store.sync import queues as queue_sql
from store.sync import rows as sync_row_sql
from store.sync import runs as run_sql
from store.sync.leases import Fence
from store.sync.models import ConflictRecord, Link, SyncLogEntry, SyncRun, SyncState
from store.sync.queues import InboundError, OutboxEntry
from store.sync.tx import SyncTx

__all__ = ["SyncPart"]

T = TypeVar("T")
_MAX_PAGE = 10_000
# Background ANALYZEs (``refresh_planner_statistics(wait=False)``), one at a time.
_ANALYZES = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syncd-analyze")
_LOG = structlog.get_logger("store")
# What a large sync run writes and its per-page look-ups read.
_GROWING_TABLES = ("records", "unique_values", "sync_links", "property_history", "journal")


def _page(limit: int) -> int:
    return max(1, min(int(limit), _MAX_PAGE))


class SyncPart(FacadePart):
    """The sync engine's transaction, and its state as the CLI shows it."""

    def acquire_lease(self, sync: str, holder: str, ttl: timedelta) -> Fence | None:
        """Take or renew ``sync``'s lease for ``holder`` (None: another process holds it)."""
        return self._write(
            ChangeSource.cli(),
            lambda tx: lease_sql.acquire(tx.connection, sync, holder, ttl, tx.now),
        )

    def release_lease(self, fence: Fence) -> None:
        self._write(ChangeSource.cli(), lambda tx: lease_sql.release(tx.connection, fence))

    def want_lease(self, sync: str, holder: str) -> lease_sql.LeaseHolder | None:
        """Ask for ``sync``'s lease while waiting for it; who holds it now (None: nobody)."""
        return self._write(
            ChangeSource.cli(), lambda tx: lease_sql.want(tx.connection, sync, holder, tx.now)
        )

    def unwant_lease(self, sync: str, holder: str) -> None:
        """Withdraw a request for ``sync``'s lease (the waiter gave up)."""
        self._write(ChangeSource.cli(), lambda tx: lease_sql.unwant(tx.connection, sync, holder))

    def leases_wanted_from(self, holder: str) -> set[str]:
        """The syncs ``holder`` holds that another pass is waiting for."""
        return self._read(lambda conn: lease_sql.wanted_from(conn, holder, utcnow()))

    def sync_write(
        self,
        sync: str,
        work: Callable[[SyncTx], T],
        *,
        run_id: int | None = None,
        source: ChangeSource | None = None,
        meanwhile: Callable[[], object] | None = None,
    ) -> T:
        """Run ``work`` in one transaction with source INTEGRATION/``sync``.

        ``source`` names another writer for the CRM writes (an operator resolving a
        conflict through the CLI): history then shows who decided, and the sync's outbound
        side carries the change out as anyone's, not skip it as its own echo.

        An exception from ``work`` rolls back everything it wrote, CRM records included.
        ``work`` may run twice: a write that lost a race for a unique value is retried once
        from the start (see ``Store._write``), so it must not keep state of its own between
        attempts.

        ``meanwhile``: work that needs no store (the next page's fetch), run once on a
        store thread while the database finishes this write (``Store._write``).
        """
        sync_row_sql.check_sync_name(sync)
        return self._write(
            source or ChangeSource(SourceType.INTEGRATION, sync),
            lambda tx: work(SyncTx(tx, sync, run_id)),
            meanwhile,
        )

    def _sync_state_write(self, sync: str, work: Callable[[Tx], T]) -> T:
        sync_row_sql.check_sync_name(sync)
        return self._write(ChangeSource(SourceType.INTEGRATION, sync), work)

    # ------------------------------------------------------------ state and runs

    def sync_state(self, sync: str) -> SyncState:
        """The sync's state; a sync that never ran has the default one."""
        return self._read(lambda conn: run_sql.read_state(conn, sync))

    def set_sync_paused(self, sync: str, paused: bool, reason: str | None = None) -> None:
        self._sync_state_write(
            sync,
            lambda tx: run_sql.upsert_state(
                tx.connection,
                sync,
                tx.now,
                {"paused": bool(paused), "paused_reason": reason if paused else None},
            ),
        )

    def reconcile_due(self, syncs: Sequence[str]) -> dict[str, tuple[datetime | None, bool]]:
        """Each named sync's next delete-reconciliation time and whether it is paused, as
        stored; a sync the store never saw is ``(None, False)``. One statement for all."""
        st = t.sync_states
        names = list(dict.fromkeys(syncs))
        found: dict[str, tuple[datetime | None, bool]] = dict.fromkeys(names, (None, False))

        def read(conn: Connection) -> None:
            for part in range(0, len(names), 500):
                rows = conn.execute(
                    select(st.c.sync, st.c.reconcile_due_at, st.c.paused).where(
                        st.c.sync.in_(names[part : part + 500])
                    )
                )
                for row in rows:
                    found[row.sync] = (row.reconcile_due_at, bool(row.paused))

        self._read(read)
        return found

    def set_reconcile_due(self, sync: str, at: datetime) -> None:
        """When delete reconciliation of ``sync`` is next due (kept across restarts)."""
        self._sync_state_write(
            sync,
            lambda tx: run_sql.upsert_state(tx.connection, sync, tx.now, {"reconcile_due_at": at}),
        )

    def start_sync_run(self, sync: str, status: str = "running") -> SyncRun:
        """A run row, committed at once so that a run whose work fails is still on record.

        The sync's ``last_run_at`` moves to its start, except for a dry run (nothing synced).
        """
        run_sql.check_status(status)

        def work(tx: Tx) -> SyncRun:
            run_id = tx.connection.execute(
                insert(t.sync_runs)
                .values(sync=sync, started_at=tx.now, finished_at=None, status=status, summary={})
                .returning(t.sync_runs.c.id)
            ).scalar_one()
            if status != "dry_run":
                run_sql.upsert_state(tx.connection, sync, tx.now, {"last_run_at": tx.now})
            return SyncRun(run_id, sync, tx.now, None, status, {})

        return self._sync_state_write(sync, work)

    def finish_sync_run(self, run_id: int, status: str, summary: dict[str, Any]) -> SyncRun:
        run_sql.check_status(status)
        sr = t.sync_runs

        def work(tx: Tx) -> SyncRun:
            done = (
                tx.connection.execute(
                    update(sr)
                    .where(sr.c.id == run_id)
                    .values(finished_at=tx.now, status=status, summary=dict(summary))
                    .returning(*sr.c)
                )
                .mappings()
                .first()
            )
            if done is None:
                raise NotFoundError(f"no sync run {run_id}", run_id=run_id)
            return run_sql.run_from_row(done)

        # Journals nothing; the source is only what ``_write`` requires.
        return self._write(ChangeSource(SourceType.INTEGRATION), work)

    def list_sync_runs(self, sync: str | None = None, limit: int = 20) -> list[SyncRun]:
        """The newest runs first."""
        sr = t.sync_runs
        query = select(sr).order_by(sr.c.id.desc()).limit(_page(limit))
        if sync is not None:
            query = query.where(sr.c.sync == sync)
        return self._read(
            lambda conn: [run_sql.run_from_row(r) for r in conn.execute(query).mappings()]
        )

    # ------------------------------------------------------------ log

    def sync_log(
        self,
        *,
        sync: str | None = None,
        run_id: int | None = None,
        crm_object: str | None = None,
        crm_id: int | None = None,
        external_id: str | None = None,
        action: str | None = None,
        level: str | None = None,
        direction: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_id: int = 0,
        before_id: int | None = None,
        limit: int = 1000,
        newest: bool = False,
    ) -> list[SyncLogEntry]:
        """Log rows oldest first, after ``after_id`` (page by the last id seen).

        ``newest`` gives the last ``limit`` matching rows instead of the first, still oldest
        first, which is what a reader of a log tail wants; with ``before_id`` those end before
        that row (the console pages back through the log by the oldest id it showed).
        ``since`` is inclusive, ``until`` exclusive.
        """
        sl = t.sync_log
        order = sl.c.id.desc() if newest else sl.c.id
        query = select(sl).where(sl.c.id > after_id).order_by(order).limit(_page(limit))
        if before_id is not None:
            query = query.where(sl.c.id < before_id)
        filters: list[tuple[Any, object]] = [
            (sl.c.sync, sync),
            (sl.c.run_id, run_id),
            (sl.c.crm_object, crm_object),
            (sl.c.crm_id, crm_id),
            (sl.c.external_id, external_id),
            (sl.c.action, action),
            (sl.c.level, level),
            (sl.c.direction, direction),
        ]
        for column, value in filters:
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(sl.c.at >= since)
        if until is not None:
            query = query.where(sl.c.at < until)

        def read(conn: Any) -> list[SyncLogEntry]:
            rows = [run_sql.log_from_row(r) for r in conn.execute(query).mappings()]
            rows = run_sql.with_created_values(conn, rows)
            return rows[::-1] if newest else rows

        return self._read(read)

    def outbox(self, sync: str | None = None, *, parked: bool | None = None) -> list[OutboxEntry]:
        """Records waiting to be written outside (``parked``: given up on until retried)."""
        return self._read(lambda conn: queue_sql.list_outbox(conn, sync, parked=parked))

    def retry_parked(
        self, sync: str | None = None, *, crm_id: int | None = None, external_id: str | None = None
    ) -> int:
        """Make parked records due again now, both ways; how many."""

        def work(tx: Tx) -> int:
            count = 0
            if external_id is None:
                count += queue_sql.retry_parked(tx.connection, sync, crm_id, tx.now)
            if crm_id is None:
                count += queue_sql.retry_inbound(tx.connection, sync, external_id)
            return count

        return self._write(ChangeSource.cli(), work)

    def inbound_errors(self, sync: str | None = None) -> list[InboundError]:
        """External records a sync could not apply, kept until they do."""
        return self._read(lambda conn: queue_sql.list_inbound_errors(conn, sync))

    def inbound_retry_due(self, sync: str, *, limit: int = 5000) -> list[str]:
        """External ids an operator asked to retry, or refused for a reason the CRM may have
        cleared by now (their back-off is over)."""
        return self._read(lambda conn: queue_sql.inbound_retry_due(conn, sync, utcnow(), limit))

    def inbound_retry_state(self, sync: str, *, limit: int = 5000) -> tuple[list[str], bool]:
        """``inbound_retry_due``, and whether the sync has any parked external record (a
        pass that finds none has no parked error to clear for the records it applies)."""
        return self._read(lambda conn: queue_sql.inbound_retry_state(conn, sync, utcnow(), limit))

    # ------------------------------------------------------------ links

    def list_links(
        self, sync: str, *, after_external_id: str | None = None, limit: int = 1000
    ) -> list[Link]:
        """A page of the sync's links in external-id order, after ``after_external_id``."""
        sl = t.sync_links
        query = select(sl).where(sl.c.sync == sync).order_by(sl.c.external_id).limit(_page(limit))
        if after_external_id is not None:
            query = query.where(sl.c.external_id > after_external_id)
        return self._read(
            lambda conn: [link_sql.link_from_row(r) for r in conn.execute(query).mappings()]
        )

    def outbound_due(self, sync: str, *, limit: int = 5000) -> list[int]:
        """CRM records waiting in the sync's outbox whose next attempt is due now."""
        return self._read(lambda conn: queue_sql.outbound_due(conn, sync, utcnow(), limit))

    def count_links(self, sync: str) -> int:
        sl = t.sync_links
        return int(
            self._read(
                lambda conn: conn.execute(
                    select(func.count()).select_from(sl).where(sl.c.sync == sync)
                ).scalar_one()
            )
        )

    def has_links(self, sync: str) -> bool:
        """Whether the sync links any record (one index probe, however many it links)."""
        sl = t.sync_links
        return self._read(
            lambda conn: (
                conn.execute(select(sl.c.external_id).where(sl.c.sync == sync).limit(1)).first()
                is not None
            )
        )

    def read_journal_changed(self, after: int = 0, limit: int = 1000) -> list[JournalEntry]:
        """``read_journal`` as the outbound side reads it: ``changes`` of merges only.

        The engine needs which records changed, not how; decoding every change of a large
        initial sync only to drop it was most of the time of reading the journal back.
        """
        return self._journal(after, limit, merge_changes_only=True)

    def read_journal_of_others(
        self, sync: str, crm_object: str, after: int = 0, limit: int = 1000
    ) -> tuple[list[JournalEntry], int]:
        """``read_journal_changed`` as one sync's outbound side reads it: the entries of
        ``crm_object`` not written by ``sync`` itself, and the position read up to.

        A sync's own writes are most of the journal after its inbound (a first sync: every
        record); filtered here, they are neither sent nor decoded. The position is the
        newest entry when this read began (or the last entry returned, when ``limit`` of
        them came back: read on from there); entries are numbered in commit order, so none
        below it can commit later.
        """
        j = t.journal
        mine = and_(
            j.c.source_type == SourceType.INTEGRATION.value,
            j.c.source_id.is_not(None),
            j.c.source_id == sync,
        )
        condition = and_(j.c.object_type == crm_object, not_(mine))

        def work(conn: Connection) -> tuple[list[JournalEntry], int]:
            # One statement: the newest entry, outer-joined to the wanted ones up to it (a
            # single row of NULLs beside it when none is wanted).
            head = select(func.max(j.c.seq).label("newest")).where(j.c.seq > after).subquery()
            wanted = and_(j.c.seq > after, j.c.seq <= head.c.newest, condition)
            merged = case((j.c.op == "merge", j.c.changes), else_=null())
            rows = conn.execute(
                select(
                    head.c.newest,
                    j.c.seq,
                    j.c.written_at,
                    j.c.object_type,
                    j.c.record_id,
                    j.c.op,
                    type_coerce(merged, j.c.changes.type).label("changes"),
                    j.c.source_type,
                    j.c.source_id,
                )
                .select_from(head.outerjoin(j, wanted))
                .order_by(j.c.seq)
                .limit(max(1, limit))
            ).all()
            newest = rows[0].newest if rows else None
            if newest is None:
                return [], after
            entries = [_journal_entry(r) for r in rows if r.seq is not None]
            return entries, entries[-1].seq if len(entries) >= max(1, limit) else int(newest)

        return self._read(work)

    def _journal(self, after: int, limit: int, *, merge_changes_only: bool) -> list[JournalEntry]:
        j = t.journal
        changes: Any = j.c.changes
        if merge_changes_only:
            merged = case((j.c.op == "merge", j.c.changes), else_=null())
            changes = type_coerce(merged, j.c.changes.type).label("changes")

        def work(conn: Connection) -> list[JournalEntry]:
            rows = conn.execute(
                select(
                    j.c.seq,
                    j.c.written_at,
                    j.c.object_type,
                    j.c.record_id,
                    j.c.op,
                    changes,
                    j.c.source_type,
                    j.c.source_id,
                )
                .where(j.c.seq > after)
                .order_by(j.c.seq)
                .limit(max(1, limit))
            )
            entries = [_journal_entry(r) for r in rows]
            if merge_changes_only:
                return entries
            return with_created_values(conn, entries, _bare_create, as_journal_changes)

        return self._read(work)

    def refresh_planner_statistics(self, *, wait: bool = True) -> bool:
        """PostgreSQL: ANALYZE the tables a sync run grows; whether it ran (or, with
        ``wait=False``, was started).

        With autovacuum off (or lagging behind a large first sync) PostgreSQL plans the
        engine's per-page look-ups for the near-empty tables it last measured, and its
        cached plans of them scan every row once the tables are large: each page then
        costs more than the one before. The engine calls this when a run has written many
        rows. SQLite answers False (its planner needs no statistics for these look-ups).
        Another process's ANALYZE of the same tables is not waited for long: this one is
        skipped instead, since its only effect is speed.

        ``wait=False`` runs it on a store thread, on a connection of its own, while the
        caller goes on: it changes no data and takes no lock a write waits for, and the
        pass's pages were stalled for it (0.8 s of a 50,000-record first sync's 10 s).
        """

        def work(conn: Connection) -> bool:
            if conn.dialect.name != "postgresql":
                return False
            conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            conn.execute(text(f"ANALYZE {', '.join(_GROWING_TABLES)}"))
            return True

        def run() -> bool:
            try:
                return self._read(work)
            except OperationalError:  # the lock wait timed out: rolled back, nothing lost
                return False

        if wait:
            return run()
        if self.dialect != "postgresql":
            return False
        self._background_statistics = _ANALYZES.submit(_quietly, run)
        return True

    def _statistics_done(self) -> None:
        """Wait for a background ANALYZE this store started (``Store.close``): a closed
        store leaves nothing running on its database."""
        started = getattr(self, "_background_statistics", None)
        if started is not None:
            started.result()

    def get_link_by_crm(self, sync: str, crm_id: int) -> Link | None:
        return self._read(lambda conn: link_sql.links_by_crm(conn, sync, [crm_id]).get(crm_id))

    def links_by_external(self, sync: str, external_ids: Sequence[str]) -> dict[str, Link]:
        """The sync's links of these external ids, in a short read (the webhook worker asks
        which events are older than what their link saw before it fetches anything)."""
        return self._read(lambda conn: link_sql.links_by_external(conn, sync, external_ids))

    # ------------------------------------------------------------ conflicts

    def list_conflicts(
        self,
        *,
        sync: str | None = None,
        open_only: bool = False,
        settled_only: bool = False,
        crm_object: str | None = None,
        crm_id: int | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[ConflictRecord]:
        """The newest conflicts first; ``before_id`` pages back (the oldest id shown).

        ``settled_only`` is the opposite of ``open_only``: settled by a rule or resolved.
        ``crm_object`` and ``crm_id`` narrow to one record's conflicts (``syncd trace``).
        """
        sc = t.sync_conflicts
        query = select(sc).order_by(sc.c.id.desc()).limit(_page(limit))
        if sync is not None:
            query = query.where(sc.c.sync == sync)
        if open_only:
            query = query.where(sc.c.open.is_(True))
        if settled_only:
            query = query.where(sc.c.open.is_(False))
        if crm_object is not None:
            query = query.where(sc.c.crm_object == crm_object)
        if crm_id is not None:
            query = query.where(sc.c.crm_id == crm_id)
        if before_id is not None:
            query = query.where(sc.c.id < before_id)

        def work(conn: Connection) -> list[ConflictRecord]:
            return [conflict_sql.conflict_from_row(r) for r in conn.execute(query).mappings()]

        return self._read(work)

    def get_conflict(self, conflict_id: int) -> ConflictRecord:
        return self._read(lambda conn: conflict_sql.get_conflict(conn, conflict_id))


def _bare_create(entry: JournalEntry) -> int | None:
    return entry.record_id if entry.op == "create" and entry.changes is None else None


def _journal_entry(r: Any) -> JournalEntry:
    """A journal row as the domain entry both journal readers return."""
    return JournalEntry(
        seq=r.seq,
        written_at=r.written_at,
        object=r.object_type,
        record_id=r.record_id,
        op=r.op,
        changes=r.changes,
        source_type=SourceType(r.source_type),
        source_id=r.source_id,
    )


def _quietly(run: Callable[[], bool]) -> None:
    """A background ANALYZE's failure is only slower plans: logged, never raised."""
    try:
        run()
    except Exception as exc:  # nobody waits for it to raise to
        _LOG.warning("planner_statistics_failed", error=str(exc), error_type=type(exc).__name__)
