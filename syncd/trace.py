"""One record's story in time order: ``syncd trace`` and the console's record page.

Every value it took with its writer (property history's source), each sync log row about it,
each conflict on it and each operator decision on a conflict, sorted by time. The record's
conflicts are read by record (an indexed filter), not by scanning every conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store import HistoryEntry, Store
from syncd.changes import changes_text

__all__ = ["TraceEvent", "trace_events"]

#: How many log rows and conflicts of one record a trace reads at most.
TRACE_LIMIT = 10_000


@dataclass(frozen=True)
class TraceEvent:
    """One line of a trace: when, what kind of event, who did it, in which run, and what."""

    at: datetime
    event: str
    by: str
    run: str
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {
            "at": self.at,
            "event": self.event,
            "by": self.by,
            "run": self.run,
            "detail": self.detail,
        }


def trace_events(
    store: Store,
    object_name: str,
    record_id: int,
    prop: str | None = None,
    *,
    resolver: str = "operator (CLI)",
    history: list[HistoryEntry] | None = None,
) -> list[TraceEvent]:
    """The record's events, oldest first; ``prop`` keeps those about one property.

    Raises ``NotFoundError`` naming the record when it does not exist. ``resolver`` names
    who an operator's decision is shown as (the CLI's and the console's are both operators).
    ``history`` is the record's whole property history when the caller read it already
    (``object_name`` is then the object's own name and the record is known to exist).
    """
    if history is None:
        store.get_record(object_name, record_id, include_archived=True)  # NotFound names it
        crm_object = store.get_object(object_name).name
        history = store.property_history(object_name, record_id, prop)
    else:
        crm_object = object_name
        history = [h for h in history if prop is None or h.property == prop]
    log = store.sync_log(crm_object=crm_object, crm_id=record_id, limit=TRACE_LIMIT)
    conflicts = [
        c
        for c in store.list_conflicts(crm_object=crm_object, crm_id=record_id, limit=TRACE_LIMIT)
        if prop is None or c.field == prop
    ]
    events: list[TraceEvent] = []
    for h in history:
        source = h.source_type.value + (f" {h.source_id}" if h.source_id else "")
        events.append(TraceEvent(h.timestamp, "value", source, "-", f"{h.property} = {h.value!r}"))
    for e in log:
        if prop is not None and e.changes and prop not in changes_text(e.changes):
            continue
        what = changes_text(e.changes) or (e.message or "")
        events.append(
            TraceEvent(
                e.at,
                f"{e.direction.value} {e.action.value}",
                e.sync,
                str(e.run_id or "-"),
                f"external {e.external_id or '-'}: {what}",
            )
        )
    for c in conflicts:
        # A held conflict has no winner, also once an operator resolved it (said below).
        held = c.open or c.winner is None
        state_text = "held for an operator" if held else f"{c.winner} won ({c.rule})"
        events.append(
            TraceEvent(
                c.created_at,
                "conflict",
                c.sync,
                str(c.run_id or "-"),
                f"{c.field}: crm {c.crm_value!r} vs external {c.external_value!r}, base"
                f" {c.base!r}: {state_text}"
                + (f"; resolved {c.resolution}" if c.resolved_at else ""),
            )
        )
    for c in conflicts:
        if c.resolved_at is not None:
            # An operator's decision (`syncd conflicts resolve`): they are its writer.
            events.append(
                TraceEvent(
                    c.resolved_at,
                    "conflict resolved",
                    resolver,
                    "-",
                    f"{c.field} = {c.resolved_value!r} ({c.resolution})",
                )
            )
    events.sort(key=lambda e: e.at)
    return events
