"""``syncd activities`` and ``syncd timeline``: log calls, notes, emails, meetings and tasks on
records, link them to more records, and read a record's timeline newest first.

An activity type is named singular or plural (``note``/``notes``); an unknown one, a time
that is not ISO 8601 or an ``OBJECT:ID`` that is not one are usage errors (exit 2). A time
without a zone parses but the store refuses it (exit 1): the command was understood, the
value is ambiguous.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from store import ACTIVITY_TYPES, Association, TimelineEntry
from syncd.cli._context import CLI_SOURCE, get_state
from syncd.cli._output import emit_json, info, print_table
from syncd.cli._parse import parse_assignments
from syncd.cli._shapes import record_json

__all__ = ["activities_app", "timeline"]

activities_app = typer.Typer(
    help="Log calls, notes, emails, meetings and tasks on records.", no_args_is_help=True
)

_TYPE_NAMES = ", ".join(ACTIVITY_TYPES)
_SINGULAR = {f.object: name for name, f in ACTIVITY_TYPES.items()}
MAX_LIMIT = 1000


def parse_type(text: str, option: str = "--type") -> str:
    """``note``, ``Notes`` -> ``notes``; anything else is a usage error naming the valid ones."""
    key = text.strip().lower()
    if key in ACTIVITY_TYPES:
        return ACTIVITY_TYPES[key].object
    if key in _SINGULAR:
        return key
    raise typer.BadParameter(
        f"unknown activity type {text!r}; use one of {_TYPE_NAMES} (or their plurals)",
        param_hint=f"'{option}'",
    )


def parse_time(text: str | None, option: str) -> datetime | None:
    """ISO 8601 text -> datetime; a zone is checked by the store (naive is refused there)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"expected ISO 8601 with a zone such as 2024-05-01T09:30:00+02:00 or ...Z, got {text!r}",
            param_hint=f"'{option}'",
        ) from None


def parse_targets(items: list[str] | None, option: str = "--associate") -> list[tuple[str, int]]:
    """``["contacts:12", "deals:7"]`` -> ``[("contacts", 12), ("deals", 7)]``."""
    out: list[tuple[str, int]] = []
    for item in items or []:
        name, sep, raw_id = item.rpartition(":")
        name, raw_id = name.strip(), raw_id.strip()
        if not sep or not name or not raw_id.isascii() or not raw_id.isdigit():
            raise typer.BadParameter(
                f"expected OBJECT:ID such as contacts:12, got {item!r}", param_hint=f"'{option}'"
            )
        record_id = int(raw_id)
        if not 0 < record_id < 2**63:
            raise typer.BadParameter(f"record id out of range in {item!r}", param_hint=option)
        out.append((name, record_id))
    return out


def _also_on(found: list[Association], skip: tuple[str, int] | None = None) -> str:
    return ", ".join(f"{a.to_object}:{a.to_id}" for a in found if (a.to_object, a.to_id) != skip)


TypeOpt = Annotated[
    str,
    typer.Option("--type", "-t", metavar="TYPE", help=f"One of {_TYPE_NAMES}.", show_default=False),
]
AssociateOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--associate",
        "-a",
        metavar="OBJECT:ID",
        help="Also log it on this record; repeat for more.",
        show_default=False,
    ),
]


