"""What an operator opens when a change "did not arrive": the sync log, parked errors, traces.

``syncd logs`` reads the sync log (newest last, ``--follow`` tails it); ``syncd errors``
groups the records a sync gave up on by cause, and ``errors retry`` makes them due again;
``syncd trace`` tells one record's story: every value it took, who wrote it, and what each
sync did with it, in time order.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from store import SyncLogEntry
from syncd.causes import cause_of
from syncd.cli._context import get_state
from syncd.cli._output import emit_json, info, print_table, shorten
from syncd.cli.sync import changes_text
from syncd.errors import UsageError

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
        parked = store.outbox(sync, parked=True)
        refused = [e for e in store.inbound_errors(sync) if not e.retry_requested]
    # By cause, not by message: messages name their record (an id, an e-mail), which made
    # one group per record; one real message per group stays as the example.
    groups: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for entry in parked:
        message = entry.last_error or "(no message)"
        groups[(entry.sync, "outbound", cause_of(message))].append((f"crm {entry.crm_id}", message))
    for failure in refused:
        groups[(failure.sync, "inbound", cause_of(failure.error))].append(
            (f"external {failure.external_id}", failure.error)
        )
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    if state.json:
        emit_json(
            [
                {
                    "sync": key[0],
                    "direction": key[1],
                    "cause": key[2],
                    "count": len(found),
                    "example": found[0][0],
                    "example_message": found[0][1],
                }
                for key, found in ordered
            ]
        )
        return
    if not ordered:
        info("no parked errors")
        return
    print_table(
        ["sync", "direction", "count", "example", "cause"],
        ((key[0], key[1], len(found), found[0][0], shorten(key[2], 90)) for key, found in ordered),
        title="parked errors",
    )
    for key, found in ordered:
        if found[0][1] != key[2]:
            info(f"{key[0]} {key[1]}, e.g. {found[0][0]}: {shorten(found[0][1], 160)}")


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
        store.get_record(object_name, record_id, include_archived=True)  # NotFound names it
        history = store.property_history(object_name, record_id, prop)
        log = store.sync_log(
            crm_object=store.get_object(object_name).name, crm_id=record_id, limit=10_000
        )
        conflicts = [
            c
            for c in store.list_conflicts(limit=10_000)
            if c.crm_id == record_id and (prop is None or c.field == prop)
        ]
    events: list[tuple[datetime, str, str, str, str]] = []
    for h in history:
        source = h.source_type.value + (f" {h.source_id}" if h.source_id else "")
        events.append((h.timestamp, "value", source, "-", f"{h.property} = {h.value!r}"))
    for e in log:
        if prop is not None and e.changes and prop not in changes_text(e.changes):
            continue
        what = changes_text(e.changes) or (e.message or "")
        events.append(
            (
                e.at,
                f"{e.direction.value} {e.action.value}",
                e.sync,
                str(e.run_id or "-"),
                f"external {e.external_id or '-'}: {what}",
            )
        )
    for c in conflicts:
        # A held conflict has no winner, also once an operator resolved it (said below).
        held = c.open or c.winner is None
        state_text = "held for an operator" if held else f"{c.winner} won ({c.rule})"
        events.append(
            (
                c.created_at,
                "conflict",
                c.sync,
                str(c.run_id or "-"),
                f"{c.field}: crm {c.crm_value!r} vs external {c.external_value!r}, base"
                f" {c.base!r}: {state_text}"
                + (f"; resolved {c.resolution}" if c.resolved_at else ""),
            )
        )
    for c in conflicts:
        if c.resolved_at is not None:
            # An operator's decision (`syncd conflicts resolve`): they are its writer.
            events.append(
                (
                    c.resolved_at,
                    "conflict resolved",
                    "operator (CLI)",
                    "-",
                    f"{c.field} = {c.resolved_value!r} ({c.resolution})",
                )
            )
    events.sort(key=lambda e: e[0])
    if state.json:
        emit_json(
            [{"at": e[0], "event": e[1], "by": e[2], "run": e[3], "detail": e[4]} for e in events]
        )
        return
    print_table(
        ["time", "event", "by", "run", "detail"],
        ((e[0], e[1], e[2], e[3], shorten(e[4], 100)) for e in events),
        title=f"{object_name} {record_id}" + (f" · {prop}" if prop else ""),
    )
