"""``syncd properties``: property definitions of one object, and their CSV export.

An option removed from an enumeration does not touch stored values: they stay, and this
command names each record whose value no longer matches (HubSpot leaves them too, so an
admin has to know).
"""

from __future__ import annotations

import csv
import sys
from dataclasses import replace
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from store import OptionSpec, PropertyDef, PropertySpec
from syncd.cli._context import get_state
from syncd.cli._output import emit_json, info, print_table, warn
from syncd.cli._parse import parse_options, title_label
from syncd.cli._shapes import property_json
from syncd.errors import UsageError

__all__ = ["EXPORT_COLUMNS", "app"]

app = typer.Typer(
    help="Property definitions: list, show, create, update, archive, export.", no_args_is_help=True
)

ObjectArg = Annotated[str, typer.Argument(metavar="OBJECT", help="Object name, e.g. contacts.")]
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Property name, e.g. email.")]
OptionOpt = Annotated[
    list[str] | None,
    typer.Option("--option", metavar="VALUE=LABEL", help="An enumeration option; repeat for more."),
]
EXPORT_COLUMNS = (
    "name", "label", "type", "fieldType", "groupName", "description",
    "options", "unique", "readOnly", "builtin",
)  # fmt: skip
_SHOWN_INVALID = 20


def _flags(prop: PropertyDef) -> str:
    names = [("unique", prop.unique), ("read-only", prop.read_only), ("built-in", prop.builtin)]
    return ", ".join([n for n, on in names if on] + (["archived"] if prop.archived else []))


def _print_definition(prop: PropertyDef) -> None:
    print_table(
        ["field", "value"],
        [
            ("name", prop.name),
            ("label", prop.label),
            ("type", prop.type),
            ("fieldType", prop.field_type),
            ("groupName", prop.group),
            ("description", prop.description),
            ("flags", _flags(prop)),
        ],
        title=f"{prop.object}.{prop.name}",
    )
    if prop.options:
        print_table(
            ["value", "label", "order", "hidden"],
            ((o.value, o.label, o.display_order, o.hidden) for o in prop.options),
            title="options",
        )


@app.command("list")
def list_(
    ctx: typer.Context,
    object_name: ObjectArg,
    archived: Annotated[
        bool, typer.Option("--archived", help="Archived properties instead.")
    ] = False,
) -> None:
    """The object's properties (its live ones, or with --archived the archived ones)."""
    state = get_state(ctx)
    with state.open_store() as store:
        props = [
            p
            for p in store.list_properties(object_name, include_archived=archived)
            if p.archived == archived
        ]
    if state.json:
        emit_json([property_json(p) for p in props])
        return
    print_table(
        ["name", "label", "type", "fieldType", "group", "flags"],
        ((p.name, p.label, p.type, p.field_type, p.group, _flags(p)) for p in props),
        title=f"{object_name} properties{' (archived)' if archived else ''}",
    )


@app.command("show")
def show(ctx: typer.Context, object_name: ObjectArg, name: NameArg) -> None:
    """One property definition with its options."""
    state = get_state(ctx)
    with state.open_store() as store:
        prop = store.get_property(object_name, name)
    if state.json:
        emit_json(property_json(prop))
    else:
        _print_definition(prop)


@app.command("create")
def create(
    ctx: typer.Context,
    object_name: ObjectArg,
    name: Annotated[str, typer.Option("--name", help="Internal name: a-z, 0-9, _.")],
    type_: Annotated[
        str, typer.Option("--type", help="string, number, date, datetime, enumeration or bool.")
    ],
    field_type: Annotated[
        str, typer.Option("--field-type", help="text, textarea, select, radio, checkbox, ...")
    ],
    label: Annotated[
        str | None, typer.Option("--label", help="Defaults to the name, title-cased.")
    ] = None,
    group: Annotated[str | None, typer.Option("--group", help="Property group name.")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    options: OptionOpt = None,
    unique: Annotated[
        bool, typer.Option("--unique", help="No two records may share a value.")
    ] = False,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Only the store may write it.")
    ] = False,
) -> None:
    """Define a new property on an object."""
    spec = PropertySpec(
        name=name,
        label=label or title_label(name),
        type=type_,
        field_type=field_type,
        group=group,
        description=description,
        options=tuple(parse_options(options)),
        unique=unique,
        read_only=read_only,
    )
    state = get_state(ctx)
    with state.open_store() as store:
        prop = store.create_property(object_name, spec)
    if state.json:
        emit_json(property_json(prop))
    else:
        info(f"created property {prop.object}.{prop.name} ({prop.type}/{prop.field_type})")


