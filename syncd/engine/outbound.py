"""Outbound: CRM changes read from the journal (and the retry queue) written outside.

The journal is read after the sync's position; what the sync itself wrote is skipped (it is
already on the external side). Changes are grouped by record, the external side's current
state is fetched in one batch so a conflicting external edit is seen, the plan's writes go
to the connector in batches, and only then, in one transaction, do links move their base to
what the connector confirmed, failed records enter the retry queue, and the journal position
advances. A crash between the external write and that commit repeats the batch: updates are
idempotent, and creates carry the match key so the connector finds what it already made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from conflict import Action, Side
from connectors.base import ExternalRecord, WriteRequest, WriteResult
from mapping import MappingError, external_respelled
from store import (
    ConflictSpec,
    Link,
    LinkWrite,
    LogAction,
    LogDirection,
    LogSpec,
    Record,
    SyncTx,
    utcnow,
)
from store.errors import DuplicateError, RecordWriteError
from syncd.engine import associations, delete_edit, identity, intents, swaps
from syncd.engine.clock import external_changed_at
from syncd.engine.context import RunContext
from syncd.engine.diff import (
    RecordPlan,
    changed_at_by_record,
    describe_change,
    external_fields,
    next_base,
    plan_record,
    read_external,
)
from syncd.engine.filters import matches
from syncd.engine.inbound import apply_external_deletes, conflict_specs, most_recent_needed
from syncd.engine.log_rows import LogRows
from syncd.engine.waves import freeing_waves

__all__ = ["collect_journal", "push_records"]

JOURNAL_PAGE = 2000


def collect_journal(ctx: RunContext, after: int) -> tuple[list[int], int]:
    """CRM record ids changed after ``after`` by anyone but this sync, and the new position."""
    spec = ctx.spec
    ids: dict[int, None] = {}
    position = after
    while True:
        # The store leaves out other objects and this sync's own writes (inbound's, most of
        # the journal after a first sync), so they are neither sent nor decoded.
        entries, position = ctx.store.read_journal_of_others(
            spec.name, spec.crm_object, after=position, limit=JOURNAL_PAGE
        )
        for entry in entries:
            ids[entry.record_id] = None
            if entry.op == "merge" and entry.changes and "loser_id" in entry.changes:
                ids[int(entry.changes["loser_id"])] = None
        if len(entries) < JOURNAL_PAGE:
            return list(ids), position


@dataclass
class _Out:
    crm_id: int
    record: Record | None
    external_id: str | None
    base: dict[str, str | None] | None
    props: dict[str, str | None] = field(default_factory=dict)
    plan: RecordPlan | None = None
    request: WriteRequest | None = None
    delete: bool = False
    unlink_reason: str | None = None
    link: Link | None = None
    result: WriteResult | None = None
    #: Archived in the CRM, but edited outside since the last sync: restored with the edit.
    restore: bool = False
    #: The external version a delete is conditional on (None: a plain delete).
    version: str | None = None
    #: A create that found an unlinked external record by its match key: planned as a
    #: first match against it (an update, or only a link), never written over it.
    found: bool = False


@dataclass
class _Batch:
    logs: list[LogSpec] = field(default_factory=list)
    links: list[LinkWrite] = field(default_factory=list)
    done: list[int] = field(default_factory=list)
    failed: list[tuple[int, str, bool]] = field(default_factory=list)
    unlink: list[str] = field(default_factory=list)
    crm_updates: list[tuple[int, dict[str, str | None]]] = field(default_factory=list)
    # Linked external ids found gone because a create got the same id back (a reused id):
    # their CRM records get the sync's deletes.from_external rule in the commit.
    gone: list[str] = field(default_factory=list)
    restore: list[int] = field(default_factory=list)
    conflicts: list[ConflictSpec] = field(default_factory=list)
    #: Creates that became first matches: nothing was made outside, so their intents close.
    matched: list[int] = field(default_factory=list)


def push_records(ctx: RunContext, crm_ids: Sequence[int], *, position: int | None) -> None:
    """Plan, write outside and commit one batch of CRM records."""
    spec = ctx.spec
    store = ctx.store

    # Unlinked by an external delete (rule ignore): kept out until changed; changed since.
    kept: list[int] = []
    revived: list[int] = []
    # Values open conflicts keep, for the records this batch would delete outside.
    held: dict[int, dict[str, str | None]] = {}

    def read(tx: SyncTx) -> tuple[list[_Out], dict[int, dict[str, datetime]]]:
        links = tx.links_by_crm(list(crm_ids))
        if ctx.dry_run:
            links.update(_dry_links(ctx, crm_ids, tx.now))
        records = tx.get_records(spec.crm_object, list(crm_ids), include_archived=True)
        items, kept[:], revived[:] = identity.keep_unlinked(
            tx, _prepare(ctx, tx, crm_ids, links, records)
        )
        held.update(tx.held_values([i.crm_id for i in items if i.delete and i.external_id]))
        live = [i.crm_id for i in items if i.record is not None]
        if not live or not most_recent_needed(ctx):
            return items, {}
        changed = tx.changed_at(spec.crm_object, live, list(spec.field_names))
        return items, changed_at_by_record(changed)

    items, crm_changed = store.sync_write(spec.name, ctx.once(read), run_id=ctx.run_id)
    # Records to delete are read too: a delete goes ahead only against what was last synced.
    linked = [i.external_id for i in items if i.external_id and i.unlink_reason is None]
    external = (
        {r.id: r for r in ctx.connector.fetch_by_ids(spec.external_object, linked)}
        if linked
        else {}
    )
    batch = _Batch()
    batch.done.extend(kept)  # nothing to write for them: out of the outbox too
    ctx.summary.add("outbound.kept_unlinked", len(kept))
    for item in items:
        if item.delete:
            _check_delete(ctx, item, external, batch, held.get(item.crm_id))
        _plan(ctx, item, external, crm_changed, batch)
    # Creates are written down before they go out, so a crash cannot make them twice.
    intents.hold_or_record(ctx, items)
    _write_outside(ctx, items, batch, external, crm_changed)

    restoring = {i.crm_id: i.external_id for i in items if i.restore}

    def commit(tx: SyncTx) -> tuple[list[LogSpec], int]:
        # ``work`` may run twice (store.sync_write): what it adds to the batch is kept apart.
        logs = list(batch.logs)
        if batch.gone:  # before the links: the new record takes the reused id's link
            logs.extend(apply_external_deletes(ctx, tx, batch.gone))
        if revived:
            tx.forget_unlinked(revived)
        refused = _restore(ctx, tx, batch, restoring, logs)
        refused.update(_update_crm(ctx, tx, batch, logs))
        if batch.unlink:
            tx.delete_links(batch.unlink)
        links = [link for link in batch.links if link.crm_id not in refused]
        if links:
            tx.save_links(spec.crm_object, links)
        conflicts = [
            c
            for item in items
            if item.plan is not None and item.external_id
            for c in conflict_specs(item.plan, item.crm_id, item.external_id)
        ]
        conflicts.extend(batch.conflicts)
        if conflicts:
            tx.record_conflicts(spec.crm_object, conflicts)
        done = [crm_id for crm_id in batch.done if crm_id not in refused]
        if done:
            tx.outbound_done(done)
        for crm_id, error, retriable in [*batch.failed, *refused.values()]:
            tx.outbound_failed(crm_id, error, retriable=retriable, max_attempts=spec.retry_attempts)
        if logs:
            tx.log(spec.crm_object, logs)
        intents.close_settled(tx, items)
        if batch.matched:
            tx.close_create_intents(batch.matched)
        if position is not None:
            tx.set_journal_position(position)
        return logs, len(batch.restore) - len(refused)

    if ctx.dry_run:
        ctx.summary.planned.extend(batch.logs)
        ctx.summary.planned.extend(_restored(c, e) for c, e in restoring.items())
        ctx.summary.add("outbound.restored", len(restoring))
        return
    logs, restored = store.sync_write(spec.name, ctx.once(commit), run_id=ctx.run_id)
    ctx.summary.add("outbound.restored", restored)
    ctx.report(logs)


def _restore(
    ctx: RunContext,
    tx: SyncTx,
    batch: _Batch,
    external_ids: dict[int, str | None],
    logs: list[LogSpec],
) -> dict[int, tuple[int, str, bool]]:
    """Restore the records an edit outside brought back, each with the CRM writes its plan
    made in the same store call (the unique check then sees the values it comes back with).
    A refused restore leaves the record archived and its link and base as they were, and
    fails its outbox entry (retried when another record holds the value, which can go
    away): the external edit is kept outside and in the conflict row, never agreed to.
    Returns the refused ones, as ``batch.failed`` entries by CRM id."""
    if not batch.restore:
        return {}
    writes = {crm_id: props for crm_id, props in batch.crm_updates if crm_id in batch.restore}
    outcomes = tx.restore_records(ctx.spec.crm_object, batch.restore, writes)
    refused: dict[int, tuple[int, str, bool]] = {}
    for crm_id, outcome in zip(batch.restore, outcomes, strict=True):
        if isinstance(outcome, RecordWriteError):
            error = f"restore: {outcome}"
            logs.append(_error(crm_id, external_ids.get(crm_id), error))
            refused[crm_id] = (crm_id, error, isinstance(outcome, DuplicateError))
        else:
            logs.append(_restored(crm_id, external_ids.get(crm_id)))
    return refused


def _update_crm(
    ctx: RunContext, tx: SyncTx, batch: _Batch, logs: list[LogSpec]
) -> dict[int, tuple[int, str, bool]]:
    """Write what the plans took from outside into the CRM (restored records had theirs
    with the restore). A refused update is a failure of its record: its link keeps the base
    it had (moved to the plan's, the CRM's old value would look like a change the next
    pass writes over the external one) and its outbox entry is retried (another record
    holding the value can let go of it) or parked. Returns the refused, as ``_restore``."""
    updates = [u for u in batch.crm_updates if u[0] not in batch.restore]
    if not updates:
        return {}
    refused: dict[int, tuple[int, str, bool]] = {}
    outcomes = tx.update_records(ctx.spec.crm_object, updates)
    for (crm_id, _), outcome in zip(updates, outcomes, strict=True):
        if isinstance(outcome, RecordWriteError):
            logs.append(_error(crm_id, None, str(outcome)))
            refused[crm_id] = (crm_id, str(outcome), isinstance(outcome, DuplicateError))
    return refused


def _restored(crm_id: int, external_id: str | None) -> LogSpec:
    return _log(
        LogAction.UPDATED,
        crm_id,
        external_id,
        "archived in the CRM but edited outside since the last sync: restored with the edit"
        " (deletes.on_edit: keep_edit)",
    )


def _dry_links(ctx: RunContext, crm_ids: Sequence[int], now: datetime) -> dict[int, Link]:
    """The links this dry run's inbound made (rolled back since), as the real pass reads them."""
    spec = ctx.spec
    return {
        crm_id: Link(
            spec.name,
            made.external_id,
            spec.crm_object,
            crm_id,
            dict(made.base),
            made.external_updated_at,
            now,
            now,
        )
        for crm_id in crm_ids
        if (made := ctx.dry_links.get(crm_id)) is not None
    }


