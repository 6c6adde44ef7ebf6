"""Inbound: one page of external changes applied to the CRM in one transaction.

For a page: links are looked up in one query, unlinked records are matched by the match key
or created, fields are mapped, diffed against the base and resolved, and the CRM writes, new
bases, conflicts, log rows and the cursor commit together (``Store.sync_write``). Any
exception leaves all of them as they were, so the next run starts from the same cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from conflict import NO_BASE, Rule, Side
from connectors.base import Cursor, ExternalRecord
from mapping import MappingError, crm_respelled, external_respelled
from store import (
    ConflictSpec,
    Link,
    LinkWrite,
    LogAction,
    LogDirection,
    LogSpec,
    Record,
    Store,
    SyncTx,
)
from store.errors import DuplicateError, RecordWriteError
from syncd.engine import associations, delete_edit, intents, swaps
from syncd.engine.clock import external_changed_at
from syncd.engine.context import RunContext
from syncd.engine.diff import (
    RecordPlan,
    changed_at_by_record,
    describe_change,
    plan_record,
    read_external,
)
from syncd.engine.filters import matches
from syncd.engine.log_rows import LogRows
from syncd.engine.spec import SyncSpec

__all__ = [
    "apply_external_deletes",
    "apply_page",
    "conflict_specs",
    "linked_total",
    "most_recent_needed",
]


class MassDeleteBrake(Exception):
    """A page would delete more than the sync allows; nothing of it was written."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Pending:
    """One external record on its way through the page."""

    record: ExternalRecord
    values: dict[str, str | None]
    crm_id: int | None = None
    base: dict[str, str | None] | None = None
    plan: RecordPlan | None = None
    matched: bool = False
    refused: bool = False  # matched a CRM record that is linked already: neither linked nor created
    seen_at: datetime | None = None
    link: Link | None = None


@dataclass
class _PageWork:
    logs: list[LogSpec] = field(default_factory=list)
    links: list[LinkWrite] = field(default_factory=list)
    conflicts: list[ConflictSpec] = field(default_factory=list)
    # One log row per conflict seen, logged only if the conflict is new (see _finish_page).
    conflict_logs: list[LogSpec] = field(default_factory=list)
    push: set[int] = field(default_factory=set)
    # External ids refused for a reason the CRM can clear (a unique value another record
    # holds, a match already linked): parked, and retried by the sync itself after a back-off.
    retry_later: set[str] = field(default_factory=set)
    # CRM records linked this page by the match key: one whose create is open or parked
    # (its answer was lost) is settled by the record it matched (see _finish_page).
    matched: set[int] = field(default_factory=set)


#: How many ids a first pass remembers as linked by its own pages (``RunContext.linked``)
#: before it goes back to looking each page's links up: the set would otherwise grow with
#: the source (a million ids is about 80 MB) where the pass's memory must stay flat.
LINKS_KEPT_IN_MEMORY = 100_000


def linked_total(store: Store, spec: SyncSpec) -> int:
    """How many records the sync links, for the mass-delete brake's share.

    The brake judges CRM writes only, and with ``deletes.from_external: ignore`` an external
    delete writes nothing to the CRM: the count (a scan of the sync's links, the costliest
    read of a quiet pass) is then never used, and not asked for.
    """
    if spec.delete_from_external not in ("archive", "delete"):
        return 0
    return store.count_links(spec.name)


#: A record's values in CRM form (``read_external`` and its associations), or why not.
Mapped = dict[str, str | None] | MappingError


def map_record(spec: SyncSpec, record: ExternalRecord) -> Mapped:
    """``record``'s values in CRM form; pure, so it may run ahead of the page's write."""
    try:
        values = read_external(spec, record.fields)
        values.update(associations.external_values(spec, record.fields))
    except MappingError as exc:
        return exc
    return values


def most_recent_needed(ctx: RunContext) -> bool:
    spec = ctx.spec
    return spec.default_rule is Rule.MOST_RECENT or any(
        f.rule is Rule.MOST_RECENT for f in spec.fields
    )


