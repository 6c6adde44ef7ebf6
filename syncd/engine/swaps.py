"""Updates that swap a match value, landed on a system that checks each write on its own.

A CRM user gives Ann Bo's email and Bo Ann's (through a third value, as the CRM's own
unique check wants). HubSpot and most APIs check each update against the records as they
are, so neither update can land first: both are refused, on every retry, and the pair never
converges. A system that writes a batch in one transaction lands such a ring itself (the
SQL connector does, out of sight). For the others, refused updates that form a ring are
written in two steps: one record of each ring gives its value up first (its match field
written empty), then the ring lands in waves like any chain (``waves``).

The empty value is seen outside for a moment, and a pass that dies between the two steps
leaves it there. So before it is written, the link's base is marked
(``@released:<property>``, committed on its own): a pass that reads the record with that
property empty takes the empty value as agreed (syncd's own step, not an edit outside) and
writes the CRM's value again. The mark goes with the next base saved for the link. Trade:
a user who empties that field outside in that window is taken for syncd's step, and the
CRM's value is written back (an empty value loses nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from connectors.base import ExternalRecord, WriteRequest, WriteResult
from store import Link, LinkWrite, LogAction, LogDirection, SyncTx
from syncd.engine.context import RunContext
from syncd.engine.log_rows import LogRows
from syncd.engine.waves import freeing_waves, ring_breakers

__all__ = ["agreed", "is_mark", "land", "move", "written"]

#: The base key that marks a property syncd emptied outside to break a ring.
MARK_PREFIX = "@released:"

_ROWS = LogRows(LogDirection.OUTBOUND)


class _Update(Protocol):
    """What this module reads of one outbound item (``outbound._Out``)."""

    crm_id: int
    external_id: str | None
    request: WriteRequest | None
    link: Link | None


def is_mark(name: str) -> bool:
    return name.startswith(MARK_PREFIX)


def agreed(link: Link, values: Mapping[str, str | None] | None) -> Link:
    """``link`` with its release marks read against the record's values (CRM form) now.

    A marked property the record holds empty was emptied by syncd: it is agreed empty, so
    the empty value is no edit outside and the CRM's value is written again. The marks are
    dropped either way (``values`` None: the record is gone outside).
    """
    marks = [name for name in link.base if is_mark(name)]
    if not marks:
        return link
    base = {name: value for name, value in link.base.items() if not is_mark(name)}
    if values is not None:
        for mark in marks:
            prop = mark.removeprefix(MARK_PREFIX)
            if not values.get(prop):
                base[prop] = None
    return replace(link, base=base)


def land(
    ctx: RunContext,
    items: Sequence[_Update],
    results: Sequence[WriteResult],
    external: Mapping[str, ExternalRecord],
) -> list[WriteResult]:
    """``results`` with the refused updates of ``items`` that form a ring written again
    through an empty value; the others as they were."""
    spec = ctx.spec
    field_name, prop = spec.match_external, spec.match_crm
    out = list(results)
    if field_name is None or prop is None or ctx.dry_run:
        return out
    refused: list[int] = []
    moves: list[tuple[object, object] | None] = []
    for n, (item, result) in enumerate(zip(items, results, strict=True)):
        # A refusal only: a timeout or a 429 is no sign of a ring.
        if result.ok or result.retriable or item.external_id is None or item.link is None:
            continue
        taken = move(item, external, field_name)
        if taken is not None:
            refused.append(n)
            moves.append(taken)
    breakers = ring_breakers(moves) if len(refused) > 1 else []
    if not breakers:
        return out
    giving = [items[refused[i]] for i in breakers]
    _mark(ctx, giving, prop)
    answers = written(ctx, [_emptied(item, field_name) for item in giving])
    released = {i for i, answer in zip(breakers, answers, strict=True) if answer.ok}
    if not released:
        return out
    ctx.log.info("ring_released", records=[items[refused[i]].crm_id for i in sorted(released)])
    moves = [(None, m[1]) if i in released and m else m for i, m in enumerate(moves)]
    for wave in freeing_waves(moves):
        at = [refused[i] for i in wave]
        requests = [items[n].request for n in at]
        for n, answer in zip(at, written(ctx, [r for r in requests if r]), strict=True):
            out[n] = answer
    return out


def written(ctx: RunContext, requests: Sequence[WriteRequest]) -> list[WriteResult]:
    """``requests`` written outside in chunks of the sync's batch size; one answer each."""
    spec = ctx.spec
    answers: list[WriteResult] = []
    for start in range(0, len(requests), spec.batch_size):
        chunk = requests[start : start + spec.batch_size]
        answers.extend(ctx.connector.write(spec.external_object, chunk))
    return answers


def move(
    item: _Update, external: Mapping[str, ExternalRecord], field_name: str
) -> tuple[object, object] | None:
    """What update ``item`` does to the match field: the value its record holds outside now
    (in ``external``, as read before the pass wrote) and the one it writes; None when it
    does not write that field (``waves`` takes these)."""
    assert item.request is not None and item.external_id is not None
    if field_name not in item.request.fields:
        return None
    current = external.get(item.external_id)
    held = current.fields.get(field_name) if current is not None else None
    return held, item.request.fields[field_name]


def _emptied(item: _Update, field_name: str) -> WriteRequest:
    assert item.request is not None
    return WriteRequest(item.request.key, item.external_id, {field_name: None})


def _mark(ctx: RunContext, items: Sequence[_Update], prop: str) -> None:
    """Commit the release marks before anything is emptied outside (see the module), with
    a sync log row each, so an operator who sees the empty value knows whose it is."""
    spec = ctx.spec
    links = []
    logs = []
    for item in items:
        link = item.link
        assert link is not None and item.external_id is not None
        base = {**link.base, MARK_PREFIX + prop: link.base.get(prop)}
        links.append(
            LinkWrite(
                item.external_id, item.crm_id, base, link.external_updated_at, link.external_version
            )
        )
        message = (
            f"{spec.match_external} emptied outside first: its value goes to another record"
            " in a swap the system refused in one step; the new value follows"
        )
        logs.append(_ROWS.entry(LogAction.UPDATED, item.crm_id, item.external_id, message))

    def work(tx: SyncTx) -> None:
        tx.save_links(spec.crm_object, links)
        tx.log(spec.crm_object, logs)

    ctx.store.sync_write(spec.name, ctx.once(work), run_id=ctx.run_id)
