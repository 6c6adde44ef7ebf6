"""``syncd views``: saved views, a named filter, sort and columns for one object's records.

The filter is stored in HubSpot's ``filterGroups`` JSON and checked against the object when
the view is saved, so a view naming an unknown property is refused then, not when it runs.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from store import SavedView
from syncd.cli._context import get_state
from syncd.cli._filters import FilterOpt, OrOpt, filter_groups, sorts
from syncd.cli._output import emit_json, info, print_table
from syncd.cli._parse import parse_names
from syncd.cli._shapes import record_json

__all__ = ["app", "view_json"]

app = typer.Typer(help="Saved views: a named filter, sort and columns.", no_args_is_help=True)

ObjectArg = Annotated[
    str, typer.Argument(metavar="OBJECT", help="Object name, e.g. contacts.", show_default=False)
]
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="View name.", show_default=False)]


def view_json(view: SavedView) -> dict[str, Any]:
    return {
        "object": view.object,
        "name": view.name,
        "filterGroups": list(view.filter_groups),
        "sorts": list(view.sorts),
        "columns": list(view.columns),
        "createdAt": view.created_at,
        "updatedAt": view.updated_at,
    }


def _filter_text(view: SavedView) -> str:
    groups = [
        " AND ".join(
            " ".join(
                str(x)
                for x in (
                    f["propertyName"],
                    f["operator"],
                    *(f.get("values") or [f.get("value")] if "value" in f or "values" in f else []),
                    *([f["highValue"]] if "highValue" in f else []),
                )
            )
            for f in g["filters"]
        )
        for g in view.filter_groups
    ]
    return " OR ".join(f"({g})" if len(groups) > 1 else g for g in groups) or "(all records)"


def _sort_text(view: SavedView) -> str:
    return ", ".join(
        s["propertyName"] + (":desc" if s["direction"] == "DESCENDING" else "") for s in view.sorts
    )


@app.command("create")
def create(
    ctx: typer.Context,
    object_name: ObjectArg,
    name: NameArg,
    filters: FilterOpt = None,
    any_of: OrOpt = False,
    sort: Annotated[
        list[str] | None,
        typer.Option(
            "--sort", metavar="PROP[:desc]", help="Sort order; repeat for ties.", show_default=False
        ),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option("--columns", metavar="A,B", help="Properties shown.", show_default=False),
    ] = None,
) -> None:
    """Save a view of OBJECT's records."""
    groups = filter_groups(filters, any_of)
    order = sorts(sort)
    shown = parse_names(columns, "--columns") or []
    state = get_state(ctx)
    with state.open_store() as store:
        view = store.create_view(object_name, name, groups, order, shown)
    if state.json:
        emit_json(view_json(view))
    else:
        info(f"saved view {view.name!r} of {view.object}")


@app.command("list")
def list_(
    ctx: typer.Context,
    object_name: Annotated[
        str | None, typer.Argument(metavar="[OBJECT]", help="Only this object's views.")
    ] = None,
) -> None:
    """Saved views, of every object or of one."""
    state = get_state(ctx)
    with state.open_store() as store:
        views = store.list_views(object_name)
    if state.json:
        emit_json([view_json(v) for v in views])
        return
    print_table(
        ["object", "name", "filter", "sort", "columns"],
        ((v.object, v.name, _filter_text(v), _sort_text(v), ",".join(v.columns)) for v in views),
        title="views",
    )


@app.command("show")
def show(ctx: typer.Context, object_name: ObjectArg, name: NameArg) -> None:
    """One saved view: its filter, sort and columns."""
    state = get_state(ctx)
    with state.open_store() as store:
        view = store.get_view(object_name, name)
    if state.json:
        emit_json(view_json(view))
        return
    print_table(
        ["field", "value"],
        [
            ("filter", _filter_text(view)),
            ("sort", _sort_text(view)),
            ("columns", ",".join(view.columns)),
            ("created", view.created_at),
        ],
        title=f"{view.object} view {view.name}",
    )


@app.command("run")
def run(
    ctx: typer.Context,
    object_name: ObjectArg,
    name: NameArg,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Page size.")] = 100,
    after: Annotated[
        str | None,
        typer.Option("--after", metavar="CURSOR", help="The cursor a previous page gave."),
    ] = None,
) -> None:
    """Run a saved view: the records it finds, with its columns."""
    state = get_state(ctx)
    with state.open_store() as store:
        view = store.get_view(object_name, name)
        page = store.run_view(object_name, name, limit=limit, after=after)
    columns = list(view.columns) or None
    if state.json:
        paging = {"next": {"after": page.next_after}} if page.next_after is not None else None
        emit_json(
            {
                "total": page.total,
                "results": [record_json(r, columns) for r in page.records],
                "paging": paging,
            }
        )
        return
    shown = columns or sorted({k for r in page.records for k in r.properties})
    print_table(
        ["id", *shown],
        ((r.id, *(r.properties.get(c) for c in shown)) for r in page.records),
        title=f"{view.object} view {view.name}: {page.total} records",
    )
    if page.next_after is not None:
        typer.echo(f"more: --after {page.next_after}", err=True)


@app.command("delete")
def delete(ctx: typer.Context, object_name: ObjectArg, name: NameArg) -> None:
    """Delete a saved view (the records are not touched)."""
    state = get_state(ctx)
    with state.open_store() as store:
        store.delete_view(object_name, name)
    if state.json:
        emit_json({"object": object_name, "name": name, "deleted": True})
    else:
        info(f"deleted view {name!r} of {object_name}")