def apply_page(
    ctx: RunContext,
    tx: SyncTx,
    records: Sequence[ExternalRecord],
    cursor: Cursor | None,
    *,
    deletes_so_far: int,
    linked_total: int,
    mapped: Mapping[int, Mapped] | None = None,
) -> int:
    """Apply one page inside ``tx``; returns how many deletes it made (for the brake).

    ``mapped``: :func:`map_record` of the page's records, by ``id(record)``, where it ran
    ahead (``syncd.engine.ahead``); the others are mapped here.
    """
    spec = ctx.spec
    latest: dict[str, ExternalRecord] = {}
    for record in records:  # a page may carry one id twice: the later state wins
        latest[record.id] = record
    if ctx.linked is not None and ctx.linked.isdisjoint(latest):
        links: dict[str, Link] = {}  # a first pass: no link but its own pages', none of these
    else:
        links = tx.links_by_external(list(latest))
    work = _PageWork()

    gone = [r for r in latest.values() if r.deleted]
    reborn = _reborn(latest.values(), links)
    if reborn:
        # The linked record was deleted and a new one got its id: the old one's delete
        # follows the sync's rule, and the new one is read below as any unlinked record.
        gone += [ExternalRecord(r.id, {}, deleted=True) for r in reborn]
        _log_reborn(ctx, reborn, links, work)
    deletes = _apply_deletes(ctx, tx, gone, links, work, deletes_so_far, linked_total)
    for record in reborn:
        links.pop(record.id, None)

    pending: list[_Pending] = []
    for record in latest.values():
        if record.deleted:
            continue
        link = links.get(record.id)
        if spec.external_filters and not matches(spec.external_filters, record.fields):
            if link is not None:
                tx.delete_links([record.id])
                work.logs.append(
                    _log(
                        LogAction.UNLINKED,
                        link.crm_id,
                        record.id,
                        "no longer matches the sync's external filter",
                    )
                )
                ctx.summary.add("inbound.unlinked")
            else:
                ctx.summary.add("inbound.filtered")
            continue
        read = mapped.get(id(record)) if mapped else None
        if read is None:
            read = map_record(spec, record)
        if isinstance(read, MappingError):
            work.logs.append(_error(link.crm_id if link else None, record.id, str(read)))
            ctx.summary.add("inbound.errors")
            continue
        item = _Pending(record, dict(read))
        if link is not None:
            link = swaps.agreed(link, item.values)  # a value syncd emptied is agreed empty
            item.crm_id, item.base = link.crm_id, dict(link.base)
            item.seen_at, item.link = link.external_updated_at, link
        pending.append(item)

    # Linked records first, then matching: a value a linked record gives up on this page
    # (an email changed outside) is free by the time a new record of the page asks for it.
    linked = [p for p in pending if p.crm_id is not None]
    unlinked = [p for p in pending if p.crm_id is None]
    _plan_existing(ctx, tx, linked, _crm_records(ctx, tx, linked), work)
    _match(ctx, tx, unlinked, work)
    intents.claim_unlinked(ctx, tx, [p for p in unlinked if p.crm_id is None], work.logs)
    matched = [p for p in unlinked if p.crm_id is not None]
    if matched:
        _plan_existing(ctx, tx, matched, _crm_records(ctx, tx, matched), work)
    _create(ctx, tx, [p for p in unlinked if p.crm_id is None and not p.refused], work)

    _finish_page(ctx, tx, work, cursor, list(latest))
    return deletes


def _reborn(records: Iterable[ExternalRecord], links: dict[str, Any]) -> list[ExternalRecord]:
    """Linked records the system made after the state their link agreed on.

    A record cannot be created after it was last seen changed, so one whose creation time
    is later than its link's last external change time is another record with the id of
    a deleted one. Both times are the external system's clock; a system that gives no
    creation time (or no change time) is never judged so.
    """
    return [
        r
        for r in records
        if not r.deleted
        and r.created_at is not None
        and (link := links.get(r.id)) is not None
        and link.external_updated_at is not None
        and r.created_at > link.external_updated_at
    ]