def _prepare(
    ctx: RunContext,
    tx: SyncTx,
    crm_ids: Sequence[int],
    links: dict[int, Any],
    records: dict[int, Record],
) -> list[_Out]:
    spec = ctx.spec
    items: list[_Out] = []
    _follow_merges(ctx, tx, links, records)
    assoc = associations.crm_values(ctx, tx, [i for i in crm_ids if i in records])
    for crm_id in crm_ids:
        link = links.get(crm_id)
        record = records.get(crm_id)
        item = _Out(
            crm_id, record, link.external_id if link else None, dict(link.base) if link else None
        )
        item.link = link
        if record is not None:
            known, unknown = assoc.get(crm_id, ({}, set()))
            props: dict[str, str | None] = {**record.properties, **known}
            for key in unknown:
                props[key] = (item.base or {}).get(key)
            item.props = props
        if record is None or record.archived:
            if link is not None:
                if record is not None and record.merged_into is not None:
                    item.unlink_reason = f"merged into CRM record {record.merged_into}"
                else:
                    # Rule ignore keeps the link: the external record stays as it is and
                    # inbound keeps it away from the archived record instead of re-creating it.
                    item.delete = spec.delete_from_crm in ("archive", "delete")
                items.append(item)
            continue
        if spec.crm_filters and not matches(spec.crm_filters, record.properties):
            if link is not None:
                item.unlink_reason = "no longer matches the sync's CRM filter"
                items.append(item)
            continue
        items.append(item)
    return items


