"""Which external record a CRM create may become: never one that stands for another record.

A create outside carries the match key, and a connector that searches before it creates
(``Connector.finds_before_create``) adopts the record holding that value: how a retry after
a lost answer finds what it made. That record must not be one already linked to another CRM
record (archived-but-linked included: ``deletes.from_crm: ignore`` keeps such links), nor
one this batch is deleting; and an external id that comes back for a create must not
silently take over another record's link (a database that reuses a deleted row's id).

And a CRM record unlinked because its external record was deleted under
``deletes.from_external: ignore`` is not created outside again until it changes in the CRM
(:func:`keep_unlinked`): the delete is not undone by the next ``sync --full``.

Two checks on creates, both decided here, not in the connectors:

* before the write (:func:`refuse_taken`): the creates whose match value the connector would
  find on a record linked to another CRM record are not sent; they fail retriably, with a
  message that names both records, so the outbox retries them by itself once the value is
  free (and parks them after the sync's attempts). One that would find an *unlinked* record
  is not sent as a create either: outbound plans it as that record's first match (the
  sync's rule settles fields the two fill differently), where the connector's adoption
  would have written the CRM's values over the record's own;
* after the write (:func:`claimed_elsewhere`): a create whose returned id is linked to
  another CRM record. A record the connector *found* (``WriteResult.matched``) is a detected
  conflict: not linked, parked, the other link kept. A record it *made* holds an id that
  can only be free because the old record is gone (ids are unique at any one time): the old
  CRM record gets the sync's ``deletes.from_external`` rule and the new one the link.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.base import AuthError, ConnectorError, ExternalRecord, WriteResult
from store import Link, LogAction, LogDirection, LogSpec, SyncTx
from syncd.engine.context import RunContext
from syncd.engine.log_rows import LogRows

if TYPE_CHECKING:  # outbound imports this module
    from syncd.engine.outbound import _Batch, _Out

__all__ = [
    "Claimed",
    "claimed_elsewhere",
    "keep_unlinked",
    "refuse_taken",
    "settle_claim",
    "would_adopt",
]


def _links(ctx: RunContext, external_ids: Sequence[str]) -> dict[str, Link]:
    if not external_ids:
        return {}
    return ctx.store.links_by_external(ctx.spec.name, list(dict.fromkeys(external_ids)))


def refuse_taken(
    ctx: RunContext, writes: list[_Out], batch: _Batch, *, deleted: Collection[str]
) -> tuple[list[_Out], dict[int, ExternalRecord]]:
    """``writes`` without the creates that would adopt a record linked to another CRM record,
    and the unlinked record each kept create would find (by CRM id).

    Only creates the connector would search for are checked (one ``find_by`` per match
    field); ``deleted`` are the external ids this batch has deleted (or, in a dry run,
    would delete): a record gone is nobody's.
    """
    spec = ctx.spec
    hits = {
        crm_id: record
        for crm_id, record in would_adopt(ctx, writes, skip_refused=True).items()
        if record.id not in deleted
    }
    links = _links(ctx, [record.id for record in hits.values()])
    refused: set[int] = set()
    for item in writes:
        hit = hits.get(item.crm_id)
        external_id = hit.id if hit is not None else None
        link = links.get(external_id) if external_id is not None else None
        if link is None or link.crm_id == item.crm_id:
            continue
        assert item.request is not None and item.request.match is not None
        field_name, value = item.request.match
        message = (
            f"not created outside: {spec.external_object} record {external_id} already has"
            f" {field_name} {value!r} and is linked to CRM record {link.crm_id}; the create"
            " would take that record over. Retried by itself once the value is free; or"
            f" change {spec.match_crm or field_name} on one side"
        )
        batch.failed.append((item.crm_id, message, True))
        batch.logs.append(_OUT.error(item.crm_id, external_id, message))
        ctx.summary.add("outbound.errors")
        refused.add(item.crm_id)
    kept = [i for i in writes if i.crm_id not in refused]
    return kept, {
        i.crm_id: hits[i.crm_id]
        for i in kept
        if i.crm_id in hits and hits[i.crm_id].id not in links
    }


def would_adopt(
    ctx: RunContext, writes: Sequence[_Out], *, skip_refused: bool
) -> dict[int, ExternalRecord]:
    """The external record each create would find and adopt, by CRM id.

    Asked read-only through ``find_by`` (one call per match field), only for the creates
    the connector's own write would search (``finds_before_create``). ``skip_refused``: a
    lookup the system refuses for good (not retriable) means the create cannot adopt by
    that field either, so it is skipped instead of failing the batch.
    """
    spec = ctx.spec
    by_field: dict[str, list[_Out]] = {}
    for item in writes:
        request = item.request
        if item.external_id is None and request is not None and request.match is not None:
            if request.match[1] not in (None, ""):
                by_field.setdefault(request.match[0], []).append(item)
    adopted: dict[int, ExternalRecord] = {}
    for field_name, items in by_field.items():
        if not ctx.connector.finds_before_create(spec.external_object, field_name):
            continue
        values = [i.request.match[1] for i in items if i.request and i.request.match]
        try:
            found = ctx.connector.find_by(spec.external_object, field_name, values)
        except ConnectorError as exc:
            if exc.retriable or isinstance(exc, AuthError) or not skip_refused:
                raise
            continue
        for item in items:
            assert item.request is not None and item.request.match is not None
            record = found.get(item.request.match[1])
            if record is not None:
                adopted[item.crm_id] = record
    return adopted


def keep_unlinked(tx: SyncTx, items: list[_Out]) -> tuple[list[_Out], list[int], list[int]]:
    """``items`` without the CRM records unlinked by an external delete (rule ``ignore``)
    and unchanged since; also those kept out, and those changed since (their mark goes: they
    are created outside again, as any new CRM record)."""
    unlinked = [
        i for i in items if i.external_id is None and i.record is not None and not i.record.archived
    ]
    since = tx.unlinked_at([i.crm_id for i in unlinked]) if unlinked else {}
    if not since:
        return items, [], []
    kept: set[int] = set()
    revived: list[int] = []
    for item in unlinked:
        at = since.get(item.crm_id)
        if at is None or item.record is None:
            continue
        if item.record.updated_at <= at:
            kept.add(item.crm_id)
        else:
            revived.append(item.crm_id)
    return [i for i in items if i.crm_id not in kept], sorted(kept), revived


@dataclass(frozen=True)
class Claimed:
    """A create whose returned external id is linked to another CRM record."""

    external_id: str
    other_crm_id: int


def claimed_elsewhere(
    ctx: RunContext,
    chunk: Sequence[_Out],
    results: Sequence[WriteResult],
    *,
    deleted: Collection[str],
) -> dict[int, Claimed]:
    """By CRM id: the creates of ``chunk`` whose answer names a record linked to another CRM
    record (one this batch deleted excepted: its id is free again)."""
    returned = {
        item.crm_id: result.external_id
        for item, result in zip(chunk, results, strict=True)
        if item.external_id is None and result.ok and result.external_id
    }
    candidates = [e for e in returned.values() if e not in deleted]
    links = _links(ctx, candidates)
    claimed: dict[int, Claimed] = {}
    for crm_id, external_id in returned.items():
        link = links.get(external_id) if external_id not in deleted else None
        if link is not None and link.crm_id != crm_id:
            claimed[crm_id] = Claimed(external_id, link.crm_id)
    return claimed


def settle_claim(
    ctx: RunContext, item: _Out, result: WriteResult, claim: Claimed, batch: _Batch
) -> bool:
    """Log a create that came back with another record's id; True when it may be linked.

    Found by its match key (the connector wrote to a record linked to another CRM record):
    a conflict; nothing is linked, the create is parked for an operator. Made new: the old
    record with that id is gone, so it is deleted for the sync (``batch.gone``) and the new
    record is linked.
    """
    spec = ctx.spec
    if result.matched:
        message = (
            f"the create found {spec.external_object} record {claim.external_id} by"
            f" {spec.match_external}, but it is linked to CRM record {claim.other_crm_id}:"
            " not linked. Check both records outside, then `syncd errors retry`"
        )
        batch.failed.append((item.crm_id, message, False))
        batch.logs.append(_OUT.error(item.crm_id, claim.external_id, message))
        ctx.summary.add("outbound.errors")
        return False
    batch.gone.append(claim.external_id)
    batch.logs.append(
        LogSpec(
            LogDirection.OUTBOUND,
            LogAction.CONFLICT,
            crm_id=item.crm_id,
            external_id=claim.external_id,
            changes={"reused_id": claim.external_id, "was_linked_to": claim.other_crm_id},
            message=(
                f"the external system gave the new record id {claim.external_id}, which was"
                f" linked to CRM record {claim.other_crm_id}: that record is gone outside"
                f" (its id was reused); rule {spec.delete_from_external} applied to"
                f" CRM record {claim.other_crm_id}"
            ),
            level="warning",
        )
    )
    ctx.summary.add("outbound.reused_ids")
    return True


_OUT = LogRows(LogDirection.OUTBOUND)