def _log_reborn(
    ctx: RunContext, reborn: list[ExternalRecord], links: dict[str, Any], work: _PageWork
) -> None:
    for record in reborn:
        link = links[record.id]
        work.logs.append(
            _log(
                LogAction.UNLINKED,
                link.crm_id,
                record.id,
                f"the linked record was deleted and a new one made with its id (created"
                f" {record.created_at:%Y-%m-%d %H:%M:%S}, after the old one's last change"
                f" {link.external_updated_at:%Y-%m-%d %H:%M:%S}): the delete is applied and"
                " the new record read as new",
            )
        )
        ctx.summary.add("inbound.reused_ids")


def _crm_records(ctx: RunContext, tx: SyncTx, items: list[_Pending]) -> dict[int, Record]:
    ids = [p.crm_id for p in items if p.crm_id is not None]
    if not ids:
        return {}
    return tx.get_records(ctx.spec.crm_object, ids, include_archived=True)


def _finish_page(
    ctx: RunContext, tx: SyncTx, work: _PageWork, cursor: Cursor | None, page_ids: list[str]
) -> None:
    """Links, conflicts, the outbound queue, parked errors, the log and the cursor: last in
    the transaction. A record that failed is parked for an operator (never dropped); one
    that applied clears any error parked for it earlier."""
    spec = ctx.spec
    failed = {
        entry.external_id: entry.message or "failed"
        for entry in work.logs
        if entry.action is LogAction.ERROR and entry.external_id
    }
    if failed:
        ctx.parked_inbound = True  # before the write: a rolled-back page stays on the safe side
        tx.inbound_failed(failed, retry_later=work.retry_later & failed.keys())
    applied = [i for i in page_ids if i not in failed]
    if applied and ctx.parked_inbound:
        tx.inbound_done(applied)
    associations.resolve_pending(ctx, tx, work.logs)
    if work.links:
        if ctx.linked is not None:
            ctx.linked.update(link.external_id for link in work.links)
            if len(ctx.linked) > LINKS_KEPT_IN_MEMORY:
                ctx.linked = None  # a large first sync: memory stays flat, pages look links up
        tx.save_links(spec.crm_object, work.links)
    if work.matched:
        _settle_matched_creates(tx, work.matched)
    if work.conflicts:
        # A held (manual) conflict is seen again by every pass that reads the record (the
        # lookback window): logged when it opens or its values change, not each time.
        fresh = {
            (c.crm_id, c.field) for c in tx.record_new_conflicts(spec.crm_object, work.conflicts)
        }
        work.logs.extend(
            entry
            for entry in work.conflict_logs
            if (entry.crm_id, (entry.changes or {}).get("field")) in fresh
        )
    if work.push:
        tx.queue_outbound(sorted(work.push))
    if work.logs:
        tx.log(spec.crm_object, work.logs)
        ctx.report(work.logs)
        if ctx.dry_run:
            ctx.summary.planned.extend(work.logs)
    if ctx.dry_run:
        ctx.dry_links.update((link.crm_id, link) for link in work.links)
        ctx.dry_push.update(work.push)
    if cursor is not None:
        tx.set_cursor(cursor)


