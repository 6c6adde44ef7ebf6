"""Write the built-in catalogue (standard and activity objects, association types) into a store.

Idempotent: only what is missing is inserted, so an admin's edits to built-in labels or
options survive every upgrade, and a newer catalogue adds its new properties in place.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, insert, select

from store.db import tables as t
from store.db.builtin import BUILTIN_ASSOCIATIONS, BUILTIN_OBJECTS
from store.db.catalog import catalog_changed
from store.db.types import utcnow
from store.models import PropertySpec

__all__ = ["property_row", "seed_builtins"]


def property_row(
    object_type_id: int, spec: PropertySpec, *, builtin: bool, order: int
) -> dict[str, Any]:
    """The ``properties`` row for a spec (shared by seeding and admin-created properties)."""
    now = utcnow()
    return {
        "object_type_id": object_type_id,
        "name": spec.name,
        "label": spec.label,
        "type": spec.type,
        "field_type": spec.field_type,
        "group_name": spec.group,
        "description": spec.description,
        "options": [asdict(option) for option in spec.options],
        "unique_value": spec.unique,
        "read_only": spec.read_only,
        "format": spec.format,
        "builtin": builtin,
        "archived": False,
        "display_order": spec.display_order if spec.display_order >= 0 else order,
        "created_at": now,
        "updated_at": now,
    }


def seed_builtins(connection: Connection) -> None:
    now = utcnow()
    changed = False
    existing = dict(connection.execute(select(t.object_types.c.name, t.object_types.c.id)).all())
    for obj in BUILTIN_OBJECTS:
        if obj.name not in existing:
            existing[obj.name] = connection.execute(
                insert(t.object_types).returning(t.object_types.c.id),
                {
                    "name": obj.name,
                    "type_id": obj.type_id,
                    "singular_label": obj.singular_label,
                    "plural_label": obj.plural_label,
                    "primary_display_property": obj.primary_display_property,
                    "required_properties": list(obj.required_properties),
                    "searchable_properties": list(obj.searchable_properties),
                    "secondary_display_properties": list(obj.secondary_display_properties),
                    "description": "",
                    "custom": False,
                    "activity": obj.activity,
                    "archived": False,
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
            changed = True
        object_type_id = existing[obj.name]
        have_groups = set(
            connection.scalars(
                select(t.property_groups.c.name).where(
                    t.property_groups.c.object_type_id == object_type_id
                )
            )
        )
        groups = [
            {
                "object_type_id": object_type_id,
                "name": group.name,
                "label": group.label,
                "display_order": group.display_order if group.display_order >= 0 else order,
                "archived": False,
            }
            for order, group in enumerate(obj.groups)
            if group.name not in have_groups
        ]
        if groups:
            connection.execute(insert(t.property_groups), groups)
            changed = True
        have_props = set(
            connection.scalars(
                select(t.properties.c.name).where(t.properties.c.object_type_id == object_type_id)
            )
        )
        props = [
            property_row(object_type_id, spec, builtin=True, order=order)
            for order, spec in enumerate(obj.properties)
            if spec.name not in have_props
        ]
        if props:
            connection.execute(insert(t.properties), props)
            changed = True

    if changed:  # processes already running load the new definitions at once
        catalog_changed(connection)
    have_types = set(connection.scalars(select(t.association_types.c.type_id)))
    types = [
        {
            "type_id": assoc.type_id,
            "from_object_type_id": existing[assoc.from_object],
            "to_object_type_id": existing[assoc.to_object],
            "label": assoc.label,
            "name": assoc.name,
            "category": "HUBSPOT_DEFINED",
            "inverse_type_id": assoc.inverse_type_id,
        }
        for assoc in BUILTIN_ASSOCIATIONS
        if assoc.type_id not in have_types
    ]
    if types:
        connection.execute(insert(t.association_types), types)
