"""Store records as HubSpot's ``SimplePublicObject`` JSON, with HubSpot's default properties.

HubSpot answers a read that names no properties with a small default set per object, and
names every requested property (``null`` when it has no value) plus the system properties it
always returns (``hs_object_id``, ``createdate``, the last-modified date), which client code
reads without asking for them; create and update answers carry every value the record holds. Requested names the object does not have are left out,
as HubSpot leaves them out, rather than refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from store import HistoryEntry, ObjectSchema, Record

__all__ = [
    "DEFAULT_PROPERTIES",
    "QUERY_PROPERTIES",
    "chosen_properties",
    "history_properties",
    "object_json",
    "query_properties",
    "split_names",
    "system_properties",
]

# Returned when a read names no properties (HubSpot's search guide, §2.3 of the reference).
DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    "tickets": (
        "content",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_priority",
        "subject",
    ),
}
# Other objects (activities, custom objects): the automatic ones and the display property.
_OTHER_DEFAULTS = ("hs_createdate", "createdate", "hs_lastmodifieddate", "hs_object_id")

# The properties a search's free-text ``query`` looks in (HubSpot's search guide).
QUERY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": (
        "firstname",
        "lastname",
        "email",
        "phone",
        "hs_additional_emails",
        "fax",
        "mobilephone",
        "company",
        "hs_marketable_until_renewal",
    ),
    "companies": ("website", "phone", "name", "domain"),
    "deals": ("dealname", "pipeline", "dealstage", "description", "dealtype"),
    "tickets": ("subject", "content", "hs_pipeline_stage", "hs_ticket_category", "hs_ticket_id"),
}


def _defaults(schema: ObjectSchema) -> list[str]:
    names = None if schema.custom else DEFAULT_PROPERTIES.get(schema.name)
    if names is None:
        display = schema.primary_display_property
        names = (*_OTHER_DEFAULTS, *((display,) if display else ()))
    return [n for n in dict.fromkeys(names) if n in schema.properties]


def system_properties(schema: ObjectSchema) -> list[str]:
    """What HubSpot returns on every read: contacts name their last-modified date
    ``lastmodifieddate``, every other object ``hs_lastmodifieddate``."""
    modified = "lastmodifieddate" if schema.name == "contacts" else "hs_lastmodifieddate"
    return [n for n in ("createdate", "hs_object_id", modified) if n in schema.properties]


def chosen_properties(schema: ObjectSchema, requested: Sequence[str] | None) -> list[str]:
    """The property names a read answers with: the requested known ones and the system ones,
    else the defaults."""
    if not requested:
        return _defaults(schema)
    wanted = [n for n in requested if n in schema.properties]
    return list(dict.fromkeys([*wanted, *system_properties(schema)]))


def history_properties(schema: ObjectSchema, requested: Sequence[str] | None) -> list[str]:
    """The requested names whose history a read includes (unknown names left out)."""
    return [n for n in dict.fromkeys(requested or ()) if n in schema.properties]


def query_properties(schema: ObjectSchema) -> list[str]:
    """Where a free-text ``query`` searches: HubSpot's fields, or a custom object's own."""
    names = None if schema.custom else QUERY_PROPERTIES.get(schema.name)
    if names is None:
        names = schema.searchable_properties or (
            (schema.primary_display_property,) if schema.primary_display_property else ()
        )
    return [n for n in names if n in schema.properties]


def split_names(values: Sequence[str] | None) -> list[str]:
    """Query parameters given repeated (``?properties=a&properties=b``) or comma-joined."""
    names: list[str] = []
    for value in values or ():
        names.extend(n.strip() for n in value.split(",") if n.strip())
    return names


def _version(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "value": entry.value if entry.value is not None else "",
        "timestamp": entry.timestamp,
        "sourceType": entry.source_type.value,
        "sourceId": entry.source_id,
    }


def object_json(
    record: Record,
    names: Sequence[str] | None,
    *,
    history: Mapping[str, Sequence[HistoryEntry]] | None = None,
    trace_id: str | None = None,
) -> dict[str, Any]:
    """``SimplePublicObject``: ``names`` None means every value the record holds."""
    if names is None:
        properties: dict[str, str | None] = dict(record.properties)
    else:
        properties = {name: record.properties.get(name) for name in names}
    out: dict[str, Any] = {
        "id": str(record.id),
        "properties": properties,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "archived": record.archived,
    }
    if record.archived_at is not None:
        out["archivedAt"] = record.archived_at
    if history is not None:
        out["propertiesWithHistory"] = {
            name: [_version(e) for e in entries] for name, entries in history.items()
        }
    if trace_id is not None:
        out["objectWriteTraceId"] = trace_id
    return out