def _apply_deletes(
    ctx: RunContext,
    tx: SyncTx,
    gone: list[ExternalRecord],
    links: dict[str, Any],
    work: _PageWork,
    so_far: int,
    linked_total: int,
    *,
    brake: bool = True,
) -> int:
    spec = ctx.spec
    linked = [r for r in gone if r.id in links]
    rule = spec.delete_from_external
    if rule in ("archive", "delete") and linked:
        # One read serves both checks (archived records too: they are never purged).
        records = tx.get_records(
            spec.crm_object, [links[r.id].crm_id for r in linked], include_archived=True
        )
        linked = _keep_crm_edits(ctx, tx, linked, links, records, work)
        if rule == "delete":
            linked = _spare_archived(ctx, tx, linked, links, records, work)
    writes = len(linked) if rule in ("archive", "delete") else 0
    total = so_far + writes
    if brake and writes and spec.brake_trips(total, linked_total):
        raise MassDeleteBrake(
            f"this run would {rule} {total} CRM records of {linked_total} linked"
            f" (limit {spec.brake_count} records or {spec.brake_share:.0%});"
            f" check the external system, then run `syncd sync {spec.name} --allow-deletes`"
        )
    ids = [links[r.id].crm_id for r in linked]
    outcomes: list[object]
    if rule == "archive" and ids:
        outcomes = list(tx.archive_records(spec.crm_object, ids))
        action = LogAction.ARCHIVED
    elif rule == "delete" and ids:
        outcomes = list(tx.purge_records(spec.crm_object, ids))
        action = LogAction.DELETED
    else:
        outcomes = [None] * len(ids)
        action = LogAction.UNLINKED
    for record, crm_id, outcome in zip(linked, ids, outcomes, strict=True):
        if isinstance(outcome, RecordWriteError) and "archived" not in str(outcome):
            work.logs.append(_error(crm_id, record.id, f"delete from external: {outcome}"))
            ctx.summary.add("inbound.errors")
            continue
        work.logs.append(
            _log(action, crm_id, record.id, f"deleted in the external system; rule {rule}")
        )
        ctx.summary.add(f"inbound.{action.value}")
    if linked:
        tx.delete_links([r.id for r in linked])
    if linked and rule == "ignore":
        # Kept and unlinked, as configured: remembered, so that outbound does not create it
        # outside again (a `--full` pass reads every record) until it changes in the CRM.
        tx.remember_unlinked({links[r.id].crm_id: r.id for r in linked})
    ctx.summary.add("inbound.ignored_deletes", len(gone) - len(linked))
    return writes


def _spare_archived(
    ctx: RunContext,
    tx: SyncTx,
    gone: list[ExternalRecord],
    links: dict[str, Any],
    records: dict[int, Record],
    work: _PageWork,
) -> list[ExternalRecord]:
    """``gone`` without the records whose CRM record is archived already: those are only
    unlinked, never purged.

    The CRM user archived the record first, so the external record's disappearance is our
    own delete (``deletes.from_crm``) whose answer a crash lost, or a delete that agrees with
    the CRM's: either way the record stays archived, restorable with its history, as it
    would after a pass that kept its delete's answer.
    """
    spared = [r for r in gone if (rec := records.get(links[r.id].crm_id)) and rec.archived]
    if not spared:
        return gone
    tx.delete_links([r.id for r in spared])
    for record in spared:
        work.logs.append(
            _log(
                LogAction.UNLINKED,
                links[record.id].crm_id,
                record.id,
                "deleted in the external system; the CRM record was archived already and"
                " stays archived",
            )
        )
        ctx.summary.add("inbound.unlinked")
    kept = {r.id for r in spared}
    return [r for r in gone if r.id not in kept]


def apply_external_deletes(
    ctx: RunContext, tx: SyncTx, external_ids: Sequence[str]
) -> list[LogSpec]:
    """Linked external records found gone outside a page (their id came back for another
    record): ``deletes.from_external`` applies as for a tombstone. One record at a time,
    found by a write, so the mass-delete brake does not judge it. Returns the log rows."""
    links = tx.links_by_external(list(external_ids))
    gone = [ExternalRecord(i, {}, deleted=True) for i in dict.fromkeys(external_ids)]
    work = _PageWork()
    _apply_deletes(ctx, tx, gone, links, work, 0, 0, brake=False)
    # A CRM record edited since the last sync stays (deletes.on_edit): its conflict row and
    # its way out again are kept too.
    if work.conflicts:
        tx.record_conflicts(ctx.spec.crm_object, work.conflicts)
    if work.push:
        tx.queue_outbound(sorted(work.push))
    return work.logs


