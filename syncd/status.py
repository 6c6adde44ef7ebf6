"""How a sync is doing, judged from its stored overview and its configured schedule.

Pure: no clock, no I/O. ``syncd status`` and anything else that shows state to people call
``build_status`` with the same ``now`` they read the store with, so a state never depends on
when it happened to be printed, and the decision table is tested without a database.

The states, first match wins:

* ``paused``: an operator, a bad credential or the mass-delete brake stopped it;
* ``running``: a run is marked running and its process still holds the sync's lease (a
  process that died leaves a running row behind, but its lease runs out);
* ``failing``: the last run failed, or records are parked after their retries ran out;
* ``idle``: otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from config.models import Schedule, SyncConfig
from store import DaemonSeen, SyncOverview

__all__ = [
    "DAEMON_ALIVE_SECONDS",
    "STATES",
    "DaemonStatus",
    "SyncStatus",
    "ago",
    "build_status",
    "daemon_status",
    "next_run",
    "schedule_text",
]

#: A daemon whose heartbeat (stamped every ``syncd.daemon.BEAT_SECONDS``) is older than this
#: is taken for dead: three beats missed.
DAEMON_ALIVE_SECONDS = 45.0

STATES = ("paused", "running", "failing", "idle")


@dataclass(frozen=True)
class SyncStatus:
    """One sync as an operator reads it; ``as_dict`` is its ``--json`` form.

    ``outbound_lag`` is None for a sync that never writes outside (``to_crm``): its journal
    position does not move and a lag would only alarm. ``next_run`` is None when the sync
    has no schedule (run by hand) or is paused.
    """

    name: str
    state: str
    schedule: str
    paused_reason: str | None
    last_run_id: int | None
    last_run_status: str | None
    last_run_started_at: datetime | None
    last_run_finished_at: datetime | None
    last_error: str | None
    running_since: datetime | None
    lease_holder: str | None
    next_run: datetime | None
    outbound_lag: int | None
    outbound_lag_text: str
    inbound_last_seen: datetime | None
    inbound_last_seen_text: str
    synced_1h: dict[str, int] = field(default_factory=dict)
    synced_24h: dict[str, int] = field(default_factory=dict)
    #: Records given up on: ``parked_outbound`` + ``parked_inbound``.
    parked_errors: int = 0
    parked_outbound: int = 0
    parked_inbound: int = 0
    outbox_due: int = 0
    open_conflicts: int = 0
    inbox_depth: int = 0
    #: When the external system's call quota ran out in the last run: the next window.
    quota_resume_at: datetime | None = None

    @property
    def note(self) -> str:
        """The one line that explains a state other than idle."""
        if self.state == "paused":
            return self.paused_reason or "paused"
        if self.last_error:
            return self.last_error
        if self.quota_resume_at is not None:
            return (
                "the external system's daily call quota is spent; the sync resumes at"
                f" {self.quota_resume_at:%Y-%m-%d %H:%M} UTC"
            )
        if self.parked_errors:
            parts = [
                f"{count} {direction}"
                for count, direction in (
                    (self.parked_inbound, "inbound"),
                    (self.parked_outbound, "outbound"),
                )
                if count
            ]
            plural = "s" if self.parked_errors != 1 else ""
            return (
                f"{self.parked_errors} record{plural} parked ({', '.join(parts)}):"
                f" `syncd errors --sync {self.name}`"
            )
        return ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["note"] = self.note
        return data


def schedule_text(schedule: Schedule) -> str:
    if schedule.cron is not None:
        return f"cron {schedule.cron}"
    if schedule.every is not None:
        return f"every {_span(schedule.every)}"
    return "manual"


def next_run(
    schedule: Schedule, last_started_at: datetime | None, now: datetime
) -> datetime | None:
    """When the scheduler starts the sync next: ``every`` counts from the last run's start
    (now when it never ran; a time already past means it is due); ``cron`` is the next fire
    time at or after now, in UTC; no schedule is None."""
    if schedule.every is not None:
        if last_started_at is None:
            return now
        return last_started_at + timedelta(seconds=schedule.every)
    if schedule.cron is not None:
        trigger = CronTrigger.from_crontab(schedule.cron, timezone=UTC)
        fire: datetime | None = trigger.get_next_fire_time(None, now)
        return fire
    return None


def _span(seconds: float) -> str:
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s" if whole == seconds else f"{seconds:g}s"


def ago(moment: datetime | None, now: datetime) -> str:
    """``moment`` relative to ``now`` as people say it: ``3m ago``, ``in 2h``, ``never``."""
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        text = f"{seconds}s"
    elif seconds < 3600:
        text = f"{seconds // 60}m"
    elif seconds < 86400:
        text = f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    else:
        text = f"{seconds // 86400}d{(seconds % 86400) // 3600}h"
    return f"in {text}" if future else f"{text} ago"


def _state(overview: SyncOverview, now: datetime) -> str:
    if overview.paused:
        return "paused"
    lease_live = (
        overview.lease_holder is not None
        and overview.lease_expires_at is not None
        and overview.lease_expires_at > now
    )
    if overview.running is not None and lease_live:
        return "running"
    last = overview.last_run
    parked = overview.parked + overview.parked_inbound
    if (last is not None and last.status == "failed") or parked > 0:
        return "failing"
    return "idle"


def build_status(config_sync: SyncConfig, overview: SyncOverview, now: datetime) -> SyncStatus:
    """Judge one sync (see the module's decision table)."""
    state = _state(overview, now)
    last = overview.last_run
    starts = [r.started_at for r in (last, overview.running) if r is not None]
    upcoming = (
        None
        if state == "paused"
        else next_run(config_sync.schedule, max(starts, default=None), now)
    )
    pushes = config_sync.direction.to_external
    pulls = config_sync.direction.to_crm
    lag = overview.outbound_lag if pushes else None
    if lag is None:
        lag_text = "n/a (to_crm)"
    elif lag == 0:
        lag_text = "up to date"
    else:
        lag_text = f"{lag} journal entr{'ies' if lag != 1 else 'y'} behind"
    seen = overview.last_inbound_at if pulls else None
    return SyncStatus(
        name=config_sync.name,
        state=state,
        schedule=schedule_text(config_sync.schedule),
        paused_reason=overview.paused_reason if overview.paused else None,
        last_run_id=last.id if last else None,
        last_run_status=last.status if last else None,
        last_run_started_at=last.started_at if last else None,
        last_run_finished_at=last.finished_at if last else None,
        last_error=overview.last_error,
        running_since=overview.running.started_at
        if state == "running" and overview.running
        else None,
        lease_holder=overview.lease_holder if state == "running" else None,
        next_run=upcoming,
        outbound_lag=lag,
        outbound_lag_text=lag_text,
        inbound_last_seen=seen,
        inbound_last_seen_text=ago(seen, now) if pulls else "n/a (to_external)",
        synced_1h=dict(overview.synced_1h),
        synced_24h=dict(overview.synced_24h),
        parked_errors=overview.parked + overview.parked_inbound,
        parked_outbound=overview.parked,
        parked_inbound=overview.parked_inbound,
        outbox_due=overview.due,
        open_conflicts=overview.open_conflicts,
        inbox_depth=overview.inbox_depth,
        quota_resume_at=_quota_resume_at(last.summary if last else {}, now),
    )


@dataclass(frozen=True)
class DaemonStatus:
    """Whether a ``syncd run`` serves the store, judged from the heartbeats it stamps.

    Without one nothing runs on schedule: a sync "due now" is not about to run, and status
    says so rather than count down to a pass that will never start.
    """

    running: bool
    holders: list[str]
    last_seen: datetime | None
    stopped_at: datetime | None

    def text(self, now: datetime) -> str:
        if self.running:
            return f"daemon running ({', '.join(self.holders)})"
        if self.last_seen is None:
            return "daemon not running (never seen on this store): start it with `syncd run`"
        how = "stopped" if self.stopped_at is not None else "last seen"
        return f"daemon not running ({how} {ago(self.last_seen, now)})"

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "running": self.running,
            "holders": list(self.holders),
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "text": self.text(now),
        }


def daemon_status(seen: list[DaemonSeen], now: datetime) -> DaemonStatus:
    """Live: a daemon that beat within ``DAEMON_ALIVE_SECONDS`` and did not stop."""
    alive = [
        d
        for d in seen
        if d.stopped_at is None and (now - d.seen_at).total_seconds() <= DAEMON_ALIVE_SECONDS
    ]
    newest = max(seen, key=lambda d: d.seen_at, default=None)
    return DaemonStatus(
        running=bool(alive),
        holders=sorted(d.holder for d in alive),
        last_seen=newest.seen_at if newest else None,
        stopped_at=newest.stopped_at if newest else None,
    )


def _quota_resume_at(summary: Mapping[str, Any], now: datetime) -> datetime | None:
    raw = summary.get("quota_resume_at")
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None and moment > now else None
