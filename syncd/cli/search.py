"""``syncd records search``: HubSpot-style search, from ``--filter`` flags or filterGroups JSON.

``--filter "PROP OP VALUE"`` conditions all hold (one group), or with ``--or`` any one of
them; ``--filter-json FILE`` reads HubSpot's ``{"filterGroups": [...]}`` (its groups are
OR-ed with a group made of the ``--filter`` flags). Pages are keyset pages: pass the
printed cursor back as ``--after`` for the next one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from store import FilterGroup, parse_filter_groups
from syncd.cli._context import get_state
from syncd.cli._filters import FilterOpt, OrOpt, filter_groups, read_filter_json, sorts
from syncd.cli._output import emit_json, info
from syncd.cli._parse import parse_names
from syncd.cli._shapes import record_json
from syncd.cli.records import print_records

__all__ = ["search"]


def search(
    ctx: typer.Context,
    object_name: Annotated[
        str,
        typer.Argument(metavar="OBJECT", help="Object name, e.g. contacts.", show_default=False),
    ],
    filters: FilterOpt = None,
    any_of: OrOpt = False,
    filter_json: Annotated[
        Path | None,
        typer.Option(
            "--filter-json",
            metavar="FILE",
            help='HubSpot filterGroups JSON: {"filterGroups": [{"filters": [...]}]} (1 MB at most).',
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    sort: Annotated[
        list[str] | None,
        typer.Option(
            "--sort",
            metavar="PROP[:desc]",
            help="Sort by a property; repeat for ties.",
            show_default=False,
        ),
    ] = None,
    properties: Annotated[
        str | None,
        typer.Option(
            "--properties",
            metavar="a,b",
            help="Properties to show (default: all in --json, the display ones in the table).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="Records per page.")
    ] = 100,
    after: Annotated[
        str | None,
        typer.Option(
            "--after",
            metavar="CURSOR",
            help="Next page: the cursor printed by the last.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Search records: filters (all must hold, or --or: any), sorted, a page at a time."""
    state = get_state(ctx)
    groups: list[FilterGroup] = list(filter_groups(filters, any_of))
    if filter_json is not None:
        groups = [*parse_filter_groups(read_filter_json(filter_json)), *groups]
    order = sorts(sort)
    names = parse_names(properties)
    with state.open_store() as store:
        page = store.search_records(
            object_name, groups, order, properties=names, limit=limit, after=after
        )
        if state.json:
            body: dict[str, Any] = {
                "total": page.total,
                "results": [record_json(r, names) for r in page.records],
            }
            if page.next_after is not None:
                body["paging"] = {"next": {"after": page.next_after}}
            emit_json(body)
            return
        title = f"{object_name}: {page.total} found"
        print_records(store, object_name, page.records, title, names)
    if page.next_after is not None:
        info(f"next page: --after {page.next_after}")