def _keep_crm_edits(
    ctx: RunContext,
    tx: SyncTx,
    linked: list[ExternalRecord],
    links: dict[str, Any],
    records: dict[int, Record],
    work: _PageWork,
) -> list[ExternalRecord]:
    """The deletes that go ahead. A CRM record edited since the last sync meets a delete
    outside: a conflict row keeps both sides; with ``on_edit: keep_edit`` the CRM record
    stays, is unlinked and goes out again as a new external record (outbound creates it)."""
    spec = ctx.spec
    go: list[ExternalRecord] = []
    kept: list[str] = []
    held = tx.held_values([links[r.id].crm_id for r in linked], side="crm")
    for gone in linked:
        link = links[gone.id]
        record = records.get(link.crm_id)
        if (
            record is None
            or record.archived
            or not delete_edit.crm_edited(spec, link.base, record.properties, held.get(link.crm_id))
        ):
            go.append(gone)
            continue
        work.conflicts.append(
            delete_edit.conflict(
                spec,
                crm_id=link.crm_id,
                external_id=gone.id,
                deleted=Side.EXTERNAL,
                base=link.base,
                crm={k: record.properties.get(k) for k in spec.field_names},
                external=None,
            )
        )
        ctx.summary.add("conflicts.settled")
        if not delete_edit.keeps_edit(spec):
            go.append(gone)
            continue
        kept.append(gone.id)
        work.push.add(link.crm_id)
        work.logs.append(
            _log(
                LogAction.UNLINKED,
                link.crm_id,
                gone.id,
                "deleted in the external system but edited in the CRM since the last sync:"
                " kept, and created there again (deletes.on_edit: keep_edit)",
            )
        )
        ctx.summary.add("inbound.kept_edits")
    if kept:
        tx.delete_links(kept)
    return go


def _restore_edited(
    ctx: RunContext, items: list[_Pending], crm: dict[int, Record], held: dict[int, Any]
) -> tuple[list[ConflictSpec], set[int]]:
    """Linked CRM records archived in the CRM whose external record was edited since the
    last sync: a conflict row keeps both sides each; with ``on_edit: keep_edit`` the CRM
    record comes back with the edit. Returns the rows and the CRM ids to restore; those are
    live in ``crm`` from here on, so that the edit is planned like any other, and the
    restore is written together with its outcome (see ``_write_restores``)."""
    spec = ctx.spec
    edited = [
        p
        for p in items
        if p.link is not None
        and p.crm_id is not None
        and delete_edit.external_edited(
            spec, p.link, p.record, p.values, held.get(p.crm_id), crm[p.crm_id].properties
        )
    ]
    conflicts = []
    for item in edited:
        assert item.link is not None and item.crm_id is not None
        conflicts.append(
            delete_edit.conflict(
                spec,
                crm_id=item.crm_id,
                external_id=item.record.id,
                deleted=Side.CRM,
                base=item.link.base,
                crm=None,
                external=item.values,
            )
        )
        ctx.summary.add("conflicts.settled")
    if not delete_edit.keeps_edit(spec):
        return conflicts, set()
    restoring = {p.crm_id for p in edited if p.crm_id is not None}
    for crm_id in restoring:
        crm[crm_id] = replace(crm[crm_id], archived=False, archived_at=None)
    return conflicts, restoring


def _archived_edited(
    ctx: RunContext, tx: SyncTx, items: list[_Pending], crm: dict[int, Record], work: _PageWork
) -> set[int]:
    """The CRM ids ``_restore_edited`` brings back (conflict rows in ``work``)."""
    if ctx.spec.delete_from_crm not in ("archive", "delete"):
        return set()
    archived = [
        p
        for p in items
        if p.crm_id in crm
        and crm[p.crm_id].archived
        and crm[p.crm_id].merged_into is None
        and p.link is not None
    ]
    if not archived:
        return set()
    held = tx.held_values([p.crm_id for p in archived if p.crm_id is not None])
    conflicts, restoring = _restore_edited(ctx, archived, crm, held)
    work.conflicts.extend(conflicts)
    return restoring


