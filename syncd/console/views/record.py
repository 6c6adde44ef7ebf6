"""A record: its properties with their history (value, source, writer, time), its
associations, its activity timeline, its links to external records, and the trace of why
each value is what it is (``syncd trace``, the same events)."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response

from store import HistoryEntry, TimelineEntry
from store.errors import StoreError
from syncd.console.app import Call, Refused
from syncd.trace import trace_events

__all__ = ["find", "show"]

_HISTORY_SHOWN = 20


def find(call: Call) -> Response:
    """The overview's "open a record" form: object and id to the record's page."""
    object_name, record_id = call.query("object", 100), call.query("id", 20)
    if not object_name or not (record_id.isdigit() and len(record_id) <= 18):
        raise Refused("give an object (such as contacts) and a record id (a whole number)")
    obj = call.store.get_object(object_name)  # NotFound names it
    return RedirectResponse(f"/console/records/{quote(obj.name)}/{int(record_id)}", 303)


def _timeline(call: Call, object_name: str, record_id: int) -> list[TimelineEntry]:
    """The record's newest activities; an activity itself has no timeline (empty)."""
    try:
        return call.store.timeline(object_name, record_id, limit=50).entries
    except StoreError:
        return []


def show(call: Call) -> Response:
    object_name = str(call.request.path_params["object_name"])[:100]
    record_id = int(call.request.path_params["record_id"])
    prop = call.query("property", 100) or None
    store = call.store
    record = store.get_record(object_name, record_id, include_archived=True)
    obj = store.get_object(object_name)
    every = store.property_history(obj.name, record_id)
    history: dict[str, list[HistoryEntry]] = defaultdict(list)
    for h in every:
        history[h.property].append(h)
    for entries in history.values():
        entries.sort(key=lambda h: h.timestamp, reverse=True)
    links = []
    for sync in call.console.config().syncs.values():
        if sync.crm_object == obj.name:
            link = store.get_link_by_crm(sync.name, record_id)
            if link is not None:
                links.append(link)
    return call.page(
        "record.html",
        obj=obj,
        record=record,
        properties=sorted(record.properties.items()),
        history=history,
        history_shown=_HISTORY_SHOWN,
        associations=store.list_associations(obj.name, record_id),
        timeline=_timeline(call, obj.name, record_id),
        links=links,
        trace=trace_events(store, obj.name, record_id, prop, resolver="operator", history=every),
        prop=prop,
    )
