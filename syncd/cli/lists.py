"""``syncd lists``: static and dynamic lists of one object's records.

A MANUAL list is edited by hand (``lists add``/``remove`` by id, or ``add --filter``); a
``--snapshot`` list is seeded once from its filter and is static afterwards; a ``--dynamic``
list follows its filter as records change, and is brought up to date again when its members
are read (a relative date such as "created more than 30 days ago" moves with the clock).
Every membership change is kept with its time: ``lists history``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from store import DYNAMIC, MANUAL, SNAPSHOT, CrmList, MembershipEvent
from syncd.cli._context import get_state
from syncd.cli._filters import FilterOpt, OrOpt, filter_groups, read_filter_json
from syncd.cli._output import emit_json, info, print_table
from syncd.cli._shapes import record_json
from syncd.cli.records import print_records

__all__ = ["app", "list_json"]

app = typer.Typer(help="Static and dynamic lists of records.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="List name.", show_default=False)]
IdsArg = Annotated[
    list[int] | None, typer.Argument(metavar="ID...", help="Record ids.", show_default=False)
]


def list_json(crm_list: CrmList) -> dict[str, Any]:
    return {
        "id": crm_list.id,
        "name": crm_list.name,
        "object": crm_list.object,
        "processingType": crm_list.processing_type,
        "filterGroups": (
            list(crm_list.filter_groups) if crm_list.filter_groups is not None else None
        ),
        "size": crm_list.size,
        "createdAt": crm_list.created_at,
        "updatedAt": crm_list.updated_at,
    }


def _event_json(event: MembershipEvent) -> dict[str, Any]:
    return {"recordId": event.record_id, "change": event.change, "at": event.at}


@app.command("create")
def create(
    ctx: typer.Context,
    name: NameArg,
    object_name: Annotated[
        str,
        typer.Option("--object", metavar="OBJECT", help="Whose records.", show_default=False),
    ],
    dynamic: Annotated[bool, typer.Option("--dynamic", help="Follow the filter.")] = False,
    snapshot: Annotated[
        bool, typer.Option("--snapshot", help="Seed once from the filter, then static.")
    ] = False,
    filters: FilterOpt = None,
    any_of: OrOpt = False,
    filter_json: Annotated[
        Path | None,
        typer.Option(
            "--filter-json",
            metavar="FILE",
            exists=True,
            dir_okay=False,
            help="HubSpot filterGroups JSON instead of --filter.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a list: MANUAL (the default), --snapshot or --dynamic."""
    if dynamic and snapshot:
        raise typer.BadParameter(
            "choose --dynamic or --snapshot, not both", param_hint="'--dynamic'"
        )
    if filters and filter_json is not None:
        raise typer.BadParameter(
            "give --filter or --filter-json, not both", param_hint="'--filter-json'"
        )
    raw: object = (
        read_filter_json(filter_json) if filter_json is not None else filter_groups(filters, any_of)
    )
    kind = DYNAMIC if dynamic else SNAPSHOT if snapshot else MANUAL
    state = get_state(ctx)
    with state.open_store() as store:
        created = store.create_list(name, object_name, kind, raw or None)
    if state.json:
        emit_json(list_json(created))
    else:
        info(
            f"created {kind.lower()} list {created.name!r} of {created.object}: {created.size} members"
        )


@app.command("add")
def add(
    ctx: typer.Context,
    name: NameArg,
    ids: IdsArg = None,
    filters: FilterOpt = None,
    any_of: OrOpt = False,
) -> None:
    """Add records to a static list, by id or every record a --filter finds."""
    if bool(ids) == bool(filters):
        raise typer.BadParameter("give record ids or --filter (one of them)", param_hint="'ID...'")
    groups = filter_groups(filters, any_of)
    state = get_state(ctx)
    with state.open_store() as store:
        added = (
            store.add_matching_to_list(name, groups)
            if groups
            else store.add_to_list(name, ids or [])
        )
        size = store.get_list(name).size
    if state.json:
        emit_json({"list": name, "added": added, "size": size})
    else:
        info(f"added {added} to {name!r} ({size} members)")


@app.command("remove")
def remove(ctx: typer.Context, name: NameArg, ids: IdsArg = None) -> None:
    """Remove records from a static list by id."""
    if not ids:
        raise typer.BadParameter("give the record ids to remove", param_hint="'ID...'")
    state = get_state(ctx)
    with state.open_store() as store:
        removed = store.remove_from_list(name, ids)
        size = store.get_list(name).size
    if state.json:
        emit_json({"list": name, "removed": removed, "size": size})
    else:
        info(f"removed {removed} from {name!r} ({size} members)")


@app.command("members")
def members(
    ctx: typer.Context,
    name: NameArg,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Page size.")] = 100,
    after: Annotated[int, typer.Option("--after", min=0, help="Start after this id.")] = 0,
) -> None:
    """The list's live members in id order (a dynamic list is brought up to date first)."""
    state = get_state(ctx)
    with state.open_store() as store:
        page = store.list_members(name, limit=limit, after=after)
        crm_list = store.get_list(name)
        if not state.json:
            print_records(store, crm_list.object, page.records, f"list {crm_list.name}")
    if state.json:
        paging = {"next": {"after": page.next_after}} if page.next_after is not None else None
        emit_json({"results": [record_json(r) for r in page.records], "paging": paging})
    elif page.next_after is not None:
        typer.echo(f"more: --after {page.next_after}", err=True)


@app.command("delete")
def delete(ctx: typer.Context, name: NameArg) -> None:
    """Delete a list and its history (the records are not touched)."""
    state = get_state(ctx)
    with state.open_store() as store:
        store.delete_list(name)
    if state.json:
        emit_json({"name": name, "deleted": True})
    else:
        info(f"deleted list {name!r}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every list, with its kind and size."""
    state = get_state(ctx)
    with state.open_store() as store:
        found = store.list_lists()
    if state.json:
        emit_json([list_json(x) for x in found])
        return
    print_table(
        ["name", "object", "type", "size", "updated"],
        ((x.name, x.object, x.processing_type, x.size, x.updated_at) for x in found),
        title="lists",
    )


@app.command("history")
def history(
    ctx: typer.Context,
    name: NameArg,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 1000,
) -> None:
    """Membership changes of a list, newest first, with their time."""
    state = get_state(ctx)
    with state.open_store() as store:
        events = store.list_history(name, limit=limit)
    if state.json:
        emit_json([_event_json(e) for e in events])
        return
    print_table(
        ["time", "record", "change"],
        ((e.at, e.record_id, e.change) for e in events),
        title=f"list {name} history (newest first)",
    )