def _write_restores(
    ctx: RunContext,
    tx: SyncTx,
    items: list[_Pending],
    restores: list[tuple[int, dict[str, str | None]]],
    work: _PageWork,
) -> dict[int, Record | RecordWriteError]:
    """Restore the records the edit outside brought back, each with its CRM writes in the
    same store call: the unique check sees the values it comes back with (an email the
    edit moves away is not refused as the one it had). A refused restore leaves the record
    archived, its link and base as they were, and the external record parked (retried
    when the refusal is a value another record holds, which can go away)."""
    if not restores:
        return {}
    spec = ctx.spec
    ids = [crm_id for crm_id, _ in restores]
    outcomes = dict(zip(ids, tx.restore_records(spec.crm_object, ids, dict(restores)), strict=True))
    by_crm = {p.crm_id: p for p in items if p.crm_id in outcomes}
    for crm_id, outcome in outcomes.items():
        item = by_crm[crm_id]
        if isinstance(outcome, RecordWriteError):
            continue  # logged by the caller with the other refused writes
        work.logs.append(
            _log(
                LogAction.UPDATED,
                crm_id,
                item.record.id,
                "archived in the CRM but edited outside since the last sync: restored with"
                " the edit (deletes.on_edit: keep_edit)",
            )
        )
        ctx.summary.add("inbound.restored")
    return outcomes


def _match(ctx: RunContext, tx: SyncTx, unlinked: list[_Pending], work: _PageWork) -> None:
    """Tie unlinked records to existing CRM records by the match key, never two to one."""
    spec = ctx.spec
    if not unlinked or not spec.match_crm:
        return
    wanted = {p.values.get(spec.match_crm) for p in unlinked} - {None, ""}
    if not wanted:
        return
    found = tx.find_by_property(spec.crm_object, spec.match_crm, sorted(v for v in wanted if v))
    taken = tx.links_by_crm([r.id for r in found.values()])
    claimed: set[int] = set()
    for item in unlinked:
        key = item.values.get(spec.match_crm)
        record = found.get(key) if key else None
        if record is None:
            continue
        if record.id in taken or record.id in claimed:
            other = (
                taken[record.id].external_id
                if record.id in taken
                else "another record of this page"
            )
            work.logs.append(
                _error(
                    record.id,
                    item.record.id,
                    f"matches CRM record {record.id} by {spec.match_crm}, which is already linked to {other}",
                )
            )
            ctx.summary.add("inbound.errors")
            item.refused = True
            work.retry_later.add(item.record.id)
            continue
        claimed.add(record.id)
        item.crm_id, item.base, item.matched = record.id, {}, True


def _plan_existing(
    ctx: RunContext,
    tx: SyncTx,
    items: list[_Pending],
    crm: dict[int, Record],
    work: _PageWork,
) -> None:
    spec = ctx.spec
    restoring = _archived_edited(ctx, tx, items, crm, work)
    live = [p for p in items if p.crm_id in crm and not crm[p.crm_id].archived]
    # By identity: ``item not in live`` compared whole dataclasses, 500 x 500 per page.
    alive = {id(p) for p in live}
    for item in items:
        if id(item) not in alive:
            # The CRM record was archived or merged away: the link no longer stands for it.
            work.logs.append(
                _log(
                    LogAction.SKIPPED,
                    item.crm_id,
                    item.record.id,
                    "the linked CRM record is archived",
                )
            )
            ctx.summary.add("inbound.skipped")
    ids = [p.crm_id for p in live if p.crm_id is not None]
    changed_at: dict[int, dict[str, datetime]] = {}
    if ids and most_recent_needed(ctx):
        changed_at = changed_at_by_record(
            tx.changed_at(spec.crm_object, ids, list(spec.field_names))
        )
    crm_assoc = associations.crm_values(ctx, tx, ids)
    updates: list[tuple[int, dict[str, str | None]]] = []
    restores: list[tuple[int, dict[str, str | None]]] = []
    planned: list[_Pending] = []
    for item in live:
        assert item.crm_id is not None
        current: dict[str, str | None] = dict(crm[item.crm_id].properties)
        known, unknown = crm_assoc.get(item.crm_id, ({}, set()))
        current.update(known)
        for key in unknown:  # associated to a record this sync cannot name: no opinion
            current[key] = (item.base or {}).get(key, item.values.get(key))
        base = item.base
        if item.matched and not base:
            # First match: a value only spelled otherwise in the CRM (``Ada@X.io`` for a
            # lowercase ``ada@x.io``) is taken as the CRM's side of an agreed base, so the
            # diff writes the one spelling into the CRM in this pass instead of a conflict.
            base = crm_respelled(spec.mappings, current, item.values) or base
        plan = plan_record(
            spec,
            base=base,
            crm=current,
            external=item.values,
            crm_changed_at=changed_at.get(item.crm_id, {}),
            external_changed_at=external_changed_at(
                item.record.updated_at, item.link, item.base, item.values, tx.now
            ),
        )
        item.plan = plan
        planned.append(item)
        props = {k: v for k, v in plan.crm_writes.items() if not associations.is_key(k)}
        if item.crm_id in restoring:
            restores.append((item.crm_id, props))
        elif props:
            updates.append((item.crm_id, props))
    # What happened outside may hand a unique value on (the shop moved Bo to a new email
    # and gave Ann his old one) or swap two: free within the page, not only before it.
    outcomes: dict[int, Record | RecordWriteError] = (
        dict(
            zip(
                [u[0] for u in updates],
                tx.update_records(spec.crm_object, updates, moves_within=True),
                strict=True,
            )
        )
        if updates
        else {}
    )
    outcomes.update(_write_restores(ctx, tx, planned, restores, work))
    for item in planned:
        assert item.plan is not None and item.crm_id is not None
        outcome = outcomes.get(item.crm_id)
        if isinstance(outcome, RecordWriteError):
            refused = f"restore: {outcome}" if item.crm_id in restoring else str(outcome)
            work.logs.append(_error(item.crm_id, item.record.id, refused))
            ctx.summary.add("inbound.errors")
            if isinstance(outcome, DuplicateError):
                work.retry_later.add(item.record.id)
            continue
        associations.apply_crm_writes(
            ctx, tx, item.crm_id, item.plan, work.logs, external_id=item.record.id
        )
        _finish(ctx, item, work, matched=item.matched)


