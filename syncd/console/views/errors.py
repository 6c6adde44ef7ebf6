"""Errors: what the syncs gave up on, grouped by cause (``syncd errors``), with retry of a
whole group or of one record (``syncd errors retry``)."""

from __future__ import annotations

from starlette.responses import Response

from syncd.console.app import Call, Refused, done
from syncd.parked import parked_groups, retry_group

__all__ = ["SHOWN", "retry", "show"]

#: Records listed under each group (the group's retry covers all of them).
SHOWN = 20


def show(call: Call) -> Response:
    sync = call.query("sync", 200)
    groups = parked_groups(call.store, sync or None)
    config = call.console.config()
    return call.page(
        "errors.html",
        groups=groups,
        sync=sync,
        syncs=sorted(config.syncs),
        crm_objects={s.name: s.crm_object for s in config.syncs.values()},
        shown=SHOWN,
    )


def retry(call: Call) -> Response:
    form = call.form
    sync = form.get("sync", "")
    if not sync:
        raise Refused("say which sync's records to retry")
    crm_id, external_id = form.get("crm_id", ""), form.get("external_id", "")
    if crm_id or external_id:
        if crm_id and external_id:
            raise Refused("give a CRM id or an external id, not both")
        if crm_id and not (crm_id.isdigit() and len(crm_id) <= 18):
            raise Refused("crm_id must be a whole number")
        count = call.store.retry_parked(
            sync, crm_id=int(crm_id) if crm_id else None, external_id=external_id or None
        )
    else:
        direction, cause = form.get("direction", ""), form.get("cause", "")
        group = next(
            (
                g
                for g in parked_groups(call.store, sync)
                if g.direction == direction and g.cause == cause
            ),
            None,
        )
        count = retry_group(call.store, group) if group is not None else 0
    return done("/console/errors", "retried" if count else "nothing")
