"""The conflicts inbox: open (held for an operator) and settled, the CRM value, the external
value and the base side by side with who wrote each and when; resolve by taking a side or
typing a value.

Resolving is ``syncd conflicts resolve`` (``resolve_conflict``) under the sync's lease, as
the CLI does it; the console's token name is recorded as the writer (``CRM_UI console:NAME``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from starlette.responses import Response

from store import ChangeSource, ConflictRecord, HistoryEntry, SourceType, Store
from store.errors import StoreError
from syncd.console.app import Call, Refused, done
from syncd.console.runs import LEASE_WAIT_SECONDS, console_holder
from syncd.engine import build_spec
from syncd.engine.conflicts import resolve_conflict
from syncd.lease import sync_lease

__all__ = ["PAGE", "resolve", "show"]

PAGE = 25
_STATES = ("open", "settled")


@dataclass(frozen=True)
class Side:
    value: str | None
    writer: str
    at: object


@dataclass(frozen=True)
class Row:
    conflict: ConflictRecord
    crm: Side
    external: Side
    state: str


def _crm_side(c: ConflictRecord, history: list[HistoryEntry]) -> Side:
    """Who wrote the CRM value the conflict saw: the newest history entry of the field at or
    before the conflict that holds that value (else the newest before it; else unknown)."""
    before = [h for h in history if h.timestamp <= c.created_at]
    same = [h for h in before if h.value == c.crm_value]
    if not (same or before):
        return Side(c.crm_value, "unknown", None)
    h = max(same or before, key=lambda h: h.timestamp)
    writer = h.source_type.value + (f" {h.source_id}" if h.source_id else "")
    return Side(c.crm_value, writer, h.timestamp)


def _rows(store: Store, conflicts: list[ConflictRecord]) -> list[Row]:
    """The page's rows; the CRM side's writers read in one go per object and field."""
    histories: dict[tuple[str, str], dict[int, list[HistoryEntry]]] = {}
    for key in {(c.crm_object, c.field) for c in conflicts}:
        ids = sorted({c.crm_id for c in conflicts if (c.crm_object, c.field) == key})
        try:
            found = store.property_histories(key[0], ids, [key[1]])
        except StoreError:  # the object or property is gone: writers unknown
            found = {}
        histories[key] = {i: by_name.get(key[1], []) for i, by_name in found.items()}
    rows = []
    for c in conflicts:
        external = Side(c.external_value, f"external system (sync {c.sync})", c.created_at)
        if c.winner == "crm" and c.loser_changed_at is not None:
            external = Side(c.external_value, external.writer, c.loser_changed_at)
        state = "open" if c.open else ("resolved" if c.resolved_at else "settled")
        history = histories[(c.crm_object, c.field)].get(c.crm_id, [])
        rows.append(Row(c, _crm_side(c, history), external, state))
    return rows


def show(call: Call) -> Response:
    state = call.query("state", 10) or "open"
    if state not in _STATES:
        raise Refused("state must be open or settled")
    sync = call.query("sync", 200)
    before = call.query("before", 20)
    if before and not (before.isdigit() and len(before) <= 18):
        raise Refused("before must be a whole number (a conflict id)")
    store = call.store
    found = store.list_conflicts(
        sync=sync or None,
        open_only=state == "open",
        settled_only=state == "settled",
        before_id=int(before) if before else None,
        limit=PAGE + 1,
    )
    more = len(found) > PAGE
    found = found[:PAGE]
    kept = {k: v for k, v in (("state", state), ("sync", sync)) if v}
    return call.page(
        "conflicts.html",
        rows=_rows(store, found),
        state=state,
        sync=sync,
        syncs=sorted(call.console.config().syncs),
        older=urlencode({**kept, "before": found[-1].id}) if more and found else None,
        newest=urlencode(kept) if before else None,
    )


def resolve(call: Call) -> Response:
    conflict_id = int(call.request.path_params["conflict_id"])
    take = call.form.get("take") or None
    value = call.form.get("value")
    if take is not None and take not in ("crm", "external"):
        raise Refused("take must be crm or external")
    if take is not None:
        value = None
    elif value is None:
        raise Refused("take a side or type a value")
    store = call.store
    conflict = store.get_conflict(conflict_id)
    if not conflict.open:
        raise Refused(f"conflict {conflict_id} is settled already: nothing to resolve", 409)
    config = call.console.config()
    sync_config = config.syncs.get(conflict.sync)
    if sync_config is None:
        raise Refused(f"conflict {conflict_id}'s sync {conflict.sync} is not in the configuration")
    spec = build_spec(config, sync_config)
    side: Literal["crm", "external"] | None = take  # type: ignore[assignment]
    source = ChangeSource(SourceType.CRM_UI, f"console:{call.viewer.name}"[:100])
    with sync_lease(
        store, config.store_url, conflict.sync, wait=LEASE_WAIT_SECONDS, holder=console_holder()
    ) as leased:
        resolve_conflict(leased, spec, conflict_id, take=side, value=value, source=source)
    return done("/console/conflicts", "resolved")