def _follow_merges(
    ctx: RunContext, tx: SyncTx, links: dict[int, Any], records: dict[int, Record]
) -> None:
    """A merged-away record's link moves to the winner, unless the winner has one too: then
    two external records stand for one CRM record, which only a person can settle."""
    spec = ctx.spec
    merged = {
        crm_id: record.merged_into
        for crm_id, record in records.items()
        if record.merged_into is not None and crm_id in links
    }
    if not merged:
        return
    winners = tx.links_by_crm(sorted(set(merged.values())))
    logs: list[LogSpec] = []
    for loser, winner in merged.items():
        held = winners.get(winner) or links.get(winner)
        if held is not None:
            logs.append(
                _error(
                    winner,
                    links[loser].external_id,
                    f"CRM records {loser} and {winner} were merged, but both are linked"
                    f" ({links[loser].external_id} and {held.external_id}); merge or unlink"
                    " them in the external system, then run the sync again",
                )
            )
            ctx.summary.add("outbound.merge_conflicts")
            continue
        tx.relink(loser, winner)
        link = links.pop(loser)
        links[winner] = tx.links_by_crm([winner])[winner]
        logs.append(
            _log(
                LogAction.LINKED,
                winner,
                link.external_id,
                f"CRM record {loser} was merged into {winner}; the link moved",
            )
        )
        ctx.summary.add("outbound.relinked")
    tx.log(spec.crm_object, logs)


