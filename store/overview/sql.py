"""What operators read about syncs, in SQL: one overview per sync, and the log's retention.

``overview`` answers ``syncd status`` and every ``/metrics`` scrape, so it costs a fixed
number of statements for any number of syncs (one per table, grouped by sync, per chunk of
``CHUNK`` names), never one per sync. The newest runs are found with correlated
``ORDER BY id DESC LIMIT 1`` subqueries that walk the (sync, id) index backwards and stop at
the first match, so a sync with months of runs costs the same as a new one.

``purge_log`` deletes in batches of its own transactions: a retention job must not hold the
write lock (SQLite) or a huge snapshot (PostgreSQL) while it removes a month of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from store.db import tables as t
from store.db.chunks import chunks
from store.db.tx import last_seq
from store.sync.models import SyncRun
from store.sync.rows import CHUNK
from store.sync.runs import run_from_row

__all__ = [
    "ACTIVITY_ACTIONS",
    "DaemonSeen",
    "SyncOverview",
    "activity_by_hour",
    "daemon_beat",
    "daemons_seen",
    "overview",
    "purge_daemons",
    "purge_log_batch",
    "purge_runs_batch",
]

#: The log actions that changed a record on one side: what "synced" counts.
ACTIVITY_ACTIONS = ("created", "updated", "deleted", "archived")
_DIRECTIONS = ("inbound", "outbound")
_NOT_A_FINISHED_RUN = ("running", "dry_run")


def _zero() -> dict[str, int]:
    return dict.fromkeys(_DIRECTIONS, 0)


def _hours(hours: int) -> dict[str, list[int]]:
    return {d: [0] * hours for d in _DIRECTIONS}


@dataclass(frozen=True)
class SyncOverview:
    """Where one sync stands, as stored: the facts ``syncd status`` and the metrics judge.

    ``last_run`` is the newest finished run (any status but running); ``running`` is the
    newest run still marked running and newer than ``last_run`` (a process that died leaves
    one behind: only a live lease makes it a real one). ``synced_1h`` / ``synced_24h`` count
    log rows whose action changed a record (``ACTIVITY_ACTIONS``), per direction.
    ``parked`` counts outbound records parked in the outbox, ``parked_inbound`` external
    records refused and kept for an operator. ``outbound_lag`` is the journal entries written since the sync's journal position.
    ``last_inbound_at`` is the later of the newest inbound log row of the last day and the
    end of the last successful run: when the sync last heard from the other side.
    ``activity`` False (the metrics scrape) leaves the log counts at zero and
    ``last_inbound_at`` at the last successful run: the log is the one large table.
    """

    sync: str
    paused: bool = False
    paused_reason: str | None = None
    journal_position: int = 0
    outbound_lag: int = 0
    last_run: SyncRun | None = None
    running: SyncRun | None = None
    last_ok_finished_at: datetime | None = None
    lease_holder: str | None = None
    lease_expires_at: datetime | None = None
    synced_1h: dict[str, int] = field(default_factory=_zero)
    synced_24h: dict[str, int] = field(default_factory=_zero)
    #: ``synced_24h`` hour by hour, oldest hour first (24 entries a direction): the console's
    #: chart, read with the counts when ``sync_overview(hourly=True)`` asks (else zeros).
    synced_hourly: dict[str, list[int]] = field(default_factory=lambda: _hours(24))
    parked: int = 0
    #: External records the sync could not apply, not yet asked to retry (`syncd errors`).
    parked_inbound: int = 0
    due: int = 0
    open_conflicts: int = 0
    inbox_depth: int = 0
    last_inbound_at: datetime | None = None

    @property
    def last_error(self) -> str | None:
        """The error the last run failed with (its summary's ``error``), if it failed."""
        if self.last_run is None or self.last_run.status != "failed":
            return None
        error = self.last_run.summary.get("error")
        return str(error) if error is not None else "failed (no message recorded)"


def _latest(condition: Callable[[Any], ColumnElement[bool]], column: str = "id") -> Any:
    """The newest run of the outer state row's sync matching ``condition``, as a subquery."""
    runs = t.sync_runs.alias("r")
    states = t.sync_states
    return (
        select(runs.c[column])
        .where(runs.c.sync == states.c.sync, condition(runs))
        .order_by(runs.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _count_by_sync(
    conn: Connection, table: Table, names: Sequence[str], *where: ColumnElement[bool]
) -> dict[str, int]:
    rows = conn.execute(
        select(table.c.sync, func.count())
        .where(table.c.sync.in_(names), *where)
        .group_by(table.c.sync)
    )
    return {row[0]: int(row[1]) for row in rows}


def overview(
    conn: Connection,
    syncs: Sequence[str],
    now: datetime,
    *,
    activity: bool = True,
    hourly: bool = False,
) -> dict[str, SyncOverview]:
    """Every named sync's overview; a sync the store never saw gets an empty one."""
    head_seq = last_seq(conn)
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunks(sorted(set(syncs)), CHUNK):
        for name in chunk:
            found[name] = {"sync": name, "outbound_lag": head_seq}
        _states_and_runs(conn, chunk, found, head_seq)
        _queues(conn, chunk, found, now)
        for row in conn.execute(
            select(t.sync_leases.c.sync, t.sync_leases.c.holder, t.sync_leases.c.expires_at).where(
                t.sync_leases.c.sync.in_(chunk)
            )
        ):
            found[row.sync]["lease_holder"] = row.holder
            found[row.sync]["lease_expires_at"] = row.expires_at
        if activity and hourly:
            _activity_hourly(conn, chunk, found, now)
        elif activity:
            _activity(conn, chunk, found, now)
    return {name: SyncOverview(**values) for name, values in found.items()}


def _states_and_runs(
    conn: Connection, names: Sequence[str], found: dict[str, dict[str, Any]], head_seq: int
) -> None:
    # Every run but a dry run moves its sync's state row, so a sync without one never ran.
    st = t.sync_states
    rows = conn.execute(
        select(
            st.c.sync,
            st.c.paused,
            st.c.paused_reason,
            st.c.journal_position,
            _latest(lambda r: r.c.status.not_in(_NOT_A_FINISHED_RUN)).label("last_id"),
            _latest(lambda r: r.c.status == "running").label("running_id"),
            _latest(lambda r: r.c.status == "ok", "finished_at").label("ok_finished_at"),
        ).where(st.c.sync.in_(names))
    ).all()
    wanted: dict[int, tuple[str, str]] = {}
    for row in rows:
        item = found[row.sync]
        item["paused"] = bool(row.paused)
        item["paused_reason"] = row.paused_reason
        item["journal_position"] = int(row.journal_position)
        item["outbound_lag"] = max(0, head_seq - int(row.journal_position))
        item["last_ok_finished_at"] = row.ok_finished_at
        item["last_inbound_at"] = row.ok_finished_at
        if row.last_id is not None:
            wanted[int(row.last_id)] = (row.sync, "last_run")
        # A running row older than the last finished run was left by a process that died.
        if row.running_id is not None and (row.last_id is None or row.running_id > row.last_id):
            wanted[int(row.running_id)] = (row.sync, "running")
    if wanted:
        sr = t.sync_runs
        for run in conn.execute(select(sr).where(sr.c.id.in_(sorted(wanted)))).mappings():
            sync, slot = wanted[int(run["id"])]
            found[sync][slot] = run_from_row(run)


def _queues(
    conn: Connection, names: Sequence[str], found: dict[str, dict[str, Any]], now: datetime
) -> None:
    box = t.sync_outbox
    for row in conn.execute(
        select(
            box.c.sync,
            func.sum(case((box.c.parked.is_(True), 1), else_=0)),
            func.sum(
                case((and_(box.c.parked.is_(False), box.c.next_attempt_at <= now), 1), else_=0)
            ),
        )
        .where(box.c.sync.in_(names))
        .group_by(box.c.sync)
    ):
        found[row[0]]["parked"] = int(row[1] or 0)
        found[row[0]]["due"] = int(row[2] or 0)
    refused = t.sync_inbound_errors
    for name, count in _count_by_sync(
        conn, refused, names, refused.c.retry_requested.is_(False)
    ).items():
        found[name]["parked_inbound"] = count
    conflicts = t.sync_conflicts
    for name, count in _count_by_sync(conn, conflicts, names, conflicts.c.open.is_(True)).items():
        found[name]["open_conflicts"] = count
    inbox = t.webhook_inbox
    for name, count in _count_by_sync(conn, inbox, names, inbox.c.state == "pending").items():
        found[name]["inbox_depth"] = count


def _hours_ago(now: datetime) -> ColumnElement[Any]:
    """Whole hours between a log row's time and ``now`` (0 for the last hour), computed
    by PostgreSQL: a group key, so one read of the day's rows serves every hour."""
    log = t.sync_log
    moment = literal(now, log.c.at.type)
    return cast(func.floor(extract("epoch", moment - log.c.at) / 3600.0), Integer)


def _activity_rows(
    conn: Connection, names: Sequence[str], now: datetime, hours: int
) -> list[tuple[str, str, int, int, int, datetime | None]]:
    """(sync, direction, hours ago, records changed in the last hour, records changed,
    newest row of any action) per sync, direction and hour of the ``hours`` up to ``now``,
    read from the (sync, at, direction, action) index alone, whatever the log's size.

    PostgreSQL groups the day's rows by hour in one statement. SQLite sorts such a group
    in a temporary tree, which cost twice as much as counting each hour's index range on
    its own (``bench/console.py``): there, one short count per sync and hour.
    """
    if conn.dialect.name == "sqlite":
        return _activity_ranges(conn, names, now, hours)
    log = t.sync_log
    hour, start = now - timedelta(hours=1), now - timedelta(hours=hours)
    counted = log.c.action.in_(ACTIVITY_ACTIONS)
    ago = _hours_ago(now).label("ago")
    found: list[tuple[str, str, int, int, int, datetime | None]] = []
    for chunk in chunks(sorted(set(names)), CHUNK):
        rows = conn.execute(
            select(
                log.c.sync,
                log.c.direction,
                ago,
                func.sum(case((and_(counted, log.c.at >= hour), 1), else_=0)),
                func.sum(case((counted, 1), else_=0)),
                func.max(log.c.at),
            )
            .where(log.c.sync.in_(chunk), log.c.at >= start, log.c.at <= now)
            .group_by(log.c.sync, log.c.direction, ago)
        )
        found.extend(
            (r[0], r[1], int(r[2] or 0), int(r[3] or 0), int(r[4] or 0), r[5]) for r in rows
        )
    return found


def _activity_ranges(
    conn: Connection, names: Sequence[str], now: datetime, hours: int
) -> list[tuple[str, str, int, int, int, datetime | None]]:
    """``_activity_rows`` as one index range count per sync and hour (SQLite)."""
    log = t.sync_log
    counted = log.c.action.in_(ACTIVITY_ACTIONS)
    found: list[tuple[str, str, int, int, int, datetime | None]] = []
    for sync in sorted(set(names)):
        for ago in range(hours):
            start, end = now - timedelta(hours=ago + 1), now - timedelta(hours=ago)
            # The newest hour ends at ``now`` inclusive, as ``_activity`` counts it.
            until = log.c.at <= end if ago == 0 else log.c.at < end
            for direction, changed in conn.execute(
                select(log.c.direction, func.count())
                .where(log.c.sync == sync, log.c.at >= start, until, counted)
                .group_by(log.c.direction)
            ):
                found.append((sync, direction, ago, changed if ago == 0 else 0, changed, None))
        newest = conn.execute(
            select(func.max(log.c.at)).where(
                log.c.sync == sync,
                log.c.at >= now - timedelta(hours=hours),
                log.c.at <= now,
                log.c.direction == "inbound",
            )
        ).scalar()
        if newest is not None:
            found.append((sync, "inbound", 0, 0, 0, newest))
    return found


def _activity(
    conn: Connection, names: Sequence[str], found: dict[str, dict[str, Any]], now: datetime
) -> None:
    log = t.sync_log
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    counted = log.c.action.in_(ACTIVITY_ACTIONS)
    rows = conn.execute(
        select(
            log.c.sync,
            log.c.direction,
            func.sum(case((and_(counted, log.c.at >= hour), 1), else_=0)),
            func.sum(case((counted, 1), else_=0)),
            func.max(log.c.at),
        )
        .where(log.c.sync.in_(names), log.c.at >= day, log.c.at <= now)
        .group_by(log.c.sync, log.c.direction)
    )
    for sync, direction, last_hour, last_day, newest in rows:
        _count(found[sync], direction, int(last_hour or 0), int(last_day or 0), newest)


def _count(
    item: dict[str, Any], direction: str, last_hour: int, changed: int, newest: datetime | None
) -> None:
    if direction in _DIRECTIONS:
        item.setdefault("synced_1h", _zero())[direction] += last_hour
        item.setdefault("synced_24h", _zero())[direction] += changed
    if direction == "inbound" and newest is not None:
        seen = item.get("last_inbound_at")
        item["last_inbound_at"] = newest if seen is None else max(seen, newest)


def _activity_hourly(
    conn: Connection, names: Sequence[str], found: dict[str, dict[str, Any]], now: datetime
) -> None:
    """``_activity`` and the day's counts hour by hour, in the same read (the console's
    overview: its chart costs no second pass over the day's rows)."""
    for sync, direction, ago, last_hour, changed, newest in _activity_rows(conn, names, now, 24):
        item = found[sync]
        _count(item, direction, last_hour, changed, newest)
        if direction in _DIRECTIONS:
            hourly = item.setdefault("synced_hourly", _hours(24))[direction]
            hourly[23 - min(max(ago, 0), 23)] += changed


def activity_by_hour(
    conn: Connection, names: Sequence[str], now: datetime, hours: int
) -> dict[str, dict[str, list[int]]]:
    """Records changed per sync, direction and hour over the ``hours`` up to ``now``;
    index 0 is the oldest hour, the last one the hour up to ``now``."""
    found = {name: _hours(hours) for name in names}
    for sync, direction, ago, _last_hour, changed, _newest in _activity_rows(
        conn, names, now, hours
    ):
        if direction in _DIRECTIONS:
            found[sync][direction][hours - 1 - min(max(ago, 0), hours - 1)] += changed
    return found


# ---------------------------------------------------------------- daemon heartbeats


@dataclass(frozen=True)
class DaemonSeen:
    """One ``syncd run`` process as its heartbeat row left it."""

    holder: str
    pid: int
    host: str
    started_at: datetime
    seen_at: datetime
    stopped_at: datetime | None


def daemon_beat(
    conn: Connection,
    holder: str,
    now: datetime,
    *,
    pid: int,
    host: str,
    stopped: bool = False,
) -> None:
    """Stamp ``holder``'s heartbeat (created at its first beat); ``stopped`` at a clean exit."""
    beats = t.daemon_heartbeats
    values: dict[str, Any] = {"seen_at": now, "stopped_at": now if stopped else None}
    done = conn.execute(update(beats).where(beats.c.holder == holder).values(**values))
    if done.rowcount:
        return
    conn.execute(insert(beats).values(holder=holder, pid=pid, host=host, started_at=now, **values))


def daemons_seen(conn: Connection, limit: int = 20) -> list[DaemonSeen]:
    """The daemons that beat most recently, newest first."""
    beats = t.daemon_heartbeats
    rows = conn.execute(select(beats).order_by(beats.c.seen_at.desc()).limit(limit))
    return [
        DaemonSeen(r.holder, int(r.pid), r.host, r.started_at, r.seen_at, r.stopped_at)
        for r in rows
    ]


def purge_daemons(conn: Connection, older_than: datetime) -> int:
    """Forget daemons not seen since ``older_than`` (every restart leaves a row)."""
    beats = t.daemon_heartbeats
    return int(conn.execute(delete(beats).where(beats.c.seen_at < older_than)).rowcount or 0)


# ---------------------------------------------------------------- retention


def _held_by_open_conflict(log: Table) -> ColumnElement[bool]:
    """The log rows of the run and record an open conflict was recorded for: an operator
    deciding it reads them, however old they are."""
    c = t.sync_conflicts
    return exists().where(
        c.c.open.is_(True),
        c.c.sync == log.c.sync,
        c.c.crm_id == log.c.crm_id,
        or_(c.c.run_id == log.c.run_id, and_(c.c.run_id.is_(None), log.c.run_id.is_(None))),
    )


def purge_log_batch(conn: Connection, older_than: datetime, batch: int) -> int:
    """Delete up to ``batch`` of the oldest log rows written before ``older_than``."""
    log = t.sync_log
    doomed = (
        select(log.c.id)
        .where(log.c.at < older_than, ~_held_by_open_conflict(log))
        .order_by(log.c.id)
        .limit(batch)
    )
    result = conn.execute(delete(log).where(log.c.id.in_(doomed.scalar_subquery())))
    return int(result.rowcount or 0)


def purge_runs_batch(conn: Connection, older_than: datetime, batch: int) -> int:
    """Delete up to ``batch`` finished runs that ended before ``older_than`` and that nothing
    still points at (a log row, or an open conflict)."""
    runs, log, c = t.sync_runs, t.sync_log, t.sync_conflicts
    doomed = (
        select(runs.c.id)
        .where(
            runs.c.finished_at.is_not(None),
            runs.c.finished_at < older_than,
            runs.c.status != "running",
            ~exists().where(log.c.run_id == runs.c.id),
            ~exists().where(c.c.run_id == runs.c.id, c.c.open.is_(True)),
        )
        .order_by(runs.c.id)
        .limit(batch)
    )
    result = conn.execute(delete(runs).where(runs.c.id.in_(doomed.scalar_subquery())))
    return int(result.rowcount or 0)
