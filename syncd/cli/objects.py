"""``syncd objects``: standard and custom object schemas; custom ones from YAML files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from store import ObjectSchema
from syncd.cli._context import get_state
from syncd.cli._output import emit_json, info, print_table
from syncd.cli._schema import load_object_changes, load_object_spec
from syncd.cli._shapes import object_json

__all__ = ["app"]

app = typer.Typer(
    help="Object schemas: list, show, and create/update/archive custom objects.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Object name, e.g. contacts.")]
FileOpt = Annotated[
    Path,
    typer.Option("--file", "-f", exists=True, dir_okay=False, help="YAML file (at most 1 MB)."),
]


def _kind(schema: ObjectSchema) -> str:
    return "activity" if schema.activity else "custom" if schema.custom else "standard"


def _print_schema(schema: ObjectSchema) -> None:
    print_table(
        ["field", "value"],
        [
            ("name", schema.name),
            ("objectTypeId", schema.type_id),
            ("labels", f"{schema.singular_label} / {schema.plural_label}"),
            ("kind", _kind(schema)),
            ("primaryDisplayProperty", schema.primary_display_property),
            ("requiredProperties", ", ".join(schema.required_properties)),
            ("searchableProperties", ", ".join(schema.searchable_properties)),
            ("secondaryDisplayProperties", ", ".join(schema.secondary_display_properties)),
            ("description", schema.description),
            ("archived", schema.archived),
        ],
        title=schema.name,
    )
    print_table(
        ["property", "label", "type", "fieldType", "group"],
        ((p.name, p.label, p.type, p.field_type, p.group) for p in schema.properties.values()),
        title="properties",
    )


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every live object: standard, activity and custom."""
    state = get_state(ctx)
    with state.open_store() as store:
        schemas = store.list_objects()
    if state.json:
        emit_json([object_json(s) for s in schemas])
        return
    print_table(
        ["name", "type id", "singular", "plural", "kind", "properties"],
        (
            (s.name, s.type_id, s.singular_label, s.plural_label, _kind(s), len(s.properties))
            for s in schemas
        ),
        title="objects",
    )


@app.command("show")
def show(ctx: typer.Context, name: NameArg) -> None:
    """One object's schema and properties."""
    state = get_state(ctx)
    with state.open_store() as store:
        schema = store.get_object(name)
    if state.json:
        emit_json(object_json(schema, with_properties=True))
    else:
        _print_schema(schema)


@app.command("create")
def create(ctx: typer.Context, file: FileOpt) -> None:
    """Create a custom object from a schema file (HubSpot's schema body, in YAML)."""
    spec = load_object_spec(file)
    state = get_state(ctx)
    with state.open_store() as store:
        schema = store.create_object(spec)
    if state.json:
        emit_json(object_json(schema, with_properties=True))
    else:
        info(
            f"created object {schema.name} ({schema.type_id}) with {len(schema.properties)} properties"
        )


@app.command("update")
def update(ctx: typer.Context, name: NameArg, file: FileOpt) -> None:
    """Change a custom object's labels, display and required properties, associations."""
    changes = load_object_changes(file)
    state = get_state(ctx)
    with state.open_store() as store:
        schema = store.update_object(name, changes)
    if state.json:
        emit_json(object_json(schema))
    else:
        info(f"updated object {schema.name}: {', '.join(sorted(changes))}")


@app.command("archive")
def archive(ctx: typer.Context, name: NameArg) -> None:
    """Archive a custom object that has no live records left."""
    state = get_state(ctx)
    with state.open_store() as store:
        canonical = store.get_object(name).name
        store.archive_object(canonical)
    if state.json:
        emit_json({"name": canonical, "archived": True})
    else:
        info(f"archived object {canonical}")