def _plan(
    ctx: RunContext,
    item: _Out,
    external: dict[str, ExternalRecord],
    crm_changed: dict[int, dict[str, datetime]],
    batch: _Batch,
) -> None:
    spec = ctx.spec
    if item.delete or item.unlink_reason or item.record is None or item.record.archived:
        return
    crm = item.props
    if item.external_id is None:
        # Created in the CRM: create outside with every outbound field; the match key lets a
        # retry after a lost response find the record instead of making a second one.
        try:
            fields = external_fields(
                spec, {}, {k: v for k, v in crm.items() if k in spec.field_names}
            )
        except MappingError as exc:
            batch.logs.append(_error(item.crm_id, None, str(exc)))
            batch.failed.append((item.crm_id, str(exc), False))
            return
        if not fields:
            return
        match = None
        if spec.match_crm and spec.match_external and crm.get(spec.match_crm):
            match_fields = external_fields(spec, {}, {spec.match_crm: crm[spec.match_crm]})
            if spec.match_external in match_fields:
                match = (spec.match_external, match_fields[spec.match_external])
        item.request = WriteRequest(f"{spec.name}:{item.crm_id}", None, fields, match)
        return
    current = external.get(item.external_id)
    if current is None:
        # Linked, but gone outside: the inbound side (or reconciliation) applies the delete.
        return
    try:
        ext_values = read_external(spec, current.fields)
        ext_values.update(associations.external_values(spec, current.fields))
    except MappingError as exc:
        batch.logs.append(_error(item.crm_id, item.external_id, str(exc)))
        batch.failed.append((item.crm_id, str(exc), False))
        return
    if item.link is not None:  # a value syncd emptied to break a ring is agreed empty
        item.link = swaps.agreed(item.link, ext_values)
        item.base = dict(item.link.base)
    plan = plan_record(
        spec,
        base=item.base,
        crm=crm,
        external=ext_values,
        crm_changed_at=crm_changed.get(item.crm_id, {}),
        external_changed_at=external_changed_at(
            current.updated_at, item.link, item.base, ext_values, utcnow()
        ),
    )
    item.plan = plan
    props = {k: v for k, v in plan.crm_writes.items() if not associations.is_key(k)}
    if props:
        batch.crm_updates.append((item.crm_id, props))
    # A value the outside spells otherwise than the CRM's one spelling (a lowercase email
    # linked as ``ADA@x.io``) is written with it, so both sides agree after this pass.
    respelled = external_respelled(spec.mappings, {**crm, **plan.crm_writes}, current.fields)
    if plan.external_writes or respelled:
        try:
            fields = external_fields(spec, crm, plan.external_writes)
        except MappingError as exc:
            batch.logs.append(_error(item.crm_id, item.external_id, str(exc)))
            batch.failed.append((item.crm_id, str(exc), False))
            item.plan = None
            return
        item.request = WriteRequest(
            f"{spec.name}:{item.crm_id}", item.external_id, {**respelled, **fields}
        )
    else:
        batch.links.append(
            LinkWrite(item.external_id, item.crm_id, plan.base, current.updated_at, current.version)
        )
        batch.done.append(item.crm_id)


