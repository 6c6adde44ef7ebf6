"""The JSON shape of each store value, in HubSpot's camelCase names.

One function per domain value, so ``--json`` output is the same wherever a value appears
(``records get``, ``records merge``, ``demo``) and scripts can rely on it.
"""

from __future__ import annotations

from typing import Any

from store import (
    Association,
    AssociationLabel,
    HistoryEntry,
    JournalEntry,
    ObjectSchema,
    PropertyDef,
    Record,
)

__all__ = [
    "association_json",
    "change_summary",
    "history_json",
    "journal_json",
    "label_json",
    "object_json",
    "property_json",
    "record_json",
    "source_text",
]


def record_json(record: Record, properties: list[str] | None = None) -> dict[str, Any]:
    props = (
        {name: record.properties.get(name) for name in properties}
        if properties is not None
        else dict(sorted(record.properties.items()))
    )
    return {
        "object": record.object,
        "id": record.id,
        "properties": props,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "archived": record.archived,
        "archivedAt": record.archived_at,
        "mergedInto": record.merged_into,
    }


def property_json(prop: PropertyDef) -> dict[str, Any]:
    return {
        "object": prop.object,
        "name": prop.name,
        "label": prop.label,
        "type": prop.type,
        "fieldType": prop.field_type,
        "groupName": prop.group,
        "description": prop.description,
        "options": [
            {
                "value": o.value,
                "label": o.label,
                "displayOrder": o.display_order,
                "hidden": o.hidden,
            }
            for o in prop.options
        ],
        "hasUniqueValue": prop.unique,
        "readOnly": prop.read_only,
        "format": prop.format,
        "builtin": prop.builtin,
        "archived": prop.archived,
        "displayOrder": prop.display_order,
        "createdAt": prop.created_at,
        "updatedAt": prop.updated_at,
    }


def object_json(schema: ObjectSchema, *, with_properties: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": schema.name,
        "objectTypeId": schema.type_id,
        "labels": {"singular": schema.singular_label, "plural": schema.plural_label},
        "primaryDisplayProperty": schema.primary_display_property,
        "requiredProperties": list(schema.required_properties),
        "searchableProperties": list(schema.searchable_properties),
        "secondaryDisplayProperties": list(schema.secondary_display_properties),
        "description": schema.description,
        "custom": schema.custom,
        "activity": schema.activity,
        "archived": schema.archived,
        "createdAt": schema.created_at,
        "updatedAt": schema.updated_at,
    }
    if with_properties:
        out["properties"] = [property_json(p) for p in schema.properties.values()]
    return out


def label_json(label: AssociationLabel) -> dict[str, Any]:
    return {
        "typeId": label.type_id,
        "fromObject": label.from_object,
        "toObject": label.to_object,
        "label": label.label,
        "name": label.name,
        "category": label.category,
        "inverseTypeId": label.inverse_type_id,
    }


def association_json(association: Association) -> dict[str, Any]:
    return {
        "fromObject": association.from_object,
        "fromId": association.from_id,
        "toObject": association.to_object,
        "toId": association.to_id,
        "labels": [
            {"typeId": x.type_id, "label": x.label, "category": x.category}
            for x in association.labels
        ],
    }


def history_json(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "property": entry.property,
        "value": entry.value,
        "timestamp": entry.timestamp,
        "sourceType": entry.source_type,
        "sourceId": entry.source_id,
    }


def journal_json(entry: JournalEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "writtenAt": entry.written_at,
        "object": entry.object,
        "recordId": entry.record_id,
        "op": entry.op,
        "changes": entry.changes,
        "sourceType": entry.source_type,
        "sourceId": entry.source_id,
    }


def source_text(source_type: object, source_id: str | None) -> str:
    """``CRM_UI (cli)``: who made a change, as history and the journal record it."""
    kind = getattr(source_type, "value", source_type)
    return f"{kind} ({source_id})" if source_id else str(kind)


def change_summary(entry: JournalEntry) -> str:
    """What one journal entry changed, in a few words (the JSON output has everything)."""
    changes = entry.changes or {}
    if entry.op in ("create", "update"):
        parts = []
        for name, pair in changes.items():
            old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
            if entry.op == "create":
                parts.append(f"{name}={new!r}")
            else:
                parts.append(f"{name}: {old!r} → {new!r}")
        return ", ".join(parts)
    if entry.op in ("associate", "dissociate"):
        label = changes.get("label")
        target = f"{changes.get('to_object')} {changes.get('to_id')}"
        return target + (f" ({label})" if label else "")
    if entry.op == "merge":
        return (
            f"merged in {changes.get('loser_id')}, "
            f"{changes.get('moved_associations', 0)} association(s) moved"
        )
    if entry.op == "archive" and changes.get("merged_into") is not None:
        return f"merged into {changes['merged_into']}"
    return ", ".join(f"{k}={v!r}" for k, v in changes.items())
