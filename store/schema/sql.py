"""Changing definitions: custom objects, properties and property groups.

Built-in objects and properties may be relabelled and given new options, never retyped or
archived. A change that would leave stored values invalid is either refused (a type change)
or reported (options removed), never applied silently.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from contextlib import closing
from dataclasses import asdict, replace
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from store.db import tables as t
from store.db.builtin import common_properties
from store.db.catalog import LoadedObject, suggest
from store.db.seed import property_row
from store.db.tx import Tx
from store.errors import NotFoundError, SchemaError, StoreError, ValidationError
from store.models import (
    PROPERTY_TYPES,
    TYPE_FIELD_TYPES,
    GroupSpec,
    ObjectSpec,
    PropertyDef,
    PropertySpec,
    PropertyUpdateReport,
)
from store.values import canonical_value, unique_key

__all__ = [
    "MAX_UNIQUE_PROPERTIES",
    "archive_group",
    "archive_object",
    "archive_property",
    "create_group",
    "create_object",
    "create_property",
    "restore_property",
    "update_group",
    "update_object",
    "update_property",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
MAX_UNIQUE_PROPERTIES = 10
CUSTOM_TYPE_ID_BASE = 1000
_ACTIVITY_OBJECTS = ("notes", "calls", "emails", "meetings", "tasks")


def check_name(kind: str, name: str) -> None:
    if not _NAME.match(name):
        raise SchemaError(
            f"{kind} name {name!r} is not valid: lowercase letters, digits and underscores, "
            "starting with a letter, at most 100 characters"
        )


def check_property_spec(object_name: str, spec: PropertySpec, groups: set[str]) -> None:
    check_name("property", spec.name)
    where = f"{object_name}.{spec.name}"
    if not spec.label.strip():
        raise SchemaError(f"{where}: a label is required")
    if spec.type not in PROPERTY_TYPES:
        raise SchemaError(
            f"{where}: type {spec.type!r} unknown; types: {', '.join(PROPERTY_TYPES)}"
        )
    fits = TYPE_FIELD_TYPES[spec.type]
    if spec.field_type not in fits:
        raise SchemaError(
            f"{where}: fieldType {spec.field_type!r} does not fit type {spec.type!r}; "
            f"use one of {', '.join(fits)}"
        )
    if spec.type == "enumeration":
        values = [o.value for o in spec.options]
        if not values:
            raise SchemaError(f"{where}: an enumeration needs at least one option")
        if len(set(values)) != len(values):
            raise SchemaError(f"{where}: option values must be unique")
        bad = [v for v in values if not v or ";" in v or len(v) > 3000]
        if bad:
            raise SchemaError(f"{where}: option value {bad[0]!r} is empty, too long or has ';'")
        if spec.field_type == "booleancheckbox" and set(values) != {"true", "false"}:
            raise SchemaError(f"{where}: a booleancheckbox has exactly the options true and false")
    elif spec.type == "bool" and spec.options:
        # HubSpot's bool properties carry the two options true/false (labels Yes/No by
        # default); clients create them that way, so the pair is kept, its labels as given.
        if sorted(o.value for o in spec.options) != ["false", "true"]:
            raise SchemaError(f"{where}: a bool property has exactly the options true and false")
    elif spec.options:
        raise SchemaError(f"{where}: only enumeration and bool properties have options")
    if spec.group is not None and spec.group not in groups:
        raise SchemaError(
            f"{where}: no property group {spec.group!r}; groups: {', '.join(sorted(groups))}"
        )
    if spec.format not in (None, "email", "domain"):
        raise SchemaError(f"{where}: format {spec.format!r} unknown; formats: email, domain")
    if spec.format is not None and spec.type != "string":
        raise SchemaError(f"{where}: format {spec.format!r} needs type string")
    if spec.unique and spec.type not in ("string", "number"):
        raise SchemaError(f"{where}: only string and number properties can be unique")


# ---------------------------------------------------------------- objects


def create_object(tx: Tx, spec: ObjectSpec) -> None:
    conn = tx.connection
    check_name("object", spec.name)
    if spec.name.endswith("_information"):
        raise SchemaError(f"object name {spec.name!r} may not end in _information")
    taken = conn.execute(
        select(t.object_types.c.name).where(t.object_types.c.name == spec.name)
    ).first()
    if taken:
        raise SchemaError(f"an object named {spec.name!r} already exists (maybe archived)")
    if not spec.singular_label.strip() or not spec.plural_label.strip():
        raise SchemaError(f"object {spec.name!r}: singular and plural labels are required")
    group = GroupSpec(f"{spec.name}_information", f"{spec.singular_label} information", 0)
    groups = {group.name}
    specs = [replace(p, group=p.group or group.name) for p in spec.properties]
    for prop in specs:
        check_property_spec(spec.name, prop, groups)
    names = [p.name for p in specs]
    common = common_properties(group.name)
    clash = set(names) & {p.name for p in common}
    if clash or len(set(names)) != len(names):
        raise SchemaError(
            f"object {spec.name!r}: property names repeat or clash: {sorted(clash) or names}"
        )
    known = set(names) | {p.name for p in common}
    for role, wanted in (
        ("primary display property", (spec.primary_display_property,)),
        ("required property", spec.required_properties),
        ("searchable property", spec.searchable_properties),
        ("secondary display property", spec.secondary_display_properties),
    ):
        for name in wanted:
            if name not in known:
                raise SchemaError(
                    f"object {spec.name!r}: {role} {name!r} is not one of its properties"
                )
    if sum(p.unique for p in specs) > MAX_UNIQUE_PROPERTIES:
        raise SchemaError(
            f"object {spec.name!r}: at most {MAX_UNIQUE_PROPERTIES} unique properties"
        )
    partners = [tx.object(name) for name in spec.associated_objects]

    object_id = conn.execute(
        insert(t.object_types).returning(t.object_types.c.id),
        {
            "name": spec.name,
            # Placeholder until the id is known; custom type ids are "2-<id>".
            "type_id": f"pending-{spec.name}"[:20],
            "singular_label": spec.singular_label,
            "plural_label": spec.plural_label,
            "primary_display_property": spec.primary_display_property,
            "required_properties": list(spec.required_properties),
            "searchable_properties": list(spec.searchable_properties),
            "secondary_display_properties": list(spec.secondary_display_properties),
            "description": spec.description,
            "custom": True,
            "activity": False,
            "archived": False,
            "created_at": tx.now,
            "updated_at": tx.now,
        },
    ).scalar_one()
    conn.execute(
        update(t.object_types)
        .where(t.object_types.c.id == object_id)
        .values(type_id=f"2-{CUSTOM_TYPE_ID_BASE + object_id}")
    )
    conn.execute(
        insert(t.property_groups),
        {
            "object_type_id": object_id,
            "name": group.name,
            "label": group.label,
            "display_order": 0,
            "archived": False,
        },
    )
    rows = [
        property_row(object_id, p, builtin=i < len(common), order=i)
        for i, p in enumerate([*common, *specs])
    ]
    conn.execute(insert(t.properties), rows)
    tx.forget_objects()
    me = tx.object(spec.name)
    seen = {p.name for p in partners}
    activities = [tx.object(n) for n in _ACTIVITY_OBJECTS if n not in seen]
    for partner in [*partners, *activities]:
        add_default_association(tx, me, partner)


def add_default_association(tx: Tx, a: LoadedObject, b: LoadedObject) -> None:
    """Allow associations between two objects (the unlabelled type, both ways) if not yet."""
    at = t.association_types
    exists = tx.connection.execute(
        select(at.c.type_id).where(
            at.c.from_object_type_id == a.id, at.c.to_object_type_id == b.id, at.c.label.is_(None)
        )
    ).first()
    if exists:
        return
    first = next_association_type_id(tx)
    second = first if a.id == b.id else first + 1
    rows = [(first, a, b, second)] + ([(second, b, a, first)] if second != first else [])
    tx.connection.execute(
        insert(at),
        [
            {
                "type_id": type_id,
                "from_object_type_id": src.id,
                "to_object_type_id": dst.id,
                "label": None,
                "name": None,
                "category": "HUBSPOT_DEFINED",
                "inverse_type_id": inverse,
            }
            for type_id, src, dst, inverse in rows
        ],
    )


def next_association_type_id(tx: Tx) -> int:
    top = tx.connection.execute(select(func.max(t.association_types.c.type_id))).scalar()
    return max(int(top or 0), CUSTOM_TYPE_ID_BASE - 1) + 1


def update_object(tx: Tx, name: str, changes: dict[str, Any]) -> None:
    obj = tx.object(name)
    if not obj.schema.custom:
        raise SchemaError(f"{obj.name} is a standard object; only custom objects can be changed")
    allowed = {
        "singular_label",
        "plural_label",
        "primary_display_property",
        "required_properties",
        "searchable_properties",
        "secondary_display_properties",
        "description",
        "associated_objects",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise SchemaError(f"cannot change {', '.join(sorted(unknown))} of an object")
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "associated_objects":
            for partner in value:
                add_default_association(tx, obj, tx.object(partner))
            continue
        if key in ("singular_label", "plural_label", "description"):
            if key != "description" and not str(value).strip():
                raise SchemaError(f"{obj.name}: {key} cannot be empty")
            values[key] = str(value)
            continue
        wanted = [value] if key == "primary_display_property" else list(value)
        for prop in wanted:
            obj.property(prop)
        values[key] = value if key == "primary_display_property" else wanted
    if values:
        values["updated_at"] = tx.now
        tx.connection.execute(
            update(t.object_types).where(t.object_types.c.id == obj.id).values(**values)
        )
    tx.forget_objects()


def archive_object(tx: Tx, name: str) -> None:
    obj = tx.object(name)
    if not obj.schema.custom:
        raise SchemaError(f"{obj.name} is a standard object and cannot be archived")
    live = tx.connection.execute(
        select(func.count())
        .select_from(t.records)
        .where(t.records.c.object_type_id == obj.id, t.records.c.archived.is_(False))
    ).scalar_one()
    if live:
        raise SchemaError(
            f"{obj.name} still has {live} live record(s); archive them before the object"
        )
    tx.connection.execute(
        update(t.object_types)
        .where(t.object_types.c.id == obj.id)
        .values(archived=True, updated_at=tx.now)
    )
    tx.forget_objects()


# ---------------------------------------------------------------- groups


def create_group(tx: Tx, object_name: str, spec: GroupSpec) -> None:
    obj = tx.object(object_name)
    check_name("group", spec.name)
    if not spec.label.strip():
        raise SchemaError(f"group {spec.name!r}: a label is required")
    if any(g.name == spec.name for g in obj.schema.groups):
        raise SchemaError(f"{obj.name} already has a group {spec.name!r}")
    if _archived_group(tx, obj, spec.name):
        # The name stays taken by the archived row: creating it again brings it back.
        order = spec.display_order if spec.display_order >= 0 else len(obj.schema.groups)
        _set_group(tx, obj, spec.name, label=spec.label, display_order=order, archived=False)
        return
    tx.connection.execute(
        insert(t.property_groups),
        {
            "object_type_id": obj.id,
            "name": spec.name,
            "label": spec.label,
            "display_order": spec.display_order
            if spec.display_order >= 0
            else len(obj.schema.groups),
            "archived": False,
        },
    )
    tx.forget_objects()


def _archived_group(tx: Tx, obj: LoadedObject, name: str) -> bool:
    g = t.property_groups
    return (
        tx.connection.execute(
            select(g.c.id).where(
                g.c.object_type_id == obj.id, g.c.name == name, g.c.archived.is_(True)
            )
        ).first()
        is not None
    )


def _set_group(tx: Tx, obj: LoadedObject, name: str, **values: Any) -> None:
    g = t.property_groups
    tx.connection.execute(
        update(g).where(g.c.object_type_id == obj.id, g.c.name == name).values(**values)
    )
    tx.forget_objects()


def _live_group(obj: LoadedObject, name: str) -> GroupSpec:
    for group in obj.schema.groups:
        if group.name == name:
            return group
    known = [g.name for g in obj.schema.groups]
    raise NotFoundError(
        f"{obj.name} has no property group {name!r}{suggest(name, known)}; "
        f"groups: {', '.join(known) or '(none)'}",
        object=obj.name,
        group=name,
    )


def update_group(tx: Tx, object_name: str, name: str, changes: dict[str, Any]) -> GroupSpec:
    """Relabel or reorder a live group (its name, which properties refer to, never changes)."""
    obj = tx.object(object_name)
    current = _live_group(obj, name)
    unknown = set(changes) - {"label", "display_order"}
    if unknown:
        raise SchemaError(f"cannot change {', '.join(sorted(unknown))} of a property group")
    label = changes.get("label", current.label)
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        raise SchemaError(f"group {name!r}: a label is 1 to 200 characters")
    order = changes.get("display_order", current.display_order)
    if type(order) is not int or not -1 <= order < 2**31:
        raise SchemaError(f"group {name!r}: displayOrder {order!r} is not a whole number")
    if order < 0:
        order = current.display_order
    _set_group(tx, obj, name, label=label, display_order=order)
    return replace(current, label=label, display_order=order)


def archive_group(tx: Tx, object_name: str, name: str) -> None:
    """Archive an empty group; one that still holds live properties is refused, not emptied."""
    obj = tx.object(object_name)
    _live_group(obj, name)
    held = sorted(p.name for p in obj.properties.values() if p.group == name)
    if held:
        shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        raise SchemaError(
            f"{obj.name} group {name!r} still holds {len(held)} propert"
            f"{'y' if len(held) == 1 else 'ies'} ({shown}); move them to another group first"
        )
    _set_group(tx, obj, name, archived=True)


# ---------------------------------------------------------------- properties


def create_property(tx: Tx, object_name: str, spec: PropertySpec) -> None:
    obj = tx.object(object_name)
    groups = {g.name for g in obj.schema.groups}
    if spec.group is None and obj.schema.groups:
        spec = replace(spec, group=obj.schema.groups[0].name)
    check_property_spec(obj.name, spec, groups)
    if spec.name in obj.all_properties:
        state = "an archived" if obj.all_properties[spec.name].archived else "a"
        raise SchemaError(f"{obj.name} already has {state} property {spec.name!r}")
    if spec.unique and _unique_count(obj) >= MAX_UNIQUE_PROPERTIES:
        raise SchemaError(f"{obj.name}: at most {MAX_UNIQUE_PROPERTIES} unique properties")
    tx.connection.execute(
        insert(t.properties),
        property_row(obj.id, spec, builtin=False, order=len(obj.all_properties)),
    )
    tx.forget_objects()


def _unique_count(obj: LoadedObject) -> int:
    return sum(p.unique for p in obj.properties.values())


def _stored_values(tx: Tx, obj: LoadedObject, name: str) -> Generator[tuple[int, str], None, None]:
    """Every live record's stored value of one property (streamed, not loaded at once)."""
    # Closed when the caller stops early, so no server-side cursor is left open.
    with tx.connection.execute(
        select(t.records.c.id, t.records.c.properties)
        .where(t.records.c.object_type_id == obj.id, t.records.c.archived.is_(False))
        .order_by(t.records.c.id)
        .execution_options(yield_per=2000)
    ) as result:
        for record_id, props in result:
            value = props.get(name)
            if value is not None:
                yield record_id, value


