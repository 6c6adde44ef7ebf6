"""Webhook events: stored in the inbox as data, applied later through the inbound page path.

The HTTP handler only verifies, stores and answers (``syncd.http``); this module is the
worker's half. ``drain_inbox`` takes a sync's pending events batch by batch: it first peeks
at them in a short read and fetches the records of thin events (ids only) with one
``fetch_by_ids`` call, so no connector call is ever made while a write transaction is open;
then, in one ``sync_write``, it claims the rows again (on PostgreSQL skipping rows another
worker holds), applies the records still pending with ``apply_page`` and marks them done.
The CRM writes and the "done" marks commit together, so an event is applied exactly once.

Events arrive late, out of order, or again (a sender's retry with a new delivery id, a
replayed signed body: the github scheme signs no time). An event's record is applied only
when it is not older than what the link last saw (``external_updated_at``); an older one,
or one without an update time for a linked record, is only a hint that the record changed:
the current record is fetched (``fetch_by_ids``, with the thin events) and applied instead.
Among several events of one id in a batch, the newest record wins, whatever the arrival
order. Just before applying, inside the transaction, a record older than its link (the
poller moved on meanwhile) is dropped as stale.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import AuthError, Connector, ConnectorError, ExternalRecord, WebhookEvent
from store import InboxEntry, Store, SyncTx
from syncd.engine.context import RunContext, RunSummary
from syncd.engine.inbound import MassDeleteBrake, apply_page
from syncd.engine.inbound import linked_total as count_linked
from syncd.engine.runner import SyncPaused, pause_for_refused_credentials
from syncd.engine.spec import SyncSpec

__all__ = ["drain_inbox", "event_from_data", "event_to_data"]

_MAX_STALLS = 3


def event_to_data(event: WebhookEvent) -> dict[str, Any]:
    """The event as JSON data for the inbox (values that JSON cannot hold become text)."""
    record = event.record
    data: dict[str, Any] = {
        "external_object": event.external_object,
        "external_id": event.external_id,
        "deleted": bool(event.deleted),
        "delivery_id": event.delivery_id,
        "record": None,
        "extra": dict(event.extra),
    }
    if record is not None:
        data["record"] = {
            "id": record.id,
            "fields": dict(record.fields),
            "updated_at": record.updated_at.isoformat() if record.updated_at else None,
            "deleted": bool(record.deleted),
            "source": record.source,
        }
    # A round trip through JSON now, so what the worker reads is what was stored.
    loaded: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return loaded


def event_from_data(data: Mapping[str, Any]) -> WebhookEvent:
    raw = data.get("record")
    record: ExternalRecord | None = None
    if isinstance(raw, Mapping):
        stamp = raw.get("updated_at")
        record = ExternalRecord(
            id=str(raw.get("id") or data["external_id"]),
            fields=dict(raw.get("fields") or {}),
            updated_at=datetime.fromisoformat(stamp) if isinstance(stamp, str) else None,
            deleted=bool(raw.get("deleted")),
            source=raw.get("source"),
        )
    return WebhookEvent(
        external_object=str(data["external_object"]),
        external_id=str(data["external_id"]),
        record=record,
        deleted=bool(data.get("deleted")),
        delivery_id=data.get("delivery_id"),
        extra=dict(data.get("extra") or {}),
    )


@dataclass(frozen=True)
class _Batch:
    """What one round prepared outside any transaction: the rows and fetched records.

    ``hints`` are ids whose events carried a record older than the link (or of no known
    age): the fetched record stands in for it.
    """

    ids: list[int]
    fetched: dict[str, ExternalRecord]
    hints: frozenset[str] = frozenset()


def drain_inbox(
    spec: SyncSpec, connector: Connector, store: Store, *, limit: int = 500
) -> RunSummary:
    """Apply ``spec``'s pending webhook events until none is left that this worker can take.

    A batch that fails rolls back whole and leaves its rows pending with one more attempt
    counted (a row is set aside as ``failed`` after five), then the error is raised for the
    caller to back off. A retriable connector error while fetching counts no attempt: the
    events are not at fault. A batch that would trip the mass-delete brake, or a connector
    that refuses our credentials, pauses the sync and leaves its rows pending, as a poll
    would. Raises :class:`SyncPaused` when paused.
    """
    state = store.sync_state(spec.name)
    if state.paused:
        raise SyncPaused(f"sync {spec.name} is paused: {state.paused_reason or 'by an operator'}")
    summary = RunSummary()
    run_id: int | None = None
    ctx: RunContext | None = None
    stalls = 0
    last_peek: list[int] = []
    while True:
        peeked = store.inbox_peek(spec.name, limit)
        if not peeked:
            break
        ids = [e.id for e in peeked]
        if ids == last_peek:
            # The same rows again and none claimed: another worker holds them between its
            # peek and its commit. It will apply them; this worker need not wait.
            stalls += 1
            if stalls >= _MAX_STALLS:
                break
        else:
            stalls = 0
        last_peek = ids
        if ctx is None:
            run_id = store.start_sync_run(spec.name).id
            ctx = RunContext(spec, connector, store, run_id, summary=summary)
            ctx.log.info("inbox_drain_started", pending=store.inbox_depth(spec.name))
        try:
            batch = _prepare(ctx, peeked)
        except AuthError as exc:
            # Not the events' fault: they stay pending, the sync waits for an operator.
            reason = pause_for_refused_credentials(
                store, spec.name, exc, run_id=run_id, summary=summary
            )
            ctx.log.error("sync_paused", reason=reason)
            return summary
        except ConnectorError as exc:
            if not exc.retriable:
                _count_failure(store, spec.name, ids, exc)
            _failed(store, ctx, run_id, exc)
            raise
        linked_total = count_linked(store, spec)
        try:
            store.sync_write(
                spec.name, ctx.once(_apply_work(ctx, batch, linked_total)), run_id=run_id
            )
        except MassDeleteBrake as brake:
            store.set_sync_paused(spec.name, True, brake.reason)
            summary.paused_reason = brake.reason
            if run_id is not None:
                store.finish_sync_run(run_id, "paused", summary.as_dict())
            ctx.log.warning("sync_paused", reason=brake.reason)
            return summary
        except Exception as exc:
            _count_failure(store, spec.name, ids, exc)
            _failed(store, ctx, run_id, exc)
            raise
    if ctx is not None and run_id is not None:
        store.finish_sync_run(run_id, "ok", summary.as_dict())
        ctx.log.info("inbox_drain_finished", **summary.as_dict())
    return summary


def _prepare(ctx: RunContext, entries: Sequence[InboxEntry]) -> _Batch:
    """Fetch what thin events leave out, and the current state of records whose events are
    older than their link: one call for the whole batch, before any lock."""
    echoes = _own_writes_only(entries)
    thin = {
        e.external_id
        for e in entries
        if _event(e).record is None and not _event(e).deleted and e.external_id not in echoes
    }
    carried = {
        external_id: record
        for external_id, record in _newest(entries).items()
        if record is not None and not record.deleted and external_id not in echoes
    }
    hints: set[str] = set()
    if carried:
        links = ctx.store.links_by_external(ctx.spec.name, sorted(carried))
        for external_id, record in carried.items():
            link = links.get(external_id)
            if link is not None and _older(record, link.external_updated_at):
                hints.add(external_id)
        ctx.summary.add("webhook.out_of_date", len(hints))
    fetched: dict[str, ExternalRecord] = {}
    wanted = sorted(thin | hints)
    if wanted:
        for record in ctx.connector.fetch_by_ids(ctx.spec.external_object, wanted):
            fetched[record.id] = record
        ctx.summary.add("webhook.fetched", len(fetched))
    return _Batch([e.id for e in entries], fetched, frozenset(hints))


def _older(record: ExternalRecord, seen: datetime | None) -> bool:
    """Whether ``record`` may be older than what the link saw: a record of no known age
    cannot show it is not, so it is fetched rather than trusted."""
    if seen is None:
        return False
    return record.updated_at is None or record.updated_at < seen


def _behind(record: ExternalRecord, seen: datetime | None) -> bool:
    """Whether ``record`` is known to be older than what the link saw."""
    return seen is not None and record.updated_at is not None and record.updated_at < seen


def _newest(entries: Sequence[InboxEntry]) -> dict[str, ExternalRecord | None]:
    """Per external id, the record its events leave: a delete or thin event after the
    others wins by arrival (None for thin); among records carried, the newest by update
    time (arrival order breaks ties and stands in where a time is missing)."""
    latest: dict[str, ExternalRecord | None] = {}
    for entry in entries:
        event = _event(entry)
        if event.deleted:
            record: ExternalRecord | None = ExternalRecord(event.external_id, {}, deleted=True)
        else:
            record = event.record
        held = latest.get(event.external_id)
        if (
            record is not None
            and not record.deleted
            and held is not None
            and not held.deleted
            and held.updated_at is not None
            and record.updated_at is not None
            and record.updated_at < held.updated_at
        ):
            continue  # arrived late: an older state than one already in hand
        latest.pop(event.external_id, None)
        latest[event.external_id] = record
    return latest


def _own_writes_only(entries: Sequence[InboxEntry]) -> set[str]:
    """Ids whose every event the system says we made (HubSpot's changeSource/sourceId): our
    own writes coming back, dropped without a fetch. One event from anyone else keeps the id."""
    own: dict[str, bool] = {}
    for entry in entries:
        event = _event(entry)
        mine = bool(event.extra.get("own_write")) and not event.deleted
        own[event.external_id] = own.get(event.external_id, True) and mine
    return {external_id for external_id, mine in own.items() if mine}


def _event(entry: InboxEntry) -> WebhookEvent:
    return event_from_data({**entry.event, "external_id": entry.external_id})


def _records(
    ctx: RunContext, tx: SyncTx, entries: Sequence[InboxEntry], batch: _Batch
) -> list[ExternalRecord]:
    """One record per external id (see :func:`_newest`), none older than its link."""
    echoes = _own_writes_only(entries)
    ctx.summary.add("webhook.own_writes", len(echoes))
    latest: dict[str, ExternalRecord | None] = {}
    for external_id, record in _newest(entries).items():
        if external_id in echoes:
            continue
        if record is None or (not record.deleted and external_id in batch.hints):
            # Thin, or a hint: the current record. Gone by now without a word of deletion:
            # nothing to apply, and no tombstone on the strength of a missing answer alone.
            record = batch.fetched.get(external_id)
        latest[external_id] = record
    gone = sum(1 for r in latest.values() if r is None)
    ctx.summary.add("webhook.gone", gone)
    records = [r for r in latest.values() if r is not None]
    # The link may have moved on since the peek (a poll applied a newer state): never back.
    links = tx.links_by_external([r.id for r in records if not r.deleted])
    fresh = [
        r
        for r in records
        if r.deleted or r.id not in links or not _behind(r, links[r.id].external_updated_at)
    ]
    ctx.summary.add("webhook.stale", len(records) - len(fresh))
    return fresh


def _apply_work(ctx: RunContext, batch: _Batch, linked_total: int) -> Callable[[SyncTx], int]:
    def work(tx: SyncTx) -> int:
        # Claimed again: rows another worker applied (or holds) since the peek are left out.
        entries = tx.claim_inbox(len(batch.ids), ids=batch.ids)
        if not entries:
            return 0
        records = _records(ctx, tx, entries, batch)
        if records:
            apply_page(
                ctx,
                tx,
                records,
                None,
                deletes_so_far=0,
                linked_total=linked_total,
            )
        tx.finish_inbox([e.id for e in entries])
        ctx.summary.add("webhook.applied", len(entries))
        return len(entries)

    return work


def _count_failure(store: Store, sync: str, ids: Sequence[int], exc: BaseException) -> None:
    """In a transaction of its own: the batch's own transaction was rolled back."""
    message = f"{type(exc).__name__}: {exc}"

    def work(tx: SyncTx) -> None:
        for entry_id in ids:
            tx.fail_inbox(entry_id, message)

    store.sync_write(sync, work)


def _failed(store: Store, ctx: RunContext, run_id: int | None, exc: BaseException) -> None:
    if run_id is not None:
        store.finish_sync_run(run_id, "failed", {**ctx.summary.as_dict(), "error": str(exc)})
    ctx.log.error("inbox_drain_failed", error=str(exc), error_type=type(exc).__name__)
