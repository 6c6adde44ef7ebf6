"""Reading object and property definitions out of the database into domain values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select

from store.db import tables as t
from store.errors import NotFoundError
from store.models import GroupSpec, ObjectSchema, OptionSpec, PropertyDef

__all__ = ["LoadedObject", "load_object", "load_objects", "property_from_row", "suggest"]


@dataclass(frozen=True)
class LoadedObject:
    """An object schema with its database id and every property, archived ones included."""

    id: int
    schema: ObjectSchema
    all_properties: dict[str, PropertyDef]

    @property
    def name(self) -> str:
        return self.schema.name

    @property
    def properties(self) -> dict[str, PropertyDef]:
        return self.schema.properties

    def property(self, name: str) -> PropertyDef:
        """A live property, or a NotFoundError that suggests the nearest names."""
        found = self.schema.properties.get(name)
        if found is not None:
            return found
        if name in self.all_properties:
            raise NotFoundError(
                f"{self.name}.{name} is archived; restore it with "
                f"`syncd properties update {self.name} {name} --restore`",
                object=self.name,
                property=name,
            )
        raise NotFoundError(
            f"{self.name} has no property {name!r}{suggest(name, self.schema.properties)}",
            object=self.name,
            property=name,
        )


def suggest(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'email'?"`` when a near name exists, else ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def property_from_row(object_name: str, row: Mapping[Any, Any]) -> PropertyDef:
    return PropertyDef(
        object=object_name,
        name=row["name"],
        label=row["label"],
        type=row["type"],
        field_type=row["field_type"],
        group=row["group_name"],
        description=row["description"],
        options=tuple(
            OptionSpec(
                value=o["value"],
                label=o["label"],
                display_order=o.get("display_order", 0),
                hidden=o.get("hidden", False),
            )
            for o in row["options"]
        ),
        unique=row["unique_value"],
        read_only=row["read_only"],
        format=row["format"],
        builtin=row["builtin"],
        archived=row["archived"],
        display_order=row["display_order"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _schema(
    row: Mapping[str, Any], props: list[PropertyDef], groups: tuple[GroupSpec, ...]
) -> ObjectSchema:
    return ObjectSchema(
        name=row["name"],
        type_id=row["type_id"],
        singular_label=row["singular_label"],
        plural_label=row["plural_label"],
        primary_display_property=row["primary_display_property"],
        required_properties=tuple(row["required_properties"]),
        searchable_properties=tuple(row["searchable_properties"]),
        secondary_display_properties=tuple(row["secondary_display_properties"]),
        description=row["description"],
        custom=row["custom"],
        activity=row["activity"],
        archived=row["archived"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        properties={p.name: p for p in props if not p.archived},
        groups=groups,
    )


def load_objects(connection: Connection, *, include_archived: bool = False) -> list[LoadedObject]:
    query = select(t.object_types).order_by(t.object_types.c.id)
    if not include_archived:
        query = query.where(t.object_types.c.archived.is_(False))
    return _load(connection, [dict(r) for r in connection.execute(query).mappings()])


def load_object(
    connection: Connection, name: str, *, include_archived: bool = False
) -> LoadedObject:
    """An object by name (``contacts``), HubSpot type id (``0-1``) or singular (``contact``)."""
    ot = t.object_types
    key = name.strip().lower() if isinstance(name, str) else ""
    rows = [
        dict(r)
        for r in connection.execute(
            select(ot).where(or_(ot.c.name == key, ot.c.type_id == key))
        ).mappings()
    ]
    if not rows:
        rows = [
            dict(r)
            for r in connection.execute(select(ot)).mappings()
            if r["singular_label"].lower() == key or r["plural_label"].lower() == key
        ]
    if rows and (include_archived or not rows[0]["archived"]):
        return _load(connection, rows[:1])[0]
    known = connection.scalars(select(ot.c.name).where(ot.c.archived.is_(False))).all()
    state = " (it is archived)" if rows else ""
    raise NotFoundError(
        f"no object {name!r}{state}{suggest(key, known)}; known objects: {', '.join(known)}",
        object=name,
    )


def _load(connection: Connection, rows: list[dict[str, Any]]) -> list[LoadedObject]:
    if not rows:
        return []
    by_id = {row["id"]: row for row in rows}
    props: dict[int, list[PropertyDef]] = {i: [] for i in by_id}
    groups: dict[int, list[GroupSpec]] = {i: [] for i in by_id}
    for prop_row in connection.execute(
        select(t.properties)
        .where(t.properties.c.object_type_id.in_(by_id))
        .order_by(t.properties.c.display_order, t.properties.c.id)
    ).mappings():
        object_id = prop_row["object_type_id"]
        props[object_id].append(property_from_row(by_id[object_id]["name"], prop_row))
    for group_row in connection.execute(
        select(t.property_groups)
        .where(
            t.property_groups.c.object_type_id.in_(by_id),
            t.property_groups.c.archived.is_(False),
        )
        .order_by(t.property_groups.c.display_order, t.property_groups.c.id)
    ).mappings():
        groups[group_row["object_type_id"]].append(
            GroupSpec(group_row["name"], group_row["label"], group_row["display_order"])
        )
    return [
        LoadedObject(
            id=row["id"],
            schema=_schema(row, props[row["id"]], tuple(groups[row["id"]])),
            all_properties={p.name: p for p in props[row["id"]]},
        )
        for row in rows
    ]