def update_property(
    tx: Tx, object_name: str, name: str, changes: dict[str, Any]
) -> PropertyUpdateReport:
    obj = tx.object(object_name)
    current = obj.property(name)
    allowed = {
        "label", "description", "group", "options", "type", "field_type",
        "display_order", "unique", "read_only", "format",
    }  # fmt: skip
    unknown = set(changes) - allowed
    if unknown:
        raise SchemaError(f"cannot change {', '.join(sorted(unknown))} of a property")
    if current.builtin and (
        changes.get("type", current.type) != current.type
        or changes.get("field_type", current.field_type) != current.field_type
        or changes.get("unique", current.unique) != current.unique
        or changes.get("read_only", current.read_only) != current.read_only
        or changes.get("format", current.format) != current.format
    ):
        raise SchemaError(
            f"{obj.name}.{name} is built in: its type, field type, unique, read-only and "
            "format cannot change (label, description, group and options can)"
        )
    spec = PropertySpec(
        name=name,
        label=changes.get("label", current.label),
        type=changes.get("type", current.type),
        field_type=changes.get("field_type", current.field_type),
        group=changes.get("group", current.group),
        description=changes.get("description", current.description),
        options=tuple(changes.get("options", current.options)),
        unique=changes.get("unique", current.unique),
        read_only=changes.get("read_only", current.read_only),
        format=changes.get("format", current.format),
        display_order=changes.get("display_order", current.display_order),
    )
    check_property_spec(obj.name, spec, {g.name for g in obj.schema.groups})
    new_def = replace(
        current,
        type=spec.type,
        field_type=spec.field_type,
        options=spec.options,
        format=spec.format,
        unique=spec.unique,
    )
    retyped = (spec.type, spec.field_type, spec.format) != (
        current.type,
        current.field_type,
        current.format,
    )
    invalid: list[tuple[int, str]] = []
    if retyped or spec.options != current.options:
        for record_id, value in _stored_values(tx, obj, name):
            try:
                canonical = canonical_value(obj.name, new_def, value)
            except ValidationError:
                invalid.append((record_id, value))
                continue
            if retyped and canonical != value:
                invalid.append((record_id, value))
    if retyped and invalid:
        shown = ", ".join(f"record {rid}: {val!r}" for rid, val in invalid[:5])
        raise SchemaError(
            f"{obj.name}.{name}: {len(invalid)} stored value(s) do not fit type "
            f"{spec.type}/{spec.field_type}: {shown}; change or clear them first",
            invalid=len(invalid),
        )
    if spec.unique and not current.unique and _unique_count(obj) >= MAX_UNIQUE_PROPERTIES:
        raise SchemaError(f"{obj.name}: at most {MAX_UNIQUE_PROPERTIES} unique properties")
    # A new format (domain, email) changes the dedupe keys: claim them again.
    rekey = current.unique and spec.unique and spec.format != current.format
    if current.unique and (rekey or not spec.unique):
        tx.connection.execute(
            delete(t.unique_values).where(
                t.unique_values.c.object_type_id == obj.id,
                t.unique_values.c.property_name == name,
            )
        )
    if spec.unique and (rekey or not current.unique):
        _claim_unique_values(tx, obj, new_def)
    tx.connection.execute(
        update(t.properties)
        .where(t.properties.c.object_type_id == obj.id, t.properties.c.name == name)
        .values(
            label=spec.label,
            description=spec.description,
            group_name=spec.group,
            options=[asdict(o) for o in spec.options],
            type=spec.type,
            field_type=spec.field_type,
            format=spec.format,
            unique_value=spec.unique,
            read_only=spec.read_only,
            display_order=spec.display_order,
            updated_at=tx.now,
        )
    )
    tx.forget_objects()
    return PropertyUpdateReport(property=_reload(tx, obj.name, name), invalid_values=invalid)