def _settle_matched_creates(tx: SyncTx, crm_ids: set[int]) -> None:
    """A lost create (open intent, maybe parked) whose CRM record inbound just linked by
    the match key is settled: the record it matched stands for it. Its outbox row goes
    before this page queues what it pushes, so later CRM edits go out again; a copy the
    lost create may have made with the same match value is refused by ``_match`` as a
    second record for one CRM record, and parked as an inbound error."""
    settled = sorted(i.crm_id for i in tx.open_create_intents(sorted(crm_ids)))
    if settled:
        tx.close_create_intents(settled)
        tx.outbound_done(settled)


def _finish(ctx: RunContext, item: _Pending, work: _PageWork, *, matched: bool) -> None:
    """Link, base, conflicts and the log row of one record whose CRM writes succeeded."""
    plan = item.plan
    assert plan is not None and item.crm_id is not None
    if matched:
        work.matched.add(item.crm_id)
    work.links.append(
        LinkWrite(
            item.record.id, item.crm_id, plan.base, item.record.updated_at, item.record.version
        )
    )
    work.conflicts.extend(conflict_specs(plan, item.crm_id, item.record.id))
    if plan.external_writes or (matched and _respelled_outside(ctx, item.record, plan)):
        work.push.add(item.crm_id)
    crm_writes = plan.crm_writes
    if crm_writes:
        before = {d.field: d.crm_value for d in plan.differing if d.field in crm_writes}
        work.logs.append(
            _log(
                LogAction.UPDATED,
                item.crm_id,
                item.record.id,
                "matched by " + str(ctx.spec.match_crm) if matched else None,
                describe_change(before, crm_writes),
            )
        )
        ctx.summary.add("inbound.updated")
    elif matched:
        work.logs.append(
            _log(LogAction.LINKED, item.crm_id, item.record.id, f"matched by {ctx.spec.match_crm}")
        )
        ctx.summary.add("inbound.linked")
    elif item.seen_at != item.record.updated_at and not plan.external_writes:
        # The external side changed the record, yet it holds exactly what both sides had
        # agreed: our own write coming back. Recognised, dropped, counted.
        ctx.summary.add("inbound.echoes")
    else:
        ctx.summary.add("inbound.unchanged")
    for conflict in plan.conflicts():
        work.conflict_logs.append(
            LogSpec(
                LogDirection.INBOUND,
                LogAction.CONFLICT,
                crm_id=item.crm_id,
                external_id=item.record.id,
                changes={
                    "field": conflict.field,
                    "rule": conflict.rule.value,
                    "open": conflict.open,
                },
                message=conflict.reason,
                level="warning",
            )
        )
        ctx.summary.add("conflicts.open" if conflict.open else "conflicts.settled")


