"""One sync: its state, its runs with their summaries, the sync log filtered and paged, and
pause, resume, run now and confirm a tripped mass-delete brake.

Pause and resume are ``syncd pause`` / ``syncd resume`` (``Store.set_sync_paused``); run now
and confirm are ``syncd sync NAME [--allow-deletes]`` (``runs.PassStarter``). The log is
``Store.sync_log`` newest first, paged back by the oldest id shown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.responses import Response

from config.models import SyncConfig
from store import LogAction, LogDirection
from syncd.changes import changes_text
from syncd.console.app import Call, Refused, done
from syncd.status import build_status

__all__ = ["PAGE", "act", "show"]

PAGE = 50
_RUNS = 20
_REASON = 300
_DIRECTIONS = [d.value for d in LogDirection]
_ACTIONS = [a.value for a in LogAction]


def _sync(call: Call) -> SyncConfig:
    name = str(call.request.path_params["name"])
    found = call.console.config().syncs.get(name)
    if found is None:
        raise Refused(f"There is no sync named {name[:100]!r} in the configuration.", 404)
    return found


def _moment(text: str, field: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(
            f"{field}: {text[:40]!r} is not a time; give one such as 2026-01-31T14:00 (UTC)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _filters(call: Call) -> dict[str, str]:
    return {
        key: call.query(key, 40)
        for key in ("direction", "action", "record", "since", "until", "before")
    }


def show(call: Call) -> Response:
    sync = _sync(call)
    now = datetime.now(UTC)
    store = call.store
    status = build_status(sync, store.sync_overview([sync.name], now)[sync.name], now)
    wanted = _filters(call)
    if wanted["direction"] and wanted["direction"] not in _DIRECTIONS:
        raise Refused(f"direction must be one of {', '.join(_DIRECTIONS)}")
    if wanted["action"] and wanted["action"] not in _ACTIONS:
        raise Refused(f"action must be one of {', '.join(_ACTIONS)}")
    for key in ("record", "before"):
        if wanted[key] and not (wanted[key].isdigit() and len(wanted[key]) <= 18):
            raise Refused(f"{key} must be a whole number (a CRM record id / a log row id)")
    rows = store.sync_log(
        sync=sync.name,
        direction=wanted["direction"] or None,
        action=wanted["action"] or None,
        # With the object too, the (crm_object, crm_id) index finds the record's rows.
        crm_object=sync.crm_object if wanted["record"] else None,
        crm_id=int(wanted["record"]) if wanted["record"] else None,
        since=_moment(wanted["since"], "since"),
        until=_moment(wanted["until"], "until"),
        before_id=int(wanted["before"]) if wanted["before"] else None,
        limit=PAGE + 1,
        newest=True,
    )[::-1]
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    kept = {k: v for k, v in wanted.items() if v and k != "before"}
    older = urlencode({**kept, "before": rows[-1].id}) if more and rows else None
    newest = urlencode(kept) if wanted["before"] else None
    return call.page(
        "sync.html",
        sync=sync,
        status=status,
        runs=store.list_sync_runs(sync.name, _RUNS),
        rows=[(e, changes_text(e.changes) or (e.message or "")) for e in rows],
        filters=wanted,
        directions=_DIRECTIONS,
        actions=_ACTIONS,
        older=older,
        newest=newest,
        brake=bool(status.paused_reason and "--allow-deletes" in status.paused_reason),
        pass_running=call.console.passes.running(sync.name),
    )


def act(call: Call) -> Response:
    sync = _sync(call)
    action = str(call.request.path_params["action"])
    path = f"/console/syncs/{sync.name}"
    store = call.store
    by = f"console {call.viewer.name}"
    if action == "pause":
        reason = " ".join(call.form.get("reason", "").split())[:_REASON]
        store.set_sync_paused(
            sync.name, True, f"paused by an operator ({by}){': ' + reason if reason else ''}"
        )
        return done(path, "paused")
    if action == "resume":
        store.set_sync_paused(sync.name, False, None)
        return done(path, "resumed")
    if action == "run":
        call.console.passes.start(sync.name, allow_deletes=False, by=by)
        return done(path, "started")
    if action == "confirm-brake":
        state = store.sync_state(sync.name)
        if not (state.paused and state.paused_reason and "--allow-deletes" in state.paused_reason):
            raise Refused(
                f"{sync.name} is not stopped by the mass-delete brake: nothing to confirm"
            )
        call.console.passes.start(sync.name, allow_deletes=True, by=by)
        return done(path, "confirmed")
    raise Refused(f"unknown action {action[:40]!r}: pause, resume, run or confirm-brake", 404)