def _new_options(
    current: tuple[OptionSpec, ...],
    replacing: list[OptionSpec] | None,
    adding: list[OptionSpec],
    hiding: list[str],
    where: str,
) -> list[OptionSpec]:
    options = list(current) if replacing is None else replacing
    start = len(options)
    options += [replace(o, display_order=start + i) for i, o in enumerate(adding)]
    values = {o.value for o in options}
    for value in hiding:
        if value not in values:
            raise UsageError(
                f"{where} has no option {value!r} to hide; options: "
                f"{', '.join(sorted(values)) or '(none)'}"
            )
    return [replace(o, hidden=True) if o.value in hiding else o for o in options]


@app.command("update")
def update(
    ctx: typer.Context,
    object_name: ObjectArg,
    name: NameArg,
    label: Annotated[str | None, typer.Option("--label")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    group: Annotated[str | None, typer.Option("--group")] = None,
    options: Annotated[
        list[str] | None,
        typer.Option("--option", metavar="VALUE=LABEL", help="Replace all options with these."),
    ] = None,
    add_options: Annotated[
        list[str] | None,
        typer.Option("--add-option", metavar="VALUE=LABEL", help="Add an option."),
    ] = None,
    hide_options: Annotated[
        list[str] | None,
        typer.Option("--hide-option", metavar="VALUE", help="Hide an option from pickers."),
    ] = None,
    type_: Annotated[str | None, typer.Option("--type")] = None,
    field_type: Annotated[str | None, typer.Option("--field-type")] = None,
    restore: Annotated[bool, typer.Option("--restore", help="Un-archive the property.")] = False,
) -> None:
    """Change a property definition; stored values an option change orphans are reported."""
    replacing = parse_options(options) if options else None
    adding = parse_options(add_options, "--add-option")
    hiding = list(dict.fromkeys(hide_options or []))
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("label", label),
            ("description", description),
            ("group", group),
            ("type", type_),
            ("field_type", field_type),
        )
        if value is not None
    }
    touches_options = replacing is not None or bool(adding) or bool(hiding)
    if not changes and not touches_options and not restore:
        raise typer.BadParameter("nothing to change; see `syncd properties update --help`")
    state = get_state(ctx)
    with state.open_store() as store:
        prop = store.restore_property(object_name, name) if restore else None
        if touches_options:
            current = prop or store.get_property(object_name, name)
            where = f"{current.object}.{current.name}"
            changes["options"] = _new_options(current.options, replacing, adding, hiding, where)
        invalid: list[tuple[int, str]] = []
        if changes:
            report = store.update_property(object_name, name, changes)
            prop, invalid = report.property, report.invalid_values
    assert prop is not None
    if invalid:
        shown = ", ".join(f"record {rid}: {value!r}" for rid, value in invalid[:_SHOWN_INVALID])
        more = (
            f", ... ({len(invalid) - _SHOWN_INVALID} more)" if len(invalid) > _SHOWN_INVALID else ""
        )
        warn(
            f"{prop.object}.{prop.name}: {len(invalid)} stored value(s) no longer match an "
            f"option: {shown}{more}"
        )
    if state.json:
        out = property_json(prop)
        out["invalidValues"] = [{"recordId": rid, "value": value} for rid, value in invalid]
        emit_json(out)
    else:
        info(f"updated property {prop.object}.{prop.name}{' (restored)' if restore else ''}")


@app.command("archive")
def archive(ctx: typer.Context, object_name: ObjectArg, name: NameArg) -> None:
    """Archive a custom property (built-in ones cannot be)."""
    state = get_state(ctx)
    with state.open_store() as store:
        store.archive_property(object_name, name)
        canonical = store.get_object(object_name).name
    if state.json:
        emit_json({"object": canonical, "name": name, "archived": True})
    else:
        info(
            f"archived property {canonical}.{name} "
            f"(undo: syncd properties update {canonical} {name} --restore)"
        )


def _export_row(prop: PropertyDef) -> dict[str, str]:
    return {
        "name": prop.name,
        "label": prop.label or title_label(prop.name),
        "type": prop.type,
        "fieldType": prop.field_type,
        "groupName": prop.group or "",
        "description": prop.description,
        "options": ";".join(f"{o.value}={o.label}" for o in prop.options),
        "unique": str(prop.unique).lower(),
        "readOnly": str(prop.read_only).lower(),
        "builtin": str(prop.builtin).lower(),
    }


def _write_csv(handle: IO[str], props: list[PropertyDef]) -> None:
    writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(_export_row(p) for p in props)


@app.command("export")
def export(
    ctx: typer.Context,
    object_name: ObjectArg,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", dir_okay=False, help="CSV file to write; - for stdout."),
    ] = Path("-"),
) -> None:
    """Write the object's property definitions as CSV (options as value=label;...)."""
    state = get_state(ctx)
    with state.open_store() as store:
        props = store.list_properties(object_name)
    if str(output) == "-":
        _write_csv(sys.stdout, props)
        return
    try:
        with output.open("w", newline="", encoding="utf-8") as handle:
            _write_csv(handle, props)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    info(f"wrote {len(props)} property definition(s) of {object_name} to {output}")
