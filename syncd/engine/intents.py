"""Create intents: every create is written down before it goes outside, so none is made twice.

An outbound batch commits its creates' intents (CRM id, the key it sends, the request)
*before* the connector is asked to create, and removes them in the commit that records
the outcome. An intent that outlives its pass means the outcome never got home: the
process died between the external write and that commit, or the answer was lost. The next
pass, before it reads anything, asks the connector about each such create
(``Connector.find_created``: by a key syncd wrote on the record, by the match key, by the
record's values):

- found: the record is linked to its CRM record (no second create, and inbound sees it
  linked instead of importing it as new);
- certainly not there: the intent goes, and the create is made again like any other
  (also when the record found holds the create's match value but is linked to another CRM
  record, and the connector looks by that value before it creates: the create would have
  been refused, so it was not made);
- nobody can tell: the record is parked for an operator with what is known, and no pass
  creates it until ``syncd errors retry`` says the operator looked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from connectors.base import (
    AuthError,
    ConnectorError,
    CreateCheck,
    ExternalRecord,
    WriteRequest,
    WriteResult,
)
from mapping import MappingError
from store import CreateIntent, LinkWrite, LogAction, LogDirection, LogSpec, SyncTx
from syncd.engine import associations
from syncd.engine.context import RunContext
from syncd.engine.diff import read_external, same_value
from syncd.engine.log_rows import LogRows

__all__ = ["claim_unlinked", "close_settled", "hold_or_record", "resolve_open"]

_ROWS = LogRows(LogDirection.OUTBOUND)


class _Unlinked(Protocol):
    """What this module reads and sets on one inbound record (``inbound._Pending``)."""

    record: ExternalRecord
    crm_id: int | None
    base: dict[str, str | None] | None
    refused: bool


class _Create(Protocol):
    """What this module reads and sets on one outbound item (``outbound._Out``)."""

    crm_id: int
    external_id: str | None
    request: WriteRequest | None
    result: WriteResult | None


def resolve_open(ctx: RunContext) -> None:
    """Settle the creates an earlier pass left open, before this pass reads or writes.

    Creates already parked for an operator are left to them. Each other open intent is
    looked up through the connector; the links, closed intents, parked records and log rows
    commit in one transaction.
    """
    spec = ctx.spec
    if ctx.dry_run:
        return
    intents = ctx.store.sync_write(spec.name, lambda tx: tx.open_create_intents())
    if not intents:
        ctx.open_intents = False  # until this pass records one (``hold_or_record``)
        return
    parked = {entry.crm_id for entry in ctx.store.outbox(spec.name, parked=True)}
    intents = [i for i in intents if i.crm_id not in parked]
    if not intents:
        return
    requests = [WriteRequest(i.key, None, i.fields, i.match) for i in intents]
    try:
        checks = ctx.connector.find_created(spec.external_object, requests)
    except ConnectorError as exc:
        if exc.retriable or isinstance(exc, AuthError):
            raise  # the pass fails and is tried again; nothing is created meanwhile
        # Looking is refused for good: an operator decides, the sync goes on.
        checks = [CreateCheck(reason=f"looking it up failed: {exc}") for _ in intents]

    def commit(tx: SyncTx) -> None:
        _settle(ctx, tx, intents, checks)

    ctx.store.sync_write(spec.name, ctx.once(commit), run_id=ctx.run_id)


def _settle(
    ctx: RunContext, tx: SyncTx, intents: Sequence[CreateIntent], checks: Sequence[CreateCheck]
) -> None:
    spec = ctx.spec
    found_ids = [c.record.id for c in checks if c.record is not None]
    held = tx.links_by_external(found_ids) if found_ids else {}
    linked = tx.links_by_crm([i.crm_id for i in intents])
    links: list[LinkWrite] = []
    logs: list[LogSpec] = []
    close: list[int] = []
    recovered: list[int] = []
    for intent, check in zip(intents, checks, strict=True):
        if intent.crm_id in linked:
            close.append(intent.crm_id)  # linked since, by its match key: nothing to do
            continue
        record = check.record
        if record is not None:
            other = held.get(record.id)
            if other is not None and other.crm_id != intent.crm_id:
                if _never_adopted(ctx, intent, record):
                    close.append(intent.crm_id)  # not made: the next create meets the checks
                    continue
                _park(
                    ctx,
                    tx,
                    logs,
                    intent,
                    f"found {spec.external_object} {record.id} by the create's key or values, "
                    f"but it is linked to CRM record {other.crm_id}",
                )
                continue
            # The record's own time, as for a create whose answer came home (outbound's
            # ``_confirm``): a record made later with its id is then told apart from it.
            links.append(
                LinkWrite(
                    record.id,
                    intent.crm_id,
                    _base(ctx, intent, record),
                    record.updated_at,
                    record.version,
                )
            )
            close.append(intent.crm_id)
            recovered.append(intent.crm_id)
            logs.append(
                _ROWS.entry(
                    LogAction.LINKED,
                    intent.crm_id,
                    record.id,
                    "found the record an earlier create made (its answer was lost, or syncd "
                    "stopped before recording it): linked, not created again",
                )
            )
            ctx.summary.add("outbound.recovered")
        elif check.safe:
            close.append(intent.crm_id)  # not there: the next create makes it
        else:
            _park(ctx, tx, logs, intent, check.reason or "the connector cannot look it up")
    if links:
        tx.save_links(spec.crm_object, links)
    if recovered:
        # Anything the CRM changed since the create goes out with the next batch.
        tx.queue_outbound(recovered)
    if close:
        tx.close_create_intents(close)
    if logs:
        tx.log(spec.crm_object, logs)
        ctx.report(logs)


def _never_adopted(ctx: RunContext, intent: CreateIntent, record: ExternalRecord) -> bool:
    """Whether the create cannot have made or taken ``record``, found linked elsewhere.

    A connector that looks for the match value before it creates would have adopted the
    record still holding it, not made a second; and a create is never sent to adopt a record
    linked to another CRM record (``identity.refuse_taken``), nor does one that came back
    adopted get linked (``identity.settle_claim``). So such a create was not made: closing
    its intent lets the next pass create it through those same checks (once the other
    record's archive has deleted the old row, say) instead of parking it for an operator
    with nothing to decide.
    """
    match = intent.match
    if match is None or not ctx.connector.finds_before_create(ctx.spec.external_object, match[0]):
        return False
    return same_value(record.fields.get(match[0]), match[1])


def _park(ctx: RunContext, tx: SyncTx, logs: list[LogSpec], intent: CreateIntent, why: str) -> None:
    spec = ctx.spec
    message = (
        f"a create sent to {spec.connector} {spec.external_object} never got its outcome "
        f"recorded (its answer was lost, or syncd stopped), and {why}; the record may exist "
        f"there: check {spec.external_object} in {spec.connector} (delete a copy if "
        f"there are two), then run `syncd errors retry --sync {spec.name}`"
    )
    tx.outbound_failed(intent.crm_id, message, retriable=False, max_attempts=spec.retry_attempts)
    logs.append(_ROWS.error(intent.crm_id, None, message))
    ctx.summary.add("outbound.errors")


def _base(ctx: RunContext, intent: CreateIntent, record: ExternalRecord) -> dict[str, str | None]:
    """What both sides agreed on: what the create *sent*, not what the record holds now.

    The record may have been edited outside since the create made it (the answer was lost,
    the next pass is minutes later): taking its current values as agreed would make the
    CRM's older values look like the newer change and overwrite that edit unseen. With the
    sent values as the base, such an edit is an external change like any other. A field
    the create carries but did not send (empty in the CRM then) was agreed empty: a system
    that leaves empty fields out of its answers must not make the CRM's later value look
    agreed too.
    """
    unsent = {
        m.external: None
        for m in ctx.spec.mappings
        if m.to_external and m.external and m.external not in intent.fields
    }
    sent = {**record.fields, **unsent, **intent.fields}
    try:
        values = read_external(ctx.spec, sent)
        values.update(associations.external_values(ctx.spec, sent))
    except MappingError:
        return {}
    return values


def hold_or_record(ctx: RunContext, items: Sequence[_Create]) -> None:
    """Before the batch's creates go out: commit their intents; hold those still open.

    A create whose intent is still open at this point was parked at the start of the pass
    (nobody can tell whether it exists outside): it is not sent until an operator retries it.
    """
    spec = ctx.spec
    creates = [i for i in items if i.request is not None and i.request.external_id is None]
    if not creates or ctx.dry_run:
        return

    def work(tx: SyncTx) -> set[int]:
        still = {i.crm_id for i in tx.open_create_intents([c.crm_id for c in creates])}
        fresh = [c for c in creates if c.crm_id not in still]
        tx.record_create_intents(
            [
                (c.crm_id, c.request.key, c.request.fields, c.request.match)
                for c in fresh
                if c.request is not None
            ]
        )
        return still

    ctx.open_intents = True
    still = ctx.store.sync_write(spec.name, ctx.once(work), run_id=ctx.run_id)
    for item in creates:
        if item.crm_id in still:
            item.request = None
            ctx.summary.add("outbound.held")


def close_settled(tx: SyncTx, items: Sequence[_Create]) -> None:
    """In the batch's commit: the creates whose outcome is now known lose their intent.

    A create the connector reports as maybe made (its answer was lost and it could not look)
    keeps its intent, so the next pass looks before anything creates it again. One that was
    not sent at all (no result: refused before the write) has nothing to look for.
    """
    done = [
        i.crm_id
        for i in items
        if i.external_id is None
        and i.request is not None
        and i.request.external_id is None
        and (i.result is None or i.result.ok or not i.result.maybe_created)
    ]
    if done:
        tx.close_create_intents(done)


def claim_unlinked(
    ctx: RunContext, tx: SyncTx, items: Sequence[_Unlinked], logs: list[LogSpec]
) -> None:
    """Inbound: an unlinked record that an open create made is linked, not imported as new.

    This is the last way to find a create nobody could look up (no key, no match value):
    when it comes back through the change feed. A record holding exactly the values an open
    intent sent, and the only such record for the only such intent, is that create's record;
    one that several intents (or one intent and several records) fit is held for an operator
    rather than guessed.
    """
    waiting = [i for i in items if i.crm_id is None and not i.refused]
    if not waiting or not ctx.open_intents:
        return
    open_ = [i for i in tx.open_create_intents() if i.fields]
    if not open_:
        return
    # Fields a create sends when the CRM has a value: one it did not send must be empty on
    # the record it made (an "Ann Smith" made outside is not the create of a bare "Ann").
    outbound = {m.external for m in ctx.spec.mappings if m.to_external and m.external}
    fits: dict[int, list[_Unlinked]] = {}
    fitted: dict[int, list[CreateIntent]] = {}
    for item in waiting:
        fields = item.record.fields
        for intent in open_:
            unsent = outbound - set(intent.fields)
            if all(same_value(fields.get(k), v) for k, v in intent.fields.items()) and all(
                same_value(fields.get(k), None) for k in unsent
            ):
                fits.setdefault(intent.crm_id, []).append(item)
                fitted.setdefault(id(item), []).append(intent)
    if not fits:
        return
    linked = tx.links_by_crm(sorted(fits))
    claimed: list[int] = []
    for item in waiting:
        candidates = fitted.get(id(item), [])
        if not candidates:
            continue
        if len(candidates) > 1 or len(fits[candidates[0].crm_id]) > 1:
            ids = ", ".join(str(c.crm_id) for c in candidates)
            item.refused = True
            logs.append(
                LogSpec(
                    LogDirection.INBOUND,
                    LogAction.ERROR,
                    external_id=item.record.id,
                    message=(
                        f"may be the record syncd created for CRM record {ids} (its answer "
                        "was lost or syncd stopped), but more than one record or create fits; "
                        "check both sides, then run `syncd errors retry`"
                    ),
                    level="error",
                )
            )
            ctx.summary.add("inbound.errors")
            continue
        intent = candidates[0]
        if intent.crm_id in linked:
            continue
        item.crm_id, item.base = intent.crm_id, _base(ctx, intent, item.record)
        claimed.append(intent.crm_id)
        logs.append(
            LogSpec(
                LogDirection.INBOUND,
                LogAction.LINKED,
                crm_id=intent.crm_id,
                external_id=item.record.id,
                message=(
                    "the record an earlier create made (its answer was lost, or syncd "
                    "stopped): linked, not imported as new"
                ),
            )
        )
        ctx.summary.add("inbound.recovered")
    if claimed:
        tx.close_create_intents(claimed)
        tx.outbound_done(claimed)  # a parked create is settled; new CRM edits queue again
