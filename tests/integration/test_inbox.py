"""The webhook inbox drained through the engine into the CRM, on SQLite and PostgreSQL.

What an operator relies on: every stored event is applied exactly once (not zero times after
a failure, not twice after a retry or with two workers), thin events are filled by one
fetch per batch, and deletes follow the sync's rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.base import AuthError, ConnectorError, ExternalRecord, TransientError, WebhookEvent
from connectors.webhooks import WebhookOptions, sign
from store import ChangeSource, InboxEntrySpec, LogAction, SourceType, Store, SyncTx
from syncd.engine import RunSummary, SyncPaused, SyncSpec, build_spec
from syncd.engine.events import drain_inbox, event_to_data
from syncd.engine.inbound import apply_page
from syncd.http import create_app
from tests.http._client import AsgiClient
from tests.http._fakes import HookConnector, body, hook_config, register_hook

SYNC = "shop-customers"
UI = ChangeSource(SourceType.CRM_UI, "test-user")
APPLY_PAGE = "syncd.engine.events.apply_page"


@pytest.fixture(autouse=True)
def _hook(monkeypatch: pytest.MonkeyPatch) -> None:
    register_hook(monkeypatch)


class Harness:
    def __init__(self, store: Store, tmp_path: Path, from_external: str = "archive") -> None:
        self.config = hook_config(tmp_path, from_external=from_external)
        self.spec: SyncSpec = build_spec(self.config, self.config.syncs[SYNC])
        self.store = store
        self.connector = HookConnector("shop", self.config.connectors["shop"].options)

    def add(self, *events: WebhookEvent, delivery: str | None = None) -> int:
        entries = [
            InboxEntrySpec(
                sync=SYNC,
                external_object=e.external_object,
                external_id=e.external_id,
                event=event_to_data(e),
                delivery_id=e.delivery_id or (f"{delivery}:{i}" if delivery else None),
            )
            for i, e in enumerate(events)
        ]
        return self.store.inbox_add("shop", entries)

    def drain(self, **options: Any) -> RunSummary:
        return drain_inbox(self.spec, self.connector, self.store, **options)

    def contact(self, email: str) -> dict[str, str | None]:
        return dict(self.store.find_record("contacts", "email", email).properties)

    def created_log(self, external_id: str) -> int:
        rows = self.store.sync_log(sync=SYNC, external_id=external_id)
        return sum(1 for r in rows if r.action == LogAction.CREATED.value)


@pytest.fixture
def h(store: Store, tmp_path: Path) -> Harness:
    return Harness(store, tmp_path)


def full(ident: str, email: str, first: str, **options: Any) -> WebhookEvent:
    fields = {"email": email, "first_name": first}
    return WebhookEvent("customers", ident, ExternalRecord(ident, fields), **options)


def thin(ident: str, **options: Any) -> WebhookEvent:
    return WebhookEvent("customers", ident, None, **options)


def serve(h: Harness, ident: str, email: str, first: str) -> None:
    h.connector.records[ident] = ExternalRecord(ident, {"email": email, "first_name": first})


# ------------------------------------------------------------------ applying


def test_events_with_records_and_thin_events_reach_the_crm(h: Harness) -> None:
    serve(h, "c2", "bob@x.io", "Bob")
    assert h.add(full("c1", "ADA@x.io", "Ada"), thin("c2"), thin("c3")) == 3

    summary = h.drain()

    assert h.contact("ada@x.io")["firstname"] == "Ada"
    assert h.contact("bob@x.io")["firstname"] == "Bob"
    # Thin events cost one fetch for the batch; events that carried their record none.
    assert h.connector.fetch_calls == [["c2", "c3"]]
    # c3 is gone without a word of deletion: skipped, and its event done all the same.
    assert summary.get("webhook.gone") == 1
    assert summary.get("inbound.created") == 2
    assert h.store.inbox_depth(SYNC) == 0
    rows = h.store.inbox_list(sync=SYNC)
    assert {r.state for r in rows} == {"done"}
    assert all(r.applied_at is not None for r in rows)
    run = h.store.list_sync_runs(SYNC)[0]
    assert run.status == "ok"
    assert run.summary["webhook.applied"] == 3


def test_a_drain_with_nothing_pending_does_nothing_and_records_no_run(h: Harness) -> None:
    summary = h.drain()
    assert summary.crm_writes == 0
    assert h.store.list_sync_runs(SYNC) == []
    assert h.connector.fetch_calls == []


def test_the_latest_event_of_a_record_wins(h: Harness) -> None:
    h.add(full("c1", "ada@x.io", "Ada"), full("c1", "ada@x.io", "Augusta"))
    h.drain()
    assert h.contact("ada@x.io")["firstname"] == "Augusta"
    assert h.created_log("c1") == 1


def test_batches_are_limited_and_all_drained(h: Harness) -> None:
    for i in range(7):
        serve(h, f"t{i}", f"t{i}@x.io", f"T{i}")
    h.add(*(thin(f"t{i}") for i in range(7)))
    summary = h.drain(limit=3)
    assert [len(c) for c in h.connector.fetch_calls] == [3, 3, 1]
    assert summary.get("webhook.applied") == 7
    assert h.store.inbox_depth() == 0


# ------------------------------------------------------------------ exactly once


def test_a_second_drain_and_a_repeated_delivery_apply_nothing_again(h: Harness) -> None:
    assert h.add(full("c1", "ada@x.io", "Ada"), delivery="d-1") == 1
    h.drain()
    # The sender retries the same delivery after we applied it: stored once, applied once.
    assert h.add(full("c1", "ada@x.io", "Ada"), delivery="d-1") == 0
    h.store.update_record(
        "contacts",
        h.store.find_record("contacts", "email", "ada@x.io").id,
        {"firstname": "Edited in the CRM"},
        UI,
    )
    second = h.drain()
    assert second.crm_writes == 0
    assert h.contact("ada@x.io")["firstname"] == "Edited in the CRM"
    assert h.created_log("c1") == 1
    assert len(h.store.inbox_list()) == 1


def test_a_failed_batch_rolls_back_leaves_events_pending_and_applies_once_later(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(h, "c2", "bob@x.io", "Bob")
    h.add(full("c1", "ada@x.io", "Ada"), thin("c2"))
    real = apply_page

    def apply_then_fail(ctx: Any, tx: SyncTx, *args: Any, **kwargs: Any) -> int:
        real(ctx, tx, *args, **kwargs)  # the CRM writes happen, then the batch fails
        raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(APPLY_PAGE, apply_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        h.drain()
    assert h.store.get_records("contacts", list(range(1, 100))) == {}
    rows = h.store.inbox_list()
    assert [(r.state, r.attempts) for r in rows] == [("pending", 1), ("pending", 1)]
    assert all("injected" in (r.last_error or "") for r in rows)
    assert h.store.list_sync_runs(SYNC)[0].status == "failed"

    monkeypatch.setattr(APPLY_PAGE, real)
    h.drain()
    h.drain()
    assert h.contact("ada@x.io")["firstname"] == "Ada"
    assert h.contact("bob@x.io")["firstname"] == "Bob"
    assert h.created_log("c1") == h.created_log("c2") == 1
    assert {r.state for r in h.store.inbox_list()} == {"done"}


def test_an_event_that_keeps_failing_is_set_aside_after_five_attempts(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h.add(full("c1", "ada@x.io", "Ada"))

    def broken(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("poison event (injected)")

    monkeypatch.setattr(APPLY_PAGE, broken)
    for attempt in range(1, 6):
        with pytest.raises(RuntimeError):
            h.drain()
        assert h.store.inbox_list()[0].attempts == attempt
    (row,) = h.store.inbox_list()
    assert row.state == "failed"
    assert h.store.inbox_depth() == 0
    assert h.store.inbox_list(state="failed")[0].last_error is not None
    # Set aside: the next drain neither fails on it nor applies it.
    assert h.drain().crm_writes == 0


def test_a_retriable_fetch_failure_counts_no_attempt(h: Harness) -> None:
    h.add(thin("c1"))
    h.connector.fail_fetch = TransientError("shop is down (503)")
    with pytest.raises(ConnectorError):
        h.drain()
    (row,) = h.store.inbox_list()
    assert (row.state, row.attempts) == ("pending", 0)

    h.connector.fail_fetch = ConnectorError("shop answered 405 to the read")
    with pytest.raises(ConnectorError):
        h.drain()
    assert h.store.inbox_list()[0].attempts == 1


def test_refused_credentials_pause_the_sync_and_leave_the_events_pending(h: Harness) -> None:
    h.add(thin("c1"))
    h.connector.fail_fetch = AuthError("shop refused the token (401)")
    summary = h.drain()
    assert summary.paused_reason and "shop refused the token" in summary.paused_reason
    state = h.store.sync_state(h.spec.name)
    assert state.paused and "refused the credentials" in (state.paused_reason or "")
    (row,) = h.store.inbox_list()
    assert (row.state, row.attempts) == ("pending", 0)  # not the events' fault
    with pytest.raises(SyncPaused):
        h.drain()


# ------------------------------------------------------------------ deletes


def test_a_deleted_event_applies_the_delete_rule(h: Harness) -> None:
    # Enough linked records that one delete stays under the mass-delete brake's 20 %.
    others = [full(f"o{i}", f"o{i}@x.io", "O") for i in range(8)]
    h.add(full("c1", "ada@x.io", "Ada"), full("c2", "bob@x.io", "Bob"), *others)
    h.drain()
    ada = h.store.find_record("contacts", "email", "ada@x.io").id
    # Thin events for records the external side no longer has: only the one that says
    # "deleted" deletes; the other is skipped as gone.
    summary_events = (thin("c1", deleted=True), thin("c2"), thin("c9", deleted=True))
    h.add(*summary_events)
    summary = h.drain()
    assert h.store.get_record("contacts", ada, include_archived=True).archived
    assert h.contact("bob@x.io")["firstname"] == "Bob"
    assert summary.get("inbound.archived") == 1
    assert summary.get("inbound.ignored_deletes") == 1
    assert summary.get("webhook.gone") == 1
    assert h.store.sync_log(sync=SYNC, external_id="c1")[-1].action == LogAction.ARCHIVED.value


def test_a_delete_storm_pauses_the_sync_and_keeps_the_events(store: Store, tmp_path: Path) -> None:
    h = Harness(store, tmp_path)
    h.add(*(full(f"c{i}", f"c{i}@x.io", "X") for i in range(10)))
    h.drain()
    h.add(*(thin(f"c{i}", deleted=True) for i in range(10)))
    summary = h.drain()
    assert summary.paused_reason is not None
    assert h.store.inbox_depth() == 10
    assert h.store.sync_state(SYNC).paused
    with pytest.raises(SyncPaused):
        h.drain()


# ------------------------------------------------------------------ concurrency


def test_two_concurrent_drainers_never_apply_an_event_twice(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 120
    for i in range(count):
        serve(h, f"c{i}", f"c{i}@x.io", f"N{i}")
    h.add(*(thin(f"c{i}") for i in range(count)))
    original = h.connector.fetch_by_ids

    def slow_fetch(external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        time.sleep(0.01)  # widen the window between a worker's peek and its claim
        return original(external_object, ids)

    monkeypatch.setattr(h.connector, "fetch_by_ids", slow_fetch)
    summaries: list[RunSummary] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            summaries.append(h.drain(limit=10))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    leftover = h.drain()  # a worker may stop early while the other holds rows
    applied = sum(s.get("webhook.applied") for s in [*summaries, leftover])
    assert applied == count
    assert h.store.inbox_depth() == 0
    assert all(h.created_log(f"c{i}") == 1 for i in range(count))
    assert len(h.store.list_records("contacts", limit=1000)) == count


# ------------------------------------------------------------------ end to end


def test_a_webhook_received_over_http_is_applied_once_by_the_worker(h: Harness) -> None:
    serve(h, "c2", "bob@x.io", "Bob")
    now = datetime.now(UTC)
    client = AsgiClient(
        create_app(h.config, h.store, connectors={"shop": h.connector}, clock=lambda: now)
    )
    options = getattr(h.config.connectors["shop"].options, "webhook", None)
    assert isinstance(options, WebhookOptions)
    payload = body(
        {"object": "customers", "id": "c1", "record": {"email": "ada@x.io", "first_name": "Ada"}},
        {"object": "customers", "id": "c2"},
    )
    url = "http://testserver/webhooks/shop"
    headers = {**sign(options, method="POST", url=url, body=payload, now=now), "X-Delivery": "d"}
    for _ in range(3):  # the sender retries: we answered too slowly, it thinks
        assert client.post("/webhooks/shop", content=payload, headers=headers).status_code == 200
    assert h.store.inbox_depth(SYNC) == 2
    h.drain()
    h.drain()
    assert h.contact("ada@x.io")["firstname"] == "Ada"
    assert h.contact("bob@x.io")["firstname"] == "Bob"
    assert h.created_log("c1") == h.created_log("c2") == 1
