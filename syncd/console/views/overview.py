"""The overview: every sync's state, schedule, last run, lag, backlog and 24 hours of
activity, and which daemon processes are alive and which leases they hold.

The same reads as ``syncd status`` (``Store.sync_overview``, ``build_status``,
``daemon_status``); the chart's hours come from the same read (``synced_hourly``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response

from syncd.console.app import Call
from syncd.console.chart import hourly_chart
from syncd.status import DAEMON_ALIVE_SECONDS, build_status, daemon_status

__all__ = ["show"]

_STANDARD = ("contacts", "companies", "deals", "tickets")


def show(call: Call) -> Response:
    config = call.console.config()
    syncs = list(config.syncs.values())
    names = [s.name for s in syncs]
    now = datetime.now(UTC)
    store = call.store
    found = store.sync_overview(names, now, hourly=True)
    seen = store.daemons_seen()
    daemon = daemon_status(seen, now)
    statuses = [build_status(s, found[s.name], now) for s in syncs]
    charts = {
        name: hourly_chart(
            found[name].synced_hourly["inbound"], found[name].synced_hourly["outbound"], now
        )
        for name in names
    }
    leases: dict[str, list[str]] = {}
    for name in names:
        item = found[name]
        if item.lease_holder and item.lease_expires_at and item.lease_expires_at > now:
            leases.setdefault(item.lease_holder, []).append(name)
    processes = [
        {
            "holder": d.holder,
            "host": d.host,
            "pid": d.pid,
            "started_at": d.started_at,
            "seen_at": d.seen_at,
            "alive": d.stopped_at is None
            and (now - d.seen_at).total_seconds() <= DAEMON_ALIVE_SECONDS,
            "stopped_at": d.stopped_at,
            "leases": sorted(leases.get(d.holder, [])),
        }
        for d in seen
    ]
    others = {h: s for h, s in leases.items() if h not in {d.holder for d in seen}}
    return call.page(
        "overview.html",
        statuses=statuses,
        charts=charts,
        daemon=daemon,
        daemon_text=daemon.text(now),
        processes=processes,
        other_leases=sorted(others.items()),
        # The objects the syncs write, and the standard ones: no schema read for a datalist.
        objects=sorted({s.crm_object for s in syncs} | set(_STANDARD)),
    )