def _check_delete(
    ctx: RunContext,
    item: _Out,
    external: dict[str, ExternalRecord],
    batch: _Batch,
    held: dict[str, str | None] | None,
) -> None:
    """A CRM archive meets the external record as it is now: edited there since the last
    sync, the edit wins (``keep_edit``: the CRM record comes back with it) or the delete goes
    ahead (``on_edit: delete``); a conflict row keeps both sides. The delete is conditional
    on the version compared here, so an edit made after this read is never lost either."""
    spec = ctx.spec
    assert item.external_id is not None
    current = external.get(item.external_id)
    link = item.link
    if current is None or link is None:
        # Gone already, or not readable: the delete is conditional on the version last synced.
        item.version = link.external_version if link is not None else None
        return
    item.version = current.version
    try:
        values = read_external(spec, current.fields)
    except MappingError:
        values = {}
    link = item.link = swaps.agreed(link, values)
    crm = item.record.properties if item.record is not None else None
    if not delete_edit.external_edited(spec, link, current, values, held, crm):
        item.version = link.external_version or current.version
        return
    batch.conflicts.append(
        delete_edit.conflict(
            spec,
            crm_id=item.crm_id,
            external_id=item.external_id,
            deleted=Side.CRM,
            base=link.base,
            crm=None,
            external=values,
        )
    )
    ctx.summary.add("conflicts.settled")
    if not delete_edit.keeps_edit(spec) or item.record is None:
        return  # the delete goes ahead (a record purged from the CRM cannot come back)
    item.delete = False
    item.restore = True
    item.record = replace(item.record, archived=False)
    batch.restore.append(item.crm_id)


