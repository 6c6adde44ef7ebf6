"""``syncd records``: create, read, change, archive, restore, merge and page through records.

Writes carry ``ChangeSource(CRM_UI, "cli")`` into property history and the journal, so a
change made here reads as a person's edit, as it would in HubSpot.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from store import ChangeSource, FilterGroup, HistoryEntry, NotFoundError, Record, SourceType, Store
from syncd.cli._context import CLI_SOURCE, CliState, get_state
from syncd.cli._filters import FilterOpt, OrOpt, filter_groups
from syncd.cli._output import emit_json, info, print_table, warn
from syncd.cli._parse import parse_assignments, parse_names
from syncd.cli._shapes import history_json, record_json, source_text
from syncd.errors import UsageError

__all__ = ["BULK_BATCH", "BULK_SOURCE", "app", "can_prompt", "print_records"]

app = typer.Typer(
    help="Create, read, change, archive, restore and merge records.", no_args_is_help=True
)

ObjectArg = Annotated[
    str, typer.Argument(metavar="OBJECT", help="Object name, e.g. contacts.", show_default=False)
]
IdArg = Annotated[int, typer.Argument(metavar="ID", help="Record id.", show_default=False)]
# A bulk edit from the command line: HubSpot's BULK_EDIT, in batches of this many records.
BULK_SOURCE = ChangeSource(SourceType.BULK_EDIT, "cli")
BULK_BATCH = 500

SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="PROP=VALUE",
        help="A property value; repeat for more. PROP= clears the value.",
        show_default=False,
    ),
]


def print_record(record: Record, names: list[str] | None = None) -> None:
    shown = names if names is not None else sorted(record.properties)
    state = "  (archived)" if record.archived else ""
    print_table(
        ["property", "value"],
        ((name, record.properties.get(name)) for name in shown),
        title=f"{record.object} {record.id}{state}",
    )


def print_records(
    store: Store,
    object_name: str,
    records: list[Record],
    title: str,
    properties: list[str] | None = None,
) -> None:
    """A page of records with ``properties`` as columns, else the object's display ones."""
    if properties is None:
        schema = store.get_object(object_name, include_archived=True)
        properties = [
            *([schema.primary_display_property] if schema.primary_display_property else []),
            *schema.secondary_display_properties,
        ]
    columns = list(dict.fromkeys(c for c in properties if c != "hs_object_id"))
    print_table(
        ["id", *columns, "updated"],
        ((r.id, *(r.properties.get(c) for c in columns), r.updated_at) for r in records),
        title=title,
    )


def _print_history(entries: list[HistoryEntry]) -> None:
    print_table(
        ["time", "property", "value", "source"],
        (
            (e.timestamp, e.property, e.value, source_text(e.source_type, e.source_id))
            for e in entries
        ),
        title="history (newest first)",
    )


@app.command("create")
def create(ctx: typer.Context, object_name: ObjectArg, assignments: SetOpt = None) -> None:
    """Create a record; print its new id (or the record, with --json)."""
    values = parse_assignments(assignments)
    state = get_state(ctx)
    with state.open_store() as store:
        record = store.create_record(object_name, values, CLI_SOURCE)
    if state.json:
        emit_json(record_json(record))
    else:
        info(str(record.id))


@app.command("get")
def get(
    ctx: typer.Context,
    object_name: ObjectArg,
    record_id: IdArg,
    history: Annotated[
        bool, typer.Option("--history", help="Also show every past value and its source.")
    ] = False,
    properties: Annotated[
        str | None,
        typer.Option(
            "--properties", metavar="A,B", help="Only these properties.", show_default=False
        ),
    ] = None,
    archived: Annotated[
        bool, typer.Option("--archived", help="Also show the record if it is archived.")
    ] = False,
) -> None:
    """Show one record (a merged-away id shows the record it was merged into)."""
    names = parse_names(properties)
    state = get_state(ctx)
    with state.open_store() as store:
        record = _live_or_archived(store, object_name, record_id, archived=archived)
        for name in names or []:
            store.get_property(record.object, name)  # unknown names: refused, with a suggestion
        entries = store.property_history(record.object, record.id) if history else []
    if names is not None:
        entries = [e for e in entries if e.property in names]
    if record.id != record_id:
        warn(f"{record.object} {record_id} was merged into {record.id}; showing {record.id}")
    elif record.archived:
        warn(
            f"{record.object} {record.id} is archived; "
            f"`syncd records restore {record.object} {record.id}` brings it back"
        )
    if state.json:
        out = record_json(record, names)
        if history:
            out["history"] = [history_json(e) for e in entries]
        emit_json(out)
        return
    print_record(record, names)
    if history:
        _print_history(entries)


def _live_or_archived(store: Store, object_name: str, record_id: int, *, archived: bool) -> Record:
    """The live record, or with ``archived`` the archived one of that id: archiving is
    restorable, so a person must be able to see what an archived record holds. Without the
    flag, an archived record's refusal says how to see or restore it."""
    try:
        return store.get_record(object_name, record_id)
    except NotFoundError as exc:
        try:
            found = store.get_record(object_name, record_id, include_archived=True)
        except NotFoundError:
            raise exc from None
        if archived:
            return found
        raise NotFoundError(
            f"{exc.message}: it is archived; `syncd records get {found.object} {record_id} "
            f"--archived` shows it, `syncd records restore {found.object} {record_id}` "
            "brings it back",
            **exc.data,
        ) from None


