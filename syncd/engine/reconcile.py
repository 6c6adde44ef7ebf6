"""Delete reconciliation: external records that vanished without a tombstone.

A table or an API without a change feed for deletions only shows a delete by the id's
absence. The sync's links are compared with every live external id; the missing ones are
applied as deletes through the same page path (and so under the same rule and mass-delete
brake) as a tombstone would be. The brake is checked against the whole set before any page
is written, so a wiped source cannot archive the CRM piecemeal.
"""

from __future__ import annotations

from connectors.base import AuthError, Connector, ExternalRecord
from store import Store
from syncd.engine.context import RunContext, RunSummary
from syncd.engine.inbound import apply_page
from syncd.engine.runner import pause_for_refused_credentials
from syncd.engine.spec import SyncSpec

__all__ = ["reconcile_deletes"]

_LINK_PAGE = 1000


def reconcile_deletes(
    spec: SyncSpec, connector: Connector, store: Store, *, allow_deletes: bool = False
) -> RunSummary:
    """Apply the deletes of linked external records that no longer exist.

    Refused credentials pause the sync (its summary says why) instead of failing.
    """
    try:
        live = set(connector.iter_ids(spec.external_object))
    except AuthError as exc:
        summary = RunSummary()
        pause_for_refused_credentials(store, spec.name, exc, summary=summary)
        return summary
    missing: list[str] = []
    after: str | None = None
    while True:
        links = store.list_links(spec.name, after_external_id=after, limit=_LINK_PAGE)
        missing.extend(link.external_id for link in links if link.external_id not in live)
        if len(links) < _LINK_PAGE:
            break
        after = links[-1].external_id
    run = store.start_sync_run(spec.name)
    # The brake is judged below on the whole set; pages must not judge it again piecemeal.
    ctx = RunContext(spec.without_brake(), connector, store, run.id)
    total = store.count_links(spec.name)
    rule = spec.delete_from_external
    writes = len(missing) if rule in ("archive", "delete") else 0
    if not allow_deletes and spec.brake_trips(writes, total):
        reason = (
            f"delete reconciliation would {rule} {writes} CRM records of {total} linked"
            f" (limit {spec.brake_count} records or {spec.brake_share:.0%}); check the"
            f" external system, then run `syncd sync {spec.name} --allow-deletes`"
        )
        store.set_sync_paused(spec.name, True, reason)
        ctx.summary.paused_reason = reason
        store.finish_sync_run(run.id, "paused", ctx.summary.as_dict())
        return ctx.summary
    if allow_deletes:
        store.set_sync_paused(spec.name, False, None)
    try:
        for start in range(0, len(missing), spec.batch_size):
            page = [
                ExternalRecord(i, {}, deleted=True)
                for i in missing[start : start + spec.batch_size]
            ]
            store.sync_write(
                spec.name,
                ctx.once(
                    lambda tx, page=page: apply_page(  # type: ignore[misc]
                        ctx, tx, page, None, deletes_so_far=0, linked_total=total
                    )
                ),
                run_id=run.id,
            )
    except Exception as exc:
        store.finish_sync_run(run.id, "failed", {**ctx.summary.as_dict(), "error": str(exc)})
        raise
    store.finish_sync_run(run.id, "ok", ctx.summary.as_dict())
    return ctx.summary
