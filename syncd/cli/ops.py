"""What an operator opens when a change "did not arrive": the sync log, parked errors, traces.

``syncd logs`` reads the sync log (newest last, ``--follow`` tails it); ``syncd errors``
groups the records a sync gave up on by cause, and ``errors retry`` makes them due again;
``syncd trace`` tells one record's story: every value it took, who wrote it, and what each
sync did with it, in time order.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from store import SyncLogEntry
from syncd.changes import changes_text
from syncd.cli._context import DEFAULT_CONFIG, CliState, get_state
from syncd.cli._output import emit_json, info, print_table, shorten
from syncd.cli.sync import _config, configured_sync
from syncd.errors import UsageError
from syncd.parked import parked_groups
from syncd.trace import trace_events

__all__ = ["errors_app", "logs", "trace"]

_FOLLOW_EVERY = 1.0


def _since(text: str | None) -> datetime | None:
    """``--since``: an ISO time, or a span back from now (``15m``, ``2h``, ``1d``)."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {text!r}: give an ISO time or a span such as 15m, 2h, 1d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _log_row(e: SyncLogEntry) -> tuple[object, ...]:
    return (
        e.id,
        e.at,
        e.sync,
        e.run_id or "-",
        e.direction.value,
        e.action.value,
        e.crm_id or "-",
        e.external_id or "-",
        shorten(changes_text(e.changes) or (e.message or ""), 70),
    )


_LOG_COLUMNS = ["id", "time", "sync", "run", "direction", "action", "crm id", "external id", "what"]


def _log_json(e: SyncLogEntry) -> dict[str, Any]:
    data = asdict(e)
    data["direction"], data["action"] = e.direction.value, e.action.value
    return data


def logs(
    ctx: typer.Context,
    sync: Annotated[str | None, typer.Option("--sync", help="Only this sync.")] = None,
    record: Annotated[int | None, typer.Option("--record", help="Only this CRM record id.")] = None,
    external_id: Annotated[str | None, typer.Option("--external-id")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="created, updated, conflict, error, ...")
    ] = None,
    level: Annotated[str | None, typer.Option("--level", help="info, warning or error.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time or 15m, 2h, 1d.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new rows.")] = False,
) -> None:
    """The sync log, newest last."""
    state = get_state(ctx)
    filters: dict[str, Any] = {
        "sync": sync,
        "crm_id": record,
        "external_id": external_id,
        "action": action,
        "level": level,
        "since": _since(since),
    }
    with state.open_store() as store:
        entries = store.sync_log(**filters, limit=limit, newest=True)
        _print_logs(entries, as_json=state.json, title="sync log")
        last = entries[-1].id if entries else _last_id(store)
        while follow:
            time.sleep(_FOLLOW_EVERY)
            fresh = store.sync_log(**filters, after_id=last, limit=1000)
            if fresh:
                _print_logs(fresh, as_json=state.json, title=None)
                last = fresh[-1].id


def _last_id(store: Any) -> int:
    newest = store.sync_log(limit=1, newest=True)
    return int(newest[-1].id) if newest else 0


def _print_logs(entries: list[SyncLogEntry], *, as_json: bool, title: str | None) -> None:
    if as_json:
        emit_json([_log_json(e) for e in entries])
        return
    print_table(_LOG_COLUMNS, (_log_row(e) for e in entries), title=title)


def _check_sync_named(state: CliState, store: Any, sync: str | None) -> None:
    """Refuse a ``--sync`` nobody configured: "0 parked" for a typo reads as "all is well".

    With a config file the name must be one of its syncs; without one (``--db`` alone) the
    store must have seen the sync run."""
    if sync is None:
        return
    if (state.config or DEFAULT_CONFIG).is_file():
        configured_sync(_config(state, secrets_needed=False), sync)
    elif not store.list_sync_runs(sync, limit=1):
        raise UsageError(f"no sync named {sync!r} has run against this store")


errors_app = typer.Typer(
    help="Records a sync gave up writing, grouped by cause; `retry` tries them again.",
    invoke_without_command=True,
)


@errors_app.callback()
def errors(
    ctx: typer.Context,
    sync: Annotated[str | None, typer.Option("--sync", help="Only this sync.")] = None,
) -> None:
    """Parked failures grouped by cause (ids, e-mails and numbers taken out of the message),
    with a count, an example record and its message each."""
    if ctx.invoked_subcommand is not None:
        return
    state = get_state(ctx)
    with state.open_store() as store:
        _check_sync_named(state, store, sync)
        ordered = parked_groups(store, sync)
    if state.json:
        emit_json(
            [
                {
                    "sync": group.sync,
                    "direction": group.direction,
                    "cause": group.cause,
                    "count": group.count,
                    "example": group.example.label,
                    "example_message": group.example.message,
                }
                for group in ordered
            ]
        )
        return
    if not ordered:
        info("no parked errors")
        return
    print_table(
        ["sync", "direction", "count", "example", "cause"],
        ((g.sync, g.direction, g.count, g.example.label, shorten(g.cause, 90)) for g in ordered),
        title="parked errors",
    )
    for g in ordered:
        if g.example.message != g.cause:
            info(
                f"{g.sync} {g.direction}, e.g. {g.example.label}: {shorten(g.example.message, 160)}"
            )


@errors_app.command("retry")
def errors_retry(
    ctx: typer.Context,
    sync: Annotated[str | None, typer.Option("--sync", help="Only this sync.")] = None,
    crm_id: Annotated[int | None, typer.Option("--id", help="Only this CRM record.")] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="Only this external record.")
    ] = None,
) -> None:
    """Make parked records due again; the next pass of their sync tries them."""
    if crm_id is not None and external_id is not None:
        raise UsageError("give --id or --external-id, not both")
    state = get_state(ctx)
    with state.open_store() as store:
        _check_sync_named(state, store, sync)
        count = store.retry_parked(sync, crm_id=crm_id, external_id=external_id)
    if state.json:
        emit_json({"retried": count})
    else:
        info(f"{count} parked record{'s' if count != 1 else ''} due again")


def trace(
    ctx: typer.Context,
    object_name: Annotated[str, typer.Argument(metavar="OBJECT")],
    record_id: Annotated[int, typer.Argument(metavar="ID")],
    prop: Annotated[str | None, typer.Option("--property", help="Only this property.")] = None,
) -> None:
    """Why a record looks the way it does: values, writers, sync actions and conflicts."""
    state = get_state(ctx)
    with state.open_store() as store:
        events = trace_events(store, object_name, record_id, prop)
    if state.json:
        emit_json([e.as_dict() for e in events])
        return
    print_table(
        ["time", "event", "by", "run", "detail"],
        ((e.at, e.event, e.by, e.run, shorten(e.detail, 100)) for e in events),
        title=f"{object_name} {record_id}" + (f" · {prop}" if prop else ""),
    )