def _write_outside(
    ctx: RunContext,
    items: list[_Out],
    batch: _Batch,
    external: dict[str, ExternalRecord],
    crm_changed: dict[int, dict[str, datetime]],
) -> None:
    spec = ctx.spec
    writes = [i for i in items if i.request is not None]
    deletes = [i for i in items if i.delete and i.external_id]
    for item in items:
        if item.unlink_reason and item.external_id:
            batch.unlink.append(item.external_id)
            batch.logs.append(
                _log(LogAction.UNLINKED, item.crm_id, item.external_id, item.unlink_reason)
            )
            ctx.summary.add("outbound.unlinked")
    if ctx.dry_run:
        doomed = {i.external_id for i in deletes if i.external_id}
        writes, found = identity.refuse_taken(ctx, writes, batch, deleted=doomed)
        for item in writes:
            assert item.request is not None
            hit = found.get(item.crm_id)
            external_id = item.external_id or (hit.id if hit is not None else None)
            if item.external_id is None:
                action = LogAction.LINKED if external_id else LogAction.CREATED
            else:
                action = LogAction.UPDATED
            batch.logs.append(
                _log(
                    action,
                    item.crm_id,
                    external_id,
                    _matched(spec) if action is LogAction.LINKED else None,
                    {"fields": sorted(item.request.fields)},
                )
            )
            ctx.summary.add(f"outbound.{action.value}")
        for item in deletes:
            batch.logs.append(_log(LogAction.DELETED, item.crm_id, item.external_id))
        ctx.summary.add("outbound.deleted", len(deletes))
        return
    # Deletes first: a create never adopts the record this batch deletes (its match value,
    # an email the archived record gave up, would find it), and an id a delete freed that a
    # create gets back is the new record's.
    deleted = _delete_outside(ctx, deletes, batch)
    # Updates before creates, for the same reason: an update that gives a linked record a
    # new match value frees the old one, and a create of that old value must not be refused
    # (or adopt the record) as if the value were still taken.
    updates = [i for i in writes if i.external_id is not None]
    waves = _freeing_first(ctx, updates, external)
    for n, wave in enumerate(waves):
        # Rings (a swap of emails) wait in the last wave: refused there, they are broken.
        _send(ctx, wave, batch, deleted=deleted, rings=external if n == len(waves) - 1 else None)
    creates, found = identity.refuse_taken(
        ctx, [i for i in writes if i.external_id is None], batch, deleted=deleted
    )
    matched = [i for i in creates if i.crm_id in found]
    for item in matched:
        _plan_found(ctx, item, found[item.crm_id], crm_changed, batch)
    _send(ctx, [i for i in matched if i.request is not None], batch, deleted=deleted)
    _send(ctx, [i for i in creates if i.crm_id not in found], batch, deleted=deleted)


def _plan_found(
    ctx: RunContext,
    item: _Out,
    record: ExternalRecord,
    crm_changed: dict[int, dict[str, datetime]],
    batch: _Batch,
) -> None:
    """A create whose match value an unlinked external record already holds is that
    record's first match, as inbound would make it: fields both sides fill differently
    follow the sync's rule (``manual`` holds them, a winner's overwrite is kept in the
    conflict row), an empty side is filled. Written as a create, the connector would adopt
    the record and overwrite its own values with the CRM's, kept nowhere (a customer the
    shop re-created while its row's first read waited for a retry)."""
    item.external_id, item.found = record.id, True
    item.request = None
    batch.matched.append(item.crm_id)
    _plan(ctx, item, {record.id: record}, crm_changed, batch)
    if item.plan is not None and item.request is None:  # both sides agree: only a link
        batch.logs.append(_log(LogAction.LINKED, item.crm_id, record.id, _matched(ctx.spec)))
        ctx.summary.add("outbound.linked")


def _freeing_first(
    ctx: RunContext, updates: list[_Out], external: dict[str, ExternalRecord]
) -> list[list[_Out]]:
    """``updates`` in waves, each one that gives up a match value in a wave before the one
    taking it: the CRM moves Bo to a new email and gives Ann Bo's old one. Order within one
    request is not enough, since a batch API (HubSpot's) checks every input against the
    records as they were before the batch (see ``waves``)."""
    field_name = ctx.spec.match_external
    if field_name is None or len(updates) < 2:
        return [updates]
    moves = [swaps.move(item, external, field_name) for item in updates]
    return [[updates[i] for i in wave] for wave in freeing_waves(moves)]


def _send(
    ctx: RunContext,
    writes: list[_Out],
    batch: _Batch,
    *,
    deleted: set[str],
    rings: dict[str, ExternalRecord] | None = None,
) -> None:
    """Write ``writes`` outside in chunks of the sync's batch size and settle each answer.

    With ``rings`` (the records as read before the pass wrote), updates refused because
    they swap a match value among themselves are written again through an empty value
    (``swaps``) before their answers are settled."""
    results = swaps.written(ctx, [i.request for i in writes if i.request is not None])
    if rings is not None:
        results = swaps.land(ctx, writes, results, rings)
    claimed = identity.claimed_elsewhere(ctx, writes, results, deleted=deleted)
    for item, result in zip(writes, results, strict=True):
        item.result = result
        claim = claimed.get(item.crm_id)
        if claim is None or identity.settle_claim(ctx, item, result, claim, batch):
            _confirm(ctx, item, result, batch)