def _create(ctx: RunContext, tx: SyncTx, items: list[_Pending], work: _PageWork) -> None:
    spec = ctx.spec
    if not spec.pulls or not items:
        if items:
            ctx.summary.add("inbound.skipped", len(items))
        return
    inputs: list[dict[str, str | None]] = []
    known = set(spec.field_names)
    writable = {
        f.name
        for f in spec.fields
        if not associations.is_key(f.name) and f.direction.allows(Side.CRM)
    }
    for item in items:
        values = item.values
        if writable.issuperset(values):
            props = values  # the usual record: every value it has goes into the CRM
        else:
            props = {
                k: v
                for k, v in values.items()
                if k in writable
                or (
                    k not in known  # spec.field raises for it, as it always did
                    and not associations.is_key(k)
                    and spec.field(k).direction.allows(Side.CRM)
                )
            }
        if None in props.values():  # a value to clear: a new record does not have it
            props = {k: v for k, v in props.items() if v is not None}
        inputs.append(dict(props))
    outcomes = tx.create_records(spec.crm_object, inputs)
    for item, props, outcome in zip(items, inputs, outcomes, strict=True):
        if isinstance(outcome, RecordWriteError):
            work.logs.append(_error(None, item.record.id, f"create in the CRM: {outcome}"))
            ctx.summary.add("inbound.errors")
            if isinstance(outcome, DuplicateError):
                work.retry_later.add(item.record.id)
            continue
        item.crm_id = outcome.id
        plan = plan_record(
            spec,
            base=None,
            crm={**outcome.properties},
            external=item.values,
            external_changed_at=item.record.updated_at,
            handed_over=True,
        )
        item.plan = plan
        associations.apply_crm_writes(
            ctx, tx, outcome.id, plan, work.logs, external_id=item.record.id
        )
        work.links.append(
            LinkWrite(
                item.record.id, outcome.id, plan.base, item.record.updated_at, item.record.version
            )
        )
        # A dry run's new record is rolled back before its outbound side plans, which would
        # take it for one deleted in the CRM and plan deleting the external record: what the
        # real run would push back (a respelling) is left out of the plan instead.
        if not ctx.dry_run and (plan.external_writes or _respelled_outside(ctx, item.record, plan)):
            work.push.add(outcome.id)
        work.logs.append(
            _log(
                LogAction.CREATED,
                outcome.id,
                item.record.id,
                None,
                # The store reads a create's values back from its history row; a dry run's
                # rolls back, so its plan carries them.
                describe_change({}, props) if ctx.dry_run else None,
            )
        )
        ctx.summary.add("inbound.created")


def _respelled_outside(ctx: RunContext, record: ExternalRecord, plan: RecordPlan) -> bool:
    """Whether the external record, just linked, spells a value otherwise than the CRM now
    holds it (``ADA@x.io`` for ``ada@x.io``): the outbound half of this pass writes it."""
    mappings = ctx.spec.respelling_mappings
    return bool(mappings) and bool(external_respelled(mappings, plan.base, record.fields))


def conflict_specs(plan: RecordPlan, crm_id: int, external_id: str) -> list[ConflictSpec]:
    return [
        ConflictSpec(
            crm_id=crm_id,
            external_id=external_id,
            field=c.field,
            rule=c.rule.value,
            base=None if c.base is NO_BASE else c.base,
            has_base=c.base is not NO_BASE,
            crm_value=c.crm_value,
            external_value=c.external_value,
            winner=c.winner.value if c.winner else None,
            loser_value=c.loser_value,
            loser_changed_at=c.loser_changed_at,
            open=c.open,
            reason=c.reason,
        )
        for c in plan.conflicts()
    ]


_ROWS = LogRows(LogDirection.INBOUND)
_log = _ROWS.entry
_error = _ROWS.error
