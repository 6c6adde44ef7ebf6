"""``build_status``: the decision table operators read, and when each sync runs next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from config.models import SyncConfig
from store import SyncOverview, SyncRun
from syncd.status import ago, build_status, next_run, schedule_text

NOW = datetime(2024, 5, 6, 12, 0, 0, tzinfo=UTC)


def _sync(**overrides: Any) -> SyncConfig:
    data: dict[str, Any] = {
        "name": "shop",
        "connector": "sql",
        "external_object": "customers",
        "crm_object": "contacts",
        "fields": [{"crm": "email", "external": "email"}],
    }
    return SyncConfig.model_validate(data | overrides)


def _run(run_id: int, status: str, started: datetime, **summary: Any) -> SyncRun:
    finished = None if status == "running" else started + timedelta(seconds=30)
    return SyncRun(run_id, "shop", started, finished, status, summary)


OK = _run(1, "ok", NOW - timedelta(minutes=10))
FAILED = _run(2, "failed", NOW - timedelta(minutes=5), error="HTTP 503 from the shop")
RUNNING = _run(3, "running", NOW - timedelta(seconds=20))
LIVE_LEASE: dict[str, Any] = {
    "lease_holder": "host:1",
    "lease_expires_at": NOW + timedelta(seconds=30),
}
DEAD_LEASE: dict[str, Any] = {
    "lease_holder": "host:1",
    "lease_expires_at": NOW - timedelta(seconds=1),
}


@pytest.mark.parametrize(
    ("facts", "state"),
    [
        ({}, "idle"),
        ({"last_run": OK}, "idle"),
        ({"last_run": FAILED}, "failing"),
        ({"last_run": OK, "parked": 2}, "failing"),
        ({"last_run": OK, "running": RUNNING, **LIVE_LEASE}, "running"),
        # A run row marked running whose process lost its lease died: not running.
        ({"last_run": OK, "running": RUNNING, **DEAD_LEASE}, "idle"),
        ({"last_run": FAILED, "running": RUNNING, **DEAD_LEASE}, "failing"),
        ({"last_run": OK, "running": RUNNING, "lease_holder": None}, "idle"),
        # A live lease with no running run: between passes, the daemon holds it.
        ({"last_run": OK, **LIVE_LEASE}, "idle"),
        # Paused wins over everything, running and failing included.
        ({"paused": True, "last_run": FAILED, "parked": 3}, "paused"),
        ({"paused": True, "running": RUNNING, **LIVE_LEASE}, "paused"),
        # Running beats failing: the run under way may fix it.
        ({"last_run": FAILED, "running": RUNNING, **LIVE_LEASE}, "running"),
    ],
)
def test_the_state_decision_table(facts: dict[str, Any], state: str) -> None:
    status = build_status(_sync(), SyncOverview("shop", **facts), NOW)
    assert status.state == state


def test_a_failing_sync_says_why_and_a_paused_one_says_who() -> None:
    failing = build_status(_sync(), SyncOverview("shop", last_run=FAILED), NOW)
    assert failing.last_error == "HTTP 503 from the shop"
    assert failing.note == "HTTP 503 from the shop"
    parked = build_status(_sync(), SyncOverview("shop", last_run=OK, parked=1), NOW)
    assert parked.last_error is None and "1 record parked" in parked.note
    assert "syncd errors --sync shop" in parked.note
    paused = build_status(
        _sync(), SyncOverview("shop", paused=True, paused_reason="mass-delete brake"), NOW
    )
    assert (paused.paused_reason, paused.note, paused.next_run) == (
        "mass-delete brake",
        "mass-delete brake",
        None,
    )
    # A failed run's missing message still reads as a failure, not as success.
    bare = build_status(_sync(), SyncOverview("shop", last_run=_run(4, "failed", NOW)), NOW)
    assert bare.last_error == "failed (no message recorded)"


def test_every_counts_from_the_last_start_and_never_ran_means_now() -> None:
    every = _sync(schedule={"every": "5m"})
    assert build_status(every, SyncOverview("shop"), NOW).next_run == NOW
    after_ok = build_status(every, SyncOverview("shop", last_run=OK), NOW)
    assert after_ok.next_run == OK.started_at + timedelta(minutes=5)  # overdue: due now
    # The running pass's start is the newest start.
    live = SyncOverview("shop", last_run=OK, running=RUNNING, **LIVE_LEASE)
    assert build_status(every, live, NOW).next_run == RUNNING.started_at + timedelta(minutes=5)
    assert build_status(every, live, NOW).schedule == "every 5m"


def test_cron_is_the_next_fire_time_in_utc() -> None:
    nightly = _sync(schedule={"cron": "30 3 * * *"})
    status = build_status(nightly, SyncOverview("shop", last_run=OK), NOW)
    assert status.next_run == datetime(2024, 5, 7, 3, 30, tzinfo=UTC)
    assert status.schedule == "cron 30 3 * * *"
    quarter = _sync(schedule={"cron": "*/15 * * * *"})
    assert build_status(quarter, SyncOverview("shop"), NOW + timedelta(minutes=1)).next_run == (
        NOW + timedelta(minutes=15)
    )


def test_no_schedule_is_manual() -> None:
    status = build_status(_sync(), SyncOverview("shop", last_run=OK), NOW)
    assert (status.next_run, status.schedule) == (None, "manual")


def test_lag_is_meaningless_for_a_sync_that_never_writes_outside() -> None:
    facts = SyncOverview("shop", outbound_lag=120, last_inbound_at=NOW - timedelta(minutes=3))
    two_way = build_status(_sync(), facts, NOW)
    assert (two_way.outbound_lag, two_way.outbound_lag_text) == (120, "120 journal entries behind")
    assert two_way.inbound_last_seen_text == "3m ago"
    to_crm = build_status(_sync(direction="to_crm"), facts, NOW)
    assert (to_crm.outbound_lag, to_crm.outbound_lag_text) == (None, "n/a (to_crm)")
    to_external = build_status(_sync(direction="to_external"), facts, NOW)
    assert to_external.inbound_last_seen is None
    assert to_external.inbound_last_seen_text == "n/a (to_external)"
    one = build_status(_sync(), SyncOverview("shop", outbound_lag=1), NOW)
    assert one.outbound_lag_text == "1 journal entry behind"
    assert build_status(_sync(), SyncOverview("shop"), NOW).outbound_lag_text == "up to date"


def test_as_dict_is_json_ready() -> None:
    data = build_status(_sync(schedule={"every": 60}), SyncOverview("shop", last_run=FAILED), NOW)
    out = data.as_dict()
    assert out["last_run_started_at"] == FAILED.started_at.isoformat()
    assert out["next_run"] == (FAILED.started_at + timedelta(minutes=1)).isoformat()
    assert out["state"] == "failing" and out["note"] == "HTTP 503 from the shop"
    assert out["synced_1h"] == {"inbound": 0, "outbound": 0}


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=5), "5s ago"),
        (timedelta(minutes=3, seconds=59), "3m ago"),
        (timedelta(hours=2, minutes=5), "2h05m ago"),
        (timedelta(days=3, hours=4), "3d4h ago"),
        (-timedelta(minutes=10), "in 10m"),
    ],
)
def test_ago(delta: timedelta, text: str) -> None:
    assert ago(NOW - delta, NOW) == text
    assert ago(None, NOW) == "never"


def test_next_run_and_schedule_text_directly() -> None:
    sync = _sync(schedule={"every": 90})
    assert next_run(sync.schedule, None, NOW) == NOW
    assert schedule_text(sync.schedule) == "every 90s"
    assert schedule_text(_sync(schedule={"every": "2h"}).schedule) == "every 2h"


def test_a_spent_quota_says_when_the_sync_resumes() -> None:
    resume = NOW + timedelta(hours=3)
    last = _run(5, "ok", NOW - timedelta(minutes=1), quota_resume_at=resume.isoformat())
    status = build_status(_sync(), SyncOverview("shop", last_run=last), NOW)
    assert status.quota_resume_at == resume
    assert "quota is spent; the sync resumes at 2024-05-06 15:00 UTC" in status.note
    # Once the window has opened, there is nothing to say.
    past = _run(
        6, "ok", NOW - timedelta(hours=5), quota_resume_at=(NOW - timedelta(hours=1)).isoformat()
    )
    assert build_status(_sync(), SyncOverview("shop", last_run=past), NOW).note == ""