@activities_app.command("log")
def log(
    ctx: typer.Context,
    object_name: Annotated[str, typer.Argument(metavar="OBJECT", help="e.g. contacts.")],
    record_id: Annotated[int, typer.Argument(metavar="ID", help="Record id.")],
    type_: TypeOpt,
    body: Annotated[
        str | None, typer.Option("--body", "-b", help="The text.", show_default=False)
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject", "--title", help="Subject or title (not for notes).", show_default=False
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="TIME",
            help="When (a task: its due date), ISO 8601 with a zone; default now.",
            show_default=False,
        ),
    ] = None,
    associate: AssociateOpt = None,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            metavar="PROP=VALUE",
            help="Another property, e.g. hs_call_direction=OUTBOUND; repeat for more.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Log an activity on a record; print its id (or the activity, with --json)."""
    kind = parse_type(type_)
    when = parse_time(at, "--at")
    targets = parse_targets(associate)
    extra = parse_assignments(assignments)
    state = get_state(ctx)
    with state.open_store() as store:
        record = store.log_activity(
            kind,
            object_name,
            record_id,
            body=body,
            subject=subject,
            at=when,
            properties=extra,
            associate=targets,
            source=CLI_SOURCE,
        )
        found = store.list_associations(record.object, record.id)
    if state.json:
        out = record_json(record)
        out["associations"] = [{"object": a.to_object, "id": a.to_id} for a in found]
        emit_json(out)
        return
    info(f"logged {_SINGULAR[kind]} {record.id} on {_also_on(found)}")


@activities_app.command("associate")
def associate_(
    ctx: typer.Context,
    activity_type: Annotated[str, typer.Argument(metavar="ACTIVITY_TYPE", help=_TYPE_NAMES)],
    activity_id: Annotated[int, typer.Argument(metavar="ACTIVITY_ID")],
    targets: Annotated[
        list[str], typer.Argument(metavar="OBJECT:ID...", help="Records to log it on too.")
    ],
) -> None:
    """Log an existing activity on more records (all of them, or none if one is refused)."""
    kind = parse_type(activity_type, "ACTIVITY_TYPE")
    pairs = parse_targets(targets, "OBJECT:ID")
    state = get_state(ctx)
    with state.open_store() as store:
        found = store.associate_activity(kind, activity_id, pairs, CLI_SOURCE)
    if state.json:
        emit_json(
            {
                "object": kind,
                "id": activity_id,
                "associations": [{"object": a.to_object, "id": a.to_id} for a in found],
            }
        )
        return
    info(f"{_SINGULAR[kind]} {activity_id} is on {_also_on(found)}")


def _entry_json(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "type": _SINGULAR.get(entry.type, entry.type),
        "object": entry.type,
        "id": entry.id,
        "timestamp": entry.timestamp,
        "summary": entry.summary,
        "alsoOn": [{"object": o, "id": i} for o, i in entry.also_on],
    }


def timeline(
    ctx: typer.Context,
    object_name: Annotated[str, typer.Argument(metavar="OBJECT", help="e.g. contacts.")],
    record_id: Annotated[int, typer.Argument(metavar="ID", help="Record id.")],
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            "-t",
            metavar="TYPE",
            help=f"Only these types ({_TYPE_NAMES}); repeat or comma-separate.",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="TIME", help="At or after (ISO 8601 with a zone)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="TIME", help="At or before (ISO 8601 with a zone)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_LIMIT, help="Page size.")] = 100,
    after: Annotated[
        str | None,
        typer.Option("--after", metavar="CURSOR", help="Next page: the cursor printed last."),
    ] = None,
) -> None:
    """A record's activities, newest first (its own and those logged on it via others)."""
    kinds = (
        sorted({parse_type(x) for item in types for x in item.split(",") if x.strip()})
        if types
        else None
    )
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    state = get_state(ctx)
    with state.open_store() as store:
        page = store.timeline(
            object_name, record_id, types=kinds, since=start, until=end, limit=limit, after=after
        )
    if state.json:
        paging = {"next": {"after": page.next_after}} if page.next_after else None
        emit_json({"results": [_entry_json(e) for e in page.entries], "paging": paging})
        return
    print_table(
        ["time", "type", "id", "summary", "also on"],
        (
            (
                e.timestamp,
                _SINGULAR.get(e.type, e.type),
                e.id,
                e.summary,
                ", ".join(f"{o}:{i}" for o, i in e.also_on),
            )
            for e in page.entries
        ),
        title=f"timeline of {object_name} {record_id} (newest first)",
    )
    if page.next_after:
        typer.echo(f"more: --after {page.next_after}", err=True)