@app.command("update")
def update(
    ctx: typer.Context,
    object_name: ObjectArg,
    record_id: Annotated[
        int | None,
        typer.Argument(metavar="[ID]", help="Record id; or --filter for many.", show_default=False),
    ] = None,
    assignments: SetOpt = None,
    filters: FilterOpt = None,
    any_of: OrOpt = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Change the records without asking first.")
    ] = False,
) -> None:
    """Change property values of a record, or of every record a --filter finds (PROP= clears)."""
    values = parse_assignments(assignments)
    if not values:
        raise typer.BadParameter("nothing to change; give --set PROP=VALUE", param_hint="'--set'")
    if (record_id is None) == (not filters):
        raise typer.BadParameter(
            "give a record ID, or --filter to change every record it finds (not both)",
            param_hint="'ID'",
        )
    state = get_state(ctx)
    if filters:
        _bulk_update(state, object_name, filter_groups(filters, any_of), values, yes)
        return
    assert record_id is not None
    with state.open_store() as store:
        record = store.update_record(object_name, record_id, values, CLI_SOURCE)
    if state.json:
        emit_json(record_json(record))
    else:
        print_record(record, list(values))


def can_prompt() -> bool:
    """Whether a person can answer a confirmation (stdin and stderr are terminals)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _bulk_update(
    state: CliState,
    object_name: str,
    groups: tuple[FilterGroup, ...],
    values: dict[str, str],
    yes: bool,
) -> None:
    """Preview the count, confirm (unless --yes), then change the records in batches."""
    with state.open_store() as store:
        name = store.get_object(object_name).name
        for prop in values:
            store.get_property(name, prop)  # unknown names: refused before anything is asked
        count = store.count_records(name, groups)
        if count == 0:
            if state.json:
                emit_json({"object": name, "matched": 0, "updated": 0, "unchanged": 0, "failed": 0})
            else:
                info(f"no {name} records match; nothing to change")
            return
        if not yes:
            if not can_prompt():
                raise UsageError(
                    f"{count} {name} records match; pass --yes to change them "
                    "(no terminal to ask for confirmation)"
                )
            changes = ", ".join(f"{k}={v!r}" for k, v in values.items())
            if not typer.confirm(
                f"Set {changes} on {count} {name} records?", default=False, err=True
            ):
                raise UsageError("not confirmed; nothing changed")
        report = store.bulk_update(name, groups, values, BULK_SOURCE, batch=BULK_BATCH)
    failures = [{"id": rid, "error": str(exc)} for rid, exc in report.failures]
    if state.json:
        emit_json(
            {
                "object": name,
                "matched": report.matched,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "failed": report.failed,
                "failures": failures,
            }
        )
    else:
        info(
            f"{name}: {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.failed} failed (of {report.matched} matching)"
        )
    if report.failed:
        shown = "; ".join(f"{f['id']}: {f['error']}" for f in failures)
        raise UsageError(f"{report.failed} {name} records not changed, e.g. {shown}")


@app.command("archive")
def archive(ctx: typer.Context, object_name: ObjectArg, record_id: IdArg) -> None:
    """Archive (soft-delete) a record; `records restore` brings it back."""
    state = get_state(ctx)
    with state.open_store() as store:
        name = store.get_object(object_name).name
        store.archive_records(name, [record_id], CLI_SOURCE)
    if state.json:
        emit_json({"object": name, "id": record_id, "archived": True})
    else:
        info(f"archived {name} {record_id} (undo: syncd records restore {name} {record_id})")


@app.command("restore")
def restore(ctx: typer.Context, object_name: ObjectArg, record_id: IdArg) -> None:
    """Bring an archived record back, with its associations."""
    state = get_state(ctx)
    with state.open_store() as store:
        record = store.restore_records(object_name, [record_id], CLI_SOURCE)[0]
    if state.json:
        emit_json(record_json(record))
    else:
        info(f"restored {record.object} {record.id}")


@app.command("merge")
def merge(
    ctx: typer.Context,
    object_name: ObjectArg,
    winner: Annotated[int, typer.Argument(metavar="WINNER", help="The record that stays.")],
    loser: Annotated[int, typer.Argument(metavar="LOSER", help="The record merged away.")],
) -> None:
    """Merge LOSER into WINNER: gaps filled from the loser, its associations moved, it archived."""
    state = get_state(ctx)
    with state.open_store() as store:
        record = store.merge_records(object_name, winner, loser, CLI_SOURCE)
    if state.json:
        emit_json(record_json(record))
        return
    info(f"merged {record.object} {loser} into {record.id}")
    print_record(record)


@app.command("list")
def list_(
    ctx: typer.Context,
    object_name: ObjectArg,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Page size.")] = 100,
    after: Annotated[int, typer.Option("--after", min=0, help="Start after this id.")] = 0,
    archived: Annotated[bool, typer.Option("--archived", help="Archived records instead.")] = False,
) -> None:
    """A page of records in id order; the next page starts --after the last id shown."""
    state = get_state(ctx)
    with state.open_store() as store:
        records = store.list_records(object_name, after=after, limit=limit, archived=archived)
        if not state.json:
            name = store.get_object(object_name, include_archived=True).name
            print_records(store, name, records, f"{name}{' (archived)' if archived else ''}")
    more = len(records) == limit
    if state.json:
        paging = {"next": {"after": records[-1].id}} if more else None
        emit_json({"results": [record_json(r) for r in records], "paging": paging})
    elif more:
        typer.echo(f"more: --after {records[-1].id}", err=True)