def _delete_outside(ctx: RunContext, deletes: list[_Out], batch: _Batch) -> set[str]:
    """Delete outside what ``deletes.from_crm`` asks; the external ids deleted."""
    spec = ctx.spec
    deleted: set[str] = set()
    if deletes:
        results = ctx.connector.delete_versions(
            spec.external_object,
            [i.external_id for i in deletes if i.external_id],
            [i.version for i in deletes if i.external_id],
        )
        for item, result in zip(deletes, results, strict=True):
            assert item.external_id is not None
            if result.ok:
                deleted.add(item.external_id)
                batch.unlink.append(item.external_id)
                batch.done.append(item.crm_id)
                batch.logs.append(
                    _log(
                        LogAction.DELETED,
                        item.crm_id,
                        item.external_id,
                        f"archived in the CRM; rule {spec.delete_from_crm}",
                    )
                )
                ctx.summary.add("outbound.deleted")
            else:
                _failed(ctx, item, result, batch)
    return deleted


def _matched(spec: Any) -> str:
    return f"a create found the record by {spec.match_external}"


def _confirm(ctx: RunContext, item: _Out, result: WriteResult, batch: _Batch) -> None:
    spec = ctx.spec
    assert item.request is not None
    if not result.ok or not (result.external_id or item.external_id):
        _failed(ctx, item, result, batch)
        return
    external_id = result.external_id or item.external_id
    assert external_id is not None
    # No external time on a link we just updated: whatever the next read brings back first
    # is our own write returning, which inbound then recognises and counts as an echo.
    seen_at = None
    message = None
    if item.plan is None:  # created outside: both sides now hold the CRM's values
        # A record we made keeps the time the system gave it: a record created later with
        # its id (a database reusing a deleted row's id) is then told apart from it.
        seen_at = result.record.updated_at if result.record is not None else None
        base = {k: v for k, v in item.props.items() if k in spec.field_names}
        # A field the create carries but did not send (empty in the CRM) is agreed empty:
        # absent from the base, an edit outside of it would look like no change at all
        # (and a delete of the record would take that edit with it).
        for carried in spec.fields:
            if carried.direction.allows(Side.EXTERNAL) and not associations.is_key(carried.name):
                base.setdefault(carried.name, None)
        written = item.request.fields
        # The connector found the record by the match key and wrote to it: a link.
        action = LogAction.LINKED if result.matched else LogAction.CREATED
        message = _matched(spec) if result.matched else None
        changes = describe_change({}, {k: v for k, v in base.items() if v is not None})
    else:
        base = next_base(item.plan.decision, confirmed_external=True)
        written = item.request.fields
        action = LogAction.LINKED if item.found else LogAction.UPDATED
        message = _matched(spec) if item.found else None
        before = {
            d.field: d.external_value
            for d in item.plan.decision.fields
            if d.action is Action.TO_EXTERNAL
        }
        changes = describe_change(before, item.plan.external_writes)
    # The version the connector read back is the one this base was agreed at.
    version = result.record.version if result.record is not None else None
    batch.links.append(LinkWrite(external_id, item.crm_id, base, seen_at, version))
    batch.done.append(item.crm_id)
    batch.logs.append(
        _log(action, item.crm_id, external_id, message, changes or {"fields": sorted(written)})
    )
    ctx.summary.add(f"outbound.{action.value}")


def _failed(ctx: RunContext, item: _Out, result: WriteResult, batch: _Batch) -> None:
    error = result.error or "the connector reported no id for the record"
    batch.failed.append((item.crm_id, error, result.retriable))
    batch.logs.append(_error(item.crm_id, item.external_id, error))
    ctx.summary.add("outbound.errors")


_ROWS = LogRows(LogDirection.OUTBOUND)
_log = _ROWS.entry
_error = _ROWS.error
