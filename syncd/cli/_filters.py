"""The filter mini-language shared by ``views``, ``lists`` and bulk ``records update``.

``--filter "PROP OP VALUE"`` may be repeated: the filters must all hold, or, with ``--or``,
any one of them. A filter that cannot be read is a usage error (exit 2) before the store is
opened; one that names an unknown property is refused by the store (exit 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from store import Filter, FilterGroup, SearchError, Sort, parse_filter_expression, parse_sort
from syncd.errors import UsageError

__all__ = ["FilterOpt", "OrOpt", "filter_groups", "read_filter_json", "sorts"]

FilterOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        "-f",
        metavar="'PROP OP VALUE'",
        help="A condition, e.g. 'lifecyclestage EQ lead'; repeat for more (all must hold).",
        show_default=False,
    ),
]
OrOpt = Annotated[
    bool, typer.Option("--or", help="Any one of the --filter conditions, instead of all.")
]


def filter_groups(items: list[str] | None, any_of: bool = False) -> tuple[FilterGroup, ...]:
    """``--filter`` items as filter groups: one group of all, or (``--or``) one group each."""
    parsed: list[Filter] = []
    for item in items or []:
        try:
            parsed.append(parse_filter_expression(item))
        except SearchError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--filter'") from None
    if not parsed:
        if any_of:
            raise typer.BadParameter("--or needs --filter conditions", param_hint="'--or'")
        return ()
    if any_of:
        return tuple(FilterGroup((f,)) for f in parsed)
    return (FilterGroup(tuple(parsed)),)


def sorts(items: list[str] | None) -> tuple[Sort, ...]:
    out: list[Sort] = []
    for item in items or []:
        try:
            out.append(parse_sort(item))
        except SearchError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--sort'") from None
    return tuple(out)


MAX_FILTER_JSON = 1_000_000  # bytes; filters are small


def read_filter_json(path: Path) -> object:
    """HubSpot ``filterGroups`` JSON from a file; too big, unreadable or broken is refused naming file and position."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILTER_JSON + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILTER_JSON:
        raise UsageError(f"{path}: larger than {MAX_FILTER_JSON} bytes; filters are small")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: broken JSON: {exc.msg}") from None
    except RecursionError:
        raise UsageError(f"{path}: JSON nested too deeply") from None
