"""One pass of one sync: inbound pages, then outbound batches, recorded as a run.

Inbound first, so that by the time the CRM's changes are pushed the external side's latest
state is already in the base and a conflict is seen as one. Each page and each outbound
batch commits on its own, so a pass that fails half-way keeps what it finished and resumes
from there. A dry run does all the reading and planning and writes nothing anywhere: every
transaction it opens is rolled back, and no connector write is made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from connectors.base import AuthError, ChangePage, Connector, QuotaExhaustedError
from store import Store, SyncTx
from syncd.engine.ahead import PageAhead
from syncd.engine.collector import fewer_collections
from syncd.engine.context import RunContext, RunSummary
from syncd.engine.inbound import Mapped, MassDeleteBrake, apply_page
from syncd.engine.inbound import linked_total as _linked_total
from syncd.engine.intents import resolve_open
from syncd.engine.outbound import collect_journal, push_records
from syncd.engine.spec import SyncSpec

__all__ = ["SyncPaused", "pause_for_refused_credentials", "refused_credentials_reason", "run_sync"]

T = TypeVar("T")
# Rows a pass reads before the store refreshes its planner statistics, then that many
# times more each time again: a handful of ANALYZEs however large the first sync.
_STATISTICS_FIRST = 2_000
_STATISTICS_GROWTH = 4
Progress = Callable[[str, int], None]


class SyncPaused(Exception):
    """The sync is paused (by an operator or the mass-delete brake) and did not run."""


def refused_credentials_reason(sync: str, exc: AuthError) -> str:
    """The pause reason for a sync whose external system refused our credentials."""
    return (
        f"the external system refused the credentials: {exc}; fix them, then `syncd resume {sync}`"
    )


def pause_for_refused_credentials(
    store: Store,
    sync: str,
    exc: AuthError,
    *,
    run_id: int | None = None,
    summary: RunSummary | None = None,
) -> str:
    """Pause ``sync`` because its credentials were refused, and end its run as paused.

    Bad credentials do not heal by retrying, and a system asked again and again with them
    may lock the account: every way a sync meets an :class:`AuthError` (a pass, a webhook
    drain, a delete reconciliation, the daemon's check before a pass) ends here, so it
    waits for an operator's ``syncd resume``.
    """
    reason = refused_credentials_reason(sync, exc)
    store.set_sync_paused(sync, True, reason)
    if summary is not None:
        summary.paused_reason = reason
    if run_id is not None:
        store.finish_sync_run(
            run_id, "paused", summary.as_dict() if summary is not None else {"error": str(exc)}
        )
    return reason


class _Stopped(Exception):
    """The daemon is stopping: the pass ends after the page or batch it committed last."""


class _Rollback(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__("dry run")
        self.value = value


class _DryRunStore:
    """The store as a dry run sees it: every ``sync_write`` is rolled back at its end."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def sync_write(
        self,
        sync: str,
        work: Callable[[SyncTx], T],
        *,
        run_id: int | None = None,
        meanwhile: Callable[[], object] | None = None,
    ) -> T:
        # Rolled back, the write never runs ``meanwhile``: the loop reads the page itself.
        def rolled_back(tx: SyncTx) -> T:
            raise _Rollback(work(tx))

        try:
            self._store.sync_write(sync, rolled_back, run_id=run_id, meanwhile=meanwhile)
        except _Rollback as done:
            return done.value  # type: ignore[no-any-return]
        raise AssertionError("unreachable")  # pragma: no cover

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def run_sync(
    spec: SyncSpec,
    connector: Connector,
    store: Store,
    *,
    full: bool = False,
    dry_run: bool = False,
    allow_deletes: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunSummary:
    """Run one pass now; returns its counts. Raises :class:`SyncPaused` when paused."""
    with fewer_collections():
        return _run_pass(
            spec,
            connector,
            store,
            full=full,
            dry_run=dry_run,
            allow_deletes=allow_deletes,
            progress=progress,
            should_stop=should_stop,
        )


def _run_pass(
    spec: SyncSpec,
    connector: Connector,
    store: Store,
    *,
    full: bool,
    dry_run: bool,
    allow_deletes: bool,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> RunSummary:
    state = store.sync_state(spec.name)
    if state.paused and not allow_deletes:
        raise SyncPaused(f"sync {spec.name} is paused: {state.paused_reason or 'by an operator'}")
    if state.paused:
        store.set_sync_paused(spec.name, False, None)
    # A dry run leaves no trace, not even a run row.
    run_id = None if dry_run else store.start_sync_run(spec.name).id
    view: Any = _DryRunStore(store) if dry_run else store
    ctx = RunContext(spec, connector, view, run_id, dry_run=dry_run)
    if should_stop is not None:
        ctx.should_stop = should_stop
    ctx.log.debug("sync_started", full=full, dry_run=dry_run)
    if allow_deletes:
        spec = spec.without_brake()
        ctx.spec = spec
    try:
        if state.fields is not None and not full:
            _backfill(ctx, sorted(set(spec.field_names) - set(state.fields)))
        if spec.pushes:
            # Creates an earlier pass left without an outcome are found (and linked) before
            # inbound could take them for new records and outbound could make them again.
            resolve_open(ctx)
        _retry_inbound(ctx)
        _inbound(ctx, None if full else state.cursor, progress)
        position = None
        if spec.pushes:
            position = _outbound(ctx, 0 if full else state.journal_position, progress)
        fields = None if state.fields == sorted(spec.field_names) else spec.field_names
        if not dry_run and (fields is not None or position is not None):
            # One commit for the pass's last state: the journal position a quiet outbound
            # moved past and, if they changed, the fields it carried.
            store.sync_write(spec.name, _last_state(fields, position))
    except _Stopped:
        ctx.summary.add("stopped")
        if run_id is not None:
            store.finish_sync_run(run_id, "ok", ctx.summary.as_dict())
        ctx.log.info("sync_stopped", **ctx.summary.as_dict())
        return ctx.summary
    except MassDeleteBrake as brake:
        if dry_run:
            ctx.summary.paused_reason = brake.reason
            return ctx.summary
        store.set_sync_paused(spec.name, True, brake.reason)
        ctx.summary.paused_reason = brake.reason
        if run_id is not None:
            store.finish_sync_run(run_id, "paused", ctx.summary.as_dict())
        ctx.log.warning("sync_paused", reason=brake.reason)
        return ctx.summary
    except AuthError as exc:
        # Bad credentials do not heal by retrying; pause until an operator resumes.
        if dry_run:
            reason = refused_credentials_reason(spec.name, exc)
            ctx.summary.paused_reason = reason
        else:
            reason = pause_for_refused_credentials(
                store, spec.name, exc, run_id=run_id, summary=ctx.summary
            )
        ctx.log.error("sync_paused", reason=reason)
        return ctx.summary
    except QuotaExhaustedError as exc:
        # What committed stays; the next scheduled pass after resume_at continues from there.
        ctx.summary.quota_resume_at = exc.resume_at
        if run_id is not None:
            store.finish_sync_run(
                run_id,
                "ok",
                {**ctx.summary.as_dict(), "quota_resume_at": exc.resume_at.isoformat()},
            )
        ctx.log.warning("sync_quota_reached", resume_at=exc.resume_at.isoformat())
        return ctx.summary
    except Exception as exc:
        if run_id is not None:
            store.finish_sync_run(run_id, "failed", {**ctx.summary.as_dict(), "error": str(exc)})
        ctx.log.error("sync_failed", error=str(exc), error_type=type(exc).__name__)
        raise
    if run_id is not None:
        store.finish_sync_run(run_id, "ok", ctx.summary.as_dict())
    # A quiet pass (nothing written, nothing wrong) is a debug line: a daemon polling every
    # few seconds would otherwise bury the passes that did something.
    busy = (
        ctx.summary.crm_writes
        or ctx.summary.external_writes
        or any("error" in key or "conflict" in key for key in ctx.summary.counts)
    )
    (ctx.log.info if busy else ctx.log.debug)("sync_finished", **ctx.summary.as_dict())
    return ctx.summary


def _inbound(ctx: RunContext, cursor: dict[str, Any] | None, progress: Progress | None) -> None:
    spec = ctx.spec
    if cursor is None and not ctx.store.has_links(spec.name):
        # A first sync: its pages need not look up links only they can have made.
        ctx.linked = set()
    linked_total = _linked_total(ctx.store, spec)
    deletes = 0
    resume = True
    applied = 0
    statistics_at = _STATISTICS_FIRST
    ahead: PageAhead | None = None
    while True:
        mapped: dict[int, Mapped] = {}
        if ahead is not None and ahead.ran:
            page, mapped = ahead.take(), ahead.mapped
        else:
            page = ctx.connector.fetch_changes(
                spec.external_object, cursor, limit=spec.batch_size, resume=resume
            )
        resume = False
        ahead = PageAhead(ctx, page.cursor) if page.has_more and page.records else None
        if page.records or page.cursor != cursor:
            deletes += ctx.store.sync_write(
                spec.name,
                ctx.once(_page_work(ctx, page, deletes, linked_total, mapped)),
                run_id=ctx.run_id,
                meanwhile=ahead,
            )
        ctx.summary.add("inbound.read", len(page.records))
        if progress:
            progress("inbound", len(page.records))
        applied += len(page.records)
        if applied >= statistics_at and not ctx.dry_run:
            # A large run (a first sync) has grown the store's tables well past what the
            # database last measured; its plans for the next pages' look-ups need to know.
            # Measured beside the pass, which does not wait for it.
            ctx.store.refresh_planner_statistics(wait=False)
            statistics_at *= _STATISTICS_GROWTH
        cursor = page.cursor
        if not page.has_more or not page.records:
            return
        if ctx.should_stop():
            raise _Stopped
    return None


def _retry_inbound(ctx: RunContext) -> None:
    """Parked external records that are due again: those an operator asked to retry
    (``syncd errors retry``), and those refused for a reason the CRM can clear (a value
    another record held, a match already linked) whose back-off is over. The cursor has
    moved past them, so they are fetched by id and applied through the page path, before
    the cursor's changes."""
    spec = ctx.spec
    due, ctx.parked_inbound = ctx.store.inbound_retry_state(spec.name)
    for start in range(0, len(due), spec.batch_size):
        ids = due[start : start + spec.batch_size]
        records = ctx.connector.fetch_by_ids(spec.external_object, ids)
        found = {r.id for r in records}
        # Gone outside since: nothing left to apply, so nothing left to retry.
        gone = [i for i in ids if i not in found]
        page = ChangePage(records, None, False)
        total = _linked_total(ctx.store, spec)

        ctx.store.sync_write(
            spec.name, ctx.once(_retry_work(ctx, page, gone, total)), run_id=ctx.run_id
        )
        ctx.summary.add("inbound.retried", len(records))


def _retry_work(
    ctx: RunContext, page: ChangePage, gone: list[str], linked_total: int
) -> Callable[[SyncTx], int]:
    def work(tx: SyncTx) -> int:
        if gone:
            tx.inbound_done(gone)
        return apply_page(ctx, tx, page.records, None, deletes_so_far=0, linked_total=linked_total)

    return work


def _backfill(ctx: RunContext, added: list[str]) -> None:
    """Fields added to the YAML since the last pass: re-read the linked records only.

    Each linked external record is fetched by id (in batches) and run through the page
    path; the fields already synced compare equal to their base and write nothing, the new
    ones have no base and are settled like a first sync. No cursor moves, nothing else is read.
    """
    spec = ctx.spec
    if not added:
        return
    ctx.log.info("backfill_started", fields=added)
    after: str | None = None
    while True:
        links = ctx.store.list_links(spec.name, after_external_id=after, limit=spec.batch_size)
        if not links:
            return
        records = ctx.connector.fetch_by_ids(
            spec.external_object, [link.external_id for link in links]
        )
        page = ChangePage(records, None, False)
        total = _linked_total(ctx.store, spec)
        ctx.store.sync_write(
            spec.name, ctx.once(_page_work(ctx, page, 0, total)), run_id=ctx.run_id
        )
        ctx.summary.add("backfill.read", len(records))
        after = links[-1].external_id


def _page_work(
    ctx: RunContext,
    page: ChangePage,
    deletes: int,
    linked_total: int,
    mapped: dict[int, Mapped] | None = None,
) -> Callable[[SyncTx], int]:
    def work(tx: SyncTx) -> int:
        return apply_page(
            ctx,
            tx,
            page.records,
            page.cursor,
            deletes_so_far=deletes,
            linked_total=linked_total,
            mapped=mapped,
        )

    return work


def _last_state(fields: Sequence[str] | None, position: int | None) -> Callable[[SyncTx], None]:
    def work(tx: SyncTx) -> None:
        if position is not None:
            tx.set_journal_position(position)
        if fields is not None:
            tx.set_fields(fields)

    return work


def _outbound(ctx: RunContext, position: int, progress: Progress | None) -> int | None:
    """Push what changed in the CRM; returns the journal position still to store (when
    nothing went out, the pass's last commit stores it), or None."""
    spec = ctx.spec
    due = ctx.store.outbound_due(spec.name, limit=10 * spec.batch_size)
    changed, new_position = collect_journal(ctx, position)
    # A dry run's inbound queued its records in a rolled-back transaction: add them here.
    queued = sorted(ctx.dry_push) if ctx.dry_run else []
    ids = list(dict.fromkeys([*due, *queued, *changed]))
    if not ids:
        return new_position if new_position != position else None
    for start in range(0, len(ids), spec.batch_size):
        chunk = ids[start : start + spec.batch_size]
        last = start + spec.batch_size >= len(ids)
        push_records(ctx, chunk, position=new_position if last else None)
        if progress:
            progress("outbound", len(chunk))
        if not last and ctx.should_stop():
            raise _Stopped
    return None