def _claim_unique_values(tx: Tx, obj: LoadedObject, prop: PropertyDef) -> None:
    seen: dict[str, int] = {}
    with closing(_stored_values(tx, obj, prop.name)) as values:
        for record_id, value in values:
            key = unique_key(prop, value)
            if key in seen:
                raise SchemaError(
                    f"{obj.name}.{prop.name} cannot become unique: records {seen[key]} and "
                    f"{record_id} share {value!r}"
                )
            seen[key] = record_id
    if seen:
        tx.connection.execute(
            insert(t.unique_values),
            [
                {
                    "object_type_id": obj.id,
                    "property_name": prop.name,
                    "value_key": k,
                    "record_id": r,
                }
                for k, r in seen.items()
            ],
        )


def _reload(tx: Tx, object_name: str, name: str) -> PropertyDef:
    return tx.object(object_name).all_properties[name]


def archive_property(tx: Tx, object_name: str, name: str) -> None:
    obj = tx.object(object_name)
    prop = obj.property(name)
    if prop.builtin:
        raise SchemaError(f"{obj.name}.{name} is built in and cannot be archived")
    uses = [
        role
        for role, names in (
            ("primary display", (obj.schema.primary_display_property,)),
            ("required", obj.schema.required_properties),
        )
        if name in names
    ]
    if uses:
        raise SchemaError(
            f"{obj.name}.{name} is the object's {uses[0]} property; change that first"
        )
    _set_archived(tx, obj, name, True)
    if prop.unique:
        tx.connection.execute(
            delete(t.unique_values).where(
                t.unique_values.c.object_type_id == obj.id,
                t.unique_values.c.property_name == name,
            )
        )


def restore_property(tx: Tx, object_name: str, name: str) -> None:
    obj = tx.object(object_name)
    prop = obj.all_properties.get(name)
    if prop is None or not prop.archived:
        raise StoreError(f"{obj.name} has no archived property {name!r}")
    if prop.unique:
        _claim_unique_values(tx, obj, prop)
    _set_archived(tx, obj, name, False)


def _set_archived(tx: Tx, obj: LoadedObject, name: str, archived: bool) -> None:
    tx.connection.execute(
        update(t.properties)
        .where(t.properties.c.object_type_id == obj.id, t.properties.c.name == name)
        .values(archived=archived, updated_at=tx.now)
    )
    tx.forget_objects()
