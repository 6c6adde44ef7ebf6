"""HubSpot's webhook body: a JSON array of thin events, each naming one record that changed.

Events carry no record (only the one property that changed), so every event becomes a
:class:`WebhookEvent` with ``record=None`` and the engine fetches the record by id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from connectors import base
from connectors.base import WebhookEvent

__all__ = ["WebhookPayloadError", "parse_events"]

#: The object part of ``subscriptionType`` → the object type name HubSpot uses in paths.
EVENT_OBJECTS = {
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
    "ticket": "tickets",
    "line_item": "line_items",
    "product": "products",
}
_CHANGED = {"creation", "propertyChange", "restore"}
_DELETED = {"deletion", "privacyDeletion"}
#: Events in one body; HubSpot batches up to 100, so this leaves room without being unbounded.
MAX_EVENTS = 1000


class WebhookPayloadError(base.WebhookPayloadError):
    """A signed body that is not HubSpot's event array: answer 400, nothing is applied."""


def _id(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise WebhookPayloadError(f"a HubSpot webhook event's {what} is not an id")
    text = str(value)
    if not text.isdigit() or len(text) > 30:
        raise WebhookPayloadError(f"a HubSpot webhook event's {what} {text[:40]!r} is not an id")
    return text


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)[:200]
    return None


def parse_events(
    body: bytes,
    *,
    max_bytes: int,
    objects_for: Callable[[str], list[str]],
    app_id: str | None,
) -> list[WebhookEvent]:
    """The events of a verified body; ``objects_for`` maps a HubSpot type to our object names.

    Events for object types no configured object reads are left out. An association
    change (``contact.associationChange``) is a change of its ``fromObjectId`` record: the
    engine fetches it, with its association fields read through v4 (HubSpot does not move a
    record's last-modified date for an association, so a search never finds it).
    """
    if len(body) > max_bytes:
        raise WebhookPayloadError(
            f"the HubSpot webhook body is {len(body)} bytes, over the {max_bytes} byte limit"
        )
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookPayloadError("the HubSpot webhook body is not valid JSON") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise WebhookPayloadError("the HubSpot webhook body is not a JSON array of events")
    if len(data) > MAX_EVENTS:
        raise WebhookPayloadError(
            f"the HubSpot webhook body holds {len(data)} events, over the limit of {MAX_EVENTS}"
        )
    events: list[WebhookEvent] = []
    for raw in data:
        events.extend(_event(raw, objects_for, app_id))
    return events


def _event(
    raw: object, objects_for: Callable[[str], list[str]], app_id: str | None
) -> list[WebhookEvent]:
    if not isinstance(raw, dict):
        raise WebhookPayloadError("a HubSpot webhook event is not a JSON object")
    kind = raw.get("subscriptionType")
    if not isinstance(kind, str) or "." not in kind:
        raise WebhookPayloadError("a HubSpot webhook event has no subscriptionType")
    prefix, _, action = kind.partition(".")
    if prefix == "object":
        hubspot_type = _text(raw.get("objectTypeId")) or ""
    else:
        hubspot_type = EVENT_OBJECTS.get(prefix, "")
    names = objects_for(hubspot_type) if hubspot_type else []
    if not names or action not in _CHANGED | _DELETED | {"merge", "associationChange"}:
        return []
    change_source = _text(raw.get("changeSource"))
    source_id = _text(raw.get("sourceId"))
    own = bool(
        app_id
        and change_source == "INTEGRATION"
        and source_id is not None
        and (source_id == app_id or source_id.rpartition(":")[2] == app_id)
    )
    extra: dict[str, Any] = {
        "change_source": change_source,
        "source_id": source_id,
        "own_write": own,
        "subscription_type": kind,
        "occurred_at": raw.get("occurredAt") if isinstance(raw.get("occurredAt"), int) else None,
        "property_name": _text(raw.get("propertyName")),
    }
    delivery = _text(raw.get("eventId"))
    changes: list[tuple[str, bool]] = []
    if action == "merge":
        primary = _id(raw.get("primaryObjectId", raw.get("objectId")), "primaryObjectId")
        changes.append((primary, False))
        merged = raw.get("mergedObjectIds") or []
        if not isinstance(merged, list):
            raise WebhookPayloadError("a HubSpot merge event's mergedObjectIds is not a list")
        # The merged-away records are gone; their ids now lead to the primary.
        changes.extend(
            (m, True) for m in (_id(v, "mergedObjectId") for v in merged) if m != primary
        )
    elif action == "associationChange":
        changes.append((_id(raw.get("fromObjectId"), "fromObjectId"), False))
    else:
        changes.append((_id(raw.get("objectId"), "objectId"), action in _DELETED))
    return [
        WebhookEvent(
            external_object=name,
            external_id=object_id,
            record=None,
            deleted=deleted,
            delivery_id=delivery,
            extra=extra,
        )
        for name in names
        for object_id, deleted in changes
    ]
