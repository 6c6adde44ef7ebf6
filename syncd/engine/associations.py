"""Association fields: an external field holding another record's external id <-> a CRM
association with a label, carried through the same three-way diff as properties.

The value compared is the *other record's external id* on both sides: in the CRM it is found
by following the association to its record and that record's link in the target sync. An id
whose record is not synced yet is remembered (a pending association) and made when that
record's link appears, in a later page or run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mapping import MISSING, get_path
from store import LogAction, LogDirection, LogSpec, SyncTx
from syncd.engine.spec import ASSOCIATION_PREFIX, AssociationSpec

if TYPE_CHECKING:
    from syncd.engine.context import RunContext
    from syncd.engine.diff import RecordPlan
    from syncd.engine.spec import SyncSpec

__all__ = ["apply_crm_writes", "crm_values", "external_values", "is_key", "resolve_pending"]


def is_key(name: str) -> bool:
    return name.startswith(ASSOCIATION_PREFIX)


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def external_values(spec: SyncSpec, fields: Mapping[str, Any]) -> dict[str, str | None]:
    """The association fields the external record carries (absent ones are no opinion)."""
    out: dict[str, str | None] = {}
    for assoc in spec.associations:
        raw = get_path(fields, assoc.external)
        if raw is not MISSING:
            out[assoc.key] = _text(raw)
    return out


def _labelled(assoc: AssociationSpec, label: str | None) -> bool:
    return assoc.label is None or (label or "").lower() == assoc.label.lower()


def crm_values(
    ctx: RunContext, tx: SyncTx, crm_ids: Sequence[int]
) -> dict[int, tuple[dict[str, str | None], set[str]]]:
    """Per CRM record: association key -> the other record's external id, and the keys
    whose associated record has no link in the target sync (unknown, not empty)."""
    out: dict[int, tuple[dict[str, str | None], set[str]]] = {i: ({}, set()) for i in crm_ids}
    if not crm_ids:
        return out
    for assoc in ctx.spec.associations:
        found = tx.associations_of(ctx.spec.crm_object, list(crm_ids), assoc.crm_object)
        targets = {
            a.to_id
            for items in found.values()
            for a in items
            if any(_labelled(assoc, label) for label in _labels(a))
        }
        links = tx.links_by_crm(sorted(targets), sync=assoc.target_sync) if targets else {}
        for crm_id in crm_ids:
            values, unknown = out[crm_id]
            mine = sorted(
                a.to_id
                for a in found.get(crm_id, [])
                if any(_labelled(assoc, label) for label in _labels(a))
            )
            named = [links[t].external_id for t in mine if t in links]
            if named:
                values[assoc.key] = named[0]
            elif mine:
                unknown.add(assoc.key)
            else:
                values[assoc.key] = None
    return out


def _labels(association: Any) -> list[str | None]:
    labels = getattr(association, "labels", None)
    if labels:
        return [getattr(label, "label", None) or getattr(label, "name", None) for label in labels]
    return [None]


def apply_crm_writes(
    ctx: RunContext,
    tx: SyncTx,
    crm_id: int,
    plan: RecordPlan,
    logs: list[LogSpec],
    *,
    external_id: str,
) -> None:
    """Make the association writes a plan asks of the CRM; unresolvable ids wait."""
    for assoc in ctx.spec.associations:
        if assoc.key not in plan.crm_writes:
            continue
        target_external = plan.crm_writes[assoc.key]
        current = tx.associations_of(ctx.spec.crm_object, [crm_id], assoc.crm_object).get(
            crm_id, []
        )
        target_crm: int | None = None
        if target_external is not None:
            link = tx.links_by_external([target_external], sync=assoc.target_sync).get(
                target_external
            )
            if link is None:
                tx.add_pending_association(crm_id, assoc.key, assoc.target_sync, target_external)
                plan.base.pop(assoc.key, None)  # not agreed until the association exists
                logs.append(
                    LogSpec(
                        LogDirection.INBOUND,
                        LogAction.SKIPPED,
                        crm_id=crm_id,
                        external_id=external_id,
                        message=f"{assoc.external}: {assoc.crm_object} {target_external} not synced yet; associated when it is",
                    )
                )
                ctx.summary.add("inbound.associations_pending")
                continue
            target_crm = link.crm_id
        for existing in current:
            if existing.to_id != target_crm and any(
                _labelled(assoc, lb) for lb in _labels(existing)
            ):
                tx.dissociate(
                    ctx.spec.crm_object, crm_id, assoc.crm_object, existing.to_id, assoc.label
                )
        if target_crm is not None:
            tx.associate(ctx.spec.crm_object, crm_id, assoc.crm_object, target_crm, assoc.label)
        ctx.summary.add("inbound.associated")


def resolve_pending(ctx: RunContext, tx: SyncTx, logs: list[LogSpec]) -> None:
    """Make the waiting associations whose other record is now linked."""
    if not ctx.spec.associations:
        return
    by_key = {a.key: a for a in ctx.spec.associations}
    for pending in tx.take_ready_associations():
        assoc = by_key.get(pending.key)
        if assoc is None:
            continue
        tx.associate(
            ctx.spec.crm_object,
            pending.crm_id,
            assoc.crm_object,
            pending.target_crm_id,
            assoc.label,
        )
        logs.append(
            LogSpec(
                LogDirection.INBOUND,
                LogAction.UPDATED,
                crm_id=pending.crm_id,
                message=f"{assoc.external}: associated with {assoc.crm_object} {pending.target_crm_id} now that it is synced",
            )
        )
        ctx.summary.add("inbound.associated")
