"""``syncd status``: every configured sync's state, schedule, lag and backlog at a glance.

The syncs and their schedules come from the config (``--config`` or ./syncd.yaml), their
state from the store, read once for all of them; ``syncd status`` only reads, and exits 0
whatever the syncs' states are (a script judges ``state`` in ``--json``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.cli._context import get_state
from syncd.cli._output import emit_json, info, print_table, shorten
from syncd.cli.sync import _config, configured_sync

if TYPE_CHECKING:
    from syncd.status import DaemonStatus, SyncStatus

__all__ = ["status"]

_COLUMNS = [
    "sync",
    "state",
    "last run",
    "next run",
    "lag out",
    "seen in",
    "1h in/out",
    "24h in/out",
    "parked in/out",
    "conflicts",
    "inbox",
]


def _synced(counts: dict[str, int]) -> str:
    return f"{counts.get('inbound', 0)}/{counts.get('outbound', 0)}"


def _next(s: SyncStatus, now: datetime, daemon: DaemonStatus) -> str:
    from syncd.status import ago

    if s.state == "paused":
        return "paused"
    if s.next_run is None:
        return "manual"
    if not daemon.running:
        return "no daemon"  # nothing runs on schedule: "due now" would be a promise
    return "due now" if s.next_run <= now else ago(s.next_run, now)


def _row(s: SyncStatus, now: datetime, daemon: DaemonStatus) -> tuple[object, ...]:
    from syncd.status import ago

    last = "never"
    if s.last_run_started_at is not None:
        last = f"{s.last_run_status} {ago(s.last_run_finished_at or s.last_run_started_at, now)}"
    if s.state == "running" and s.running_since is not None:
        last = f"running {ago(s.running_since, now).removesuffix(' ago')}"
    return (
        s.name,
        s.state,
        last,
        _next(s, now, daemon),
        "n/a" if s.outbound_lag is None else s.outbound_lag,
        "n/a" if s.inbound_last_seen_text.startswith("n/a") else s.inbound_last_seen_text,
        _synced(s.synced_1h),
        _synced(s.synced_24h),
        f"{s.parked_inbound}/{s.parked_outbound}",
        s.open_conflicts,
        s.inbox_depth,
    )


def status(
    ctx: typer.Context,
    sync: Annotated[str | None, typer.Option("--sync", help="Only this sync.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout.")
    ] = False,
) -> None:
    """Each sync's state (idle, running, failing, paused), runs, lag and backlog."""
    # Imported here: schedules bring apscheduler and the config's models (see ``syncd.cli``).
    from syncd.status import build_status, daemon_status

    state = get_state(ctx)
    config = _config(state, secrets_needed=False)
    wanted = list(config.syncs.values())
    if sync is not None:
        wanted = [configured_sync(config, sync)]
    now = datetime.now(UTC)
    with state.open_store(state.db or config.store_url) as store:
        found = store.sync_overview([s.name for s in wanted], now)
        daemon = daemon_status(store.daemons_seen(), now)
    statuses = [build_status(s, found[s.name], now) for s in wanted]
    if state.json or json_output:
        emit_json(
            {
                "now": now.isoformat(),
                "daemon": daemon.as_dict(now),
                "syncs": [s.as_dict() for s in statuses],
            }
        )
        return
    print_table(_COLUMNS, (_row(s, now, daemon) for s in statuses), title="syncs")
    info(daemon.text(now))
    # Reasons are sentences: under the table they stay whole instead of wrapping a column.
    for s in statuses:
        if s.note:
            info(f"{s.name} ({s.state}): {shorten(s.note, 200)}")
