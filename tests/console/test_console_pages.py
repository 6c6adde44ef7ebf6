"""Every console page and action, over a real server, on SQLite and PostgreSQL: what an
operator sees, and that each action does what its CLI command does."""

from __future__ import annotations

import time

import httpx

from store import LogAction, LogDirection, LogSpec
from tests.console._world import SYNC, XSS_ERROR, XSS_NAME, World, csrf_of, sign_in

PAGES = (
    "/console/",
    f"/console/syncs/{SYNC}",
    "/console/conflicts",
    "/console/conflicts?state=settled",
    "/console/errors",
)


def _wait_for_a_finished_run(world: World, before: int) -> None:
    """The console's pass runs on a thread of its own: wait until its run is recorded done
    (a test must not end, closing the store, under a pass still writing)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = world.store.list_sync_runs(SYNC)
        if len(runs) > before and runs[0].status != "running":
            time.sleep(0.2)  # the thread closes its connector after the run is recorded
            return
        time.sleep(0.1)
    raise AssertionError("the console's pass did not finish in 30 s")


def _record_page(world: World) -> str:
    return f"/console/records/contacts/{world.ada_id}"


def test_every_page_answers_and_shows_its_facts(url: str, world: World) -> None:
    with sign_in(url, world.write_token) as client:
        pages = {path: client.get(path) for path in (*PAGES, _record_page(world))}
    for path, page in pages.items():
        assert page.status_code == 200, (path, page.text[:500])
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert "<h1" in page.text and 'lang="en"' in page.text
    overview = pages["/console/"].text
    assert SYNC in overview and "failing" in overview  # parked errors make it failing
    assert "<svg" in overview and "records in and" in overview  # the 24 h chart
    assert "daemon not running" in overview
    assert '<meta http-equiv="refresh" content="30">' in overview  # live, without script
    assert all(
        'http-equiv="refresh"' not in p.text for path, p in pages.items() if path != "/console/"
    )
    sync = pages[f"/console/syncs/{SYNC}"].text
    assert "inbound.created: 2" in sync  # the first run's summary
    assert "conflict" in sync and "Pause" in sync and "Run now" in sync
    conflicts = pages["/console/conflicts"].text
    assert "CRM-Ada" in conflicts and "Shop-Ada" in conflicts
    assert "CRM_UI test-user" in conflicts  # who wrote the CRM side
    assert "Keep the CRM value" in conflicts
    errors = pages["/console/errors"].text
    assert "HTTP 409 from shop: &lt;email&gt; taken" in errors  # grouped by cause
    assert "Retry all 1" in errors and "external ext-77" in errors
    record = pages[_record_page(world)].text
    assert "CRM-Ada" in record and "ada@x.io" in record
    assert "INTEGRATION shop-customers" in record  # history names the sync as writer
    assert "held for an operator" in record  # the trace tells the conflict


def test_values_from_outside_are_shown_as_text(url: str, world: World) -> None:
    with sign_in(url, world.write_token) as client:
        record = client.get(_record_page(world)).text
        errors = client.get("/console/errors").text
        sync = client.get(f"/console/syncs/{SYNC}").text
    assert "<script>alert" not in record + errors + sync
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;Ada" in record  # history of firstname
    assert "<img src=x onerror" not in errors
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in errors
    assert XSS_NAME not in record and XSS_ERROR not in errors


def test_no_page_shows_a_token(url: str, world: World) -> None:
    with sign_in(url, world.write_token) as client:
        cookie = client.cookies.get("syncd_console")
        texts = [client.get(path).text for path in (*PAGES, _record_page(world))]
    assert cookie and world.write_token not in cookie and world.write_token[6:] not in cookie
    for text in texts:
        assert world.write_token not in text and world.read_token not in text
        assert "syncd_" + world.write_token[6:12] not in text  # not even its prefix


def test_pause_with_a_reason_then_resume(url: str, world: World) -> None:
    path = f"/console/syncs/{SYNC}"
    with sign_in(url, world.write_token) as client:
        csrf = csrf_of(client.get(path).text)
        paused = client.post(f"{path}/pause", data={"csrf": csrf, "reason": "shop <migration>"})
        assert paused.status_code == 303 and paused.headers["location"] == f"{path}?done=paused"
        state = world.store.sync_state(SYNC)
        assert state.paused and "shop <migration>" in (state.paused_reason or "")
        assert "console console-writer" in (state.paused_reason or "")
        shown = client.get(f"{path}?done=paused").text
        assert "Paused." in shown and "Resume" in shown and "shop &lt;migration&gt;" in shown
        resumed = client.post(f"{path}/resume", data={"csrf": csrf})
        assert resumed.status_code == 303
    assert not world.store.sync_state(SYNC).paused


def test_resolve_by_taking_a_side(url: str, world: World) -> None:
    with sign_in(url, world.write_token) as client:
        csrf = csrf_of(client.get("/console/conflicts").text)
        answer = client.post(
            f"/console/conflicts/{world.conflict_id}/resolve",
            data={"csrf": csrf, "take": "external"},
        )
        assert answer.status_code == 303, answer.text
        again = client.post(
            f"/console/conflicts/{world.conflict_id}/resolve", data={"csrf": csrf, "take": "crm"}
        )
        settled = client.get("/console/conflicts?state=settled").text
    assert again.status_code == 409 and "settled already" in again.text
    conflict = world.store.get_conflict(world.conflict_id)
    assert not conflict.open and conflict.resolved_value == "Shop-Ada"
    ada = world.store.get_record("contacts", world.ada_id)
    assert ada.properties["firstname"] == "Shop-Ada"
    history = world.store.property_history("contacts", world.ada_id, "firstname")
    newest = max(history, key=lambda h: h.timestamp)
    assert newest.source_id == "console:console-writer"  # the operator wrote it
    assert f"Conflict {world.conflict_id}" in settled and "resolved" in settled


def test_resolve_with_a_typed_value_then_the_pass_carries_it_out(url: str, world: World) -> None:
    with sign_in(url, world.write_token) as client:
        csrf = csrf_of(client.get("/console/conflicts").text)
        answer = client.post(
            f"/console/conflicts/{world.conflict_id}/resolve",
            data={"csrf": csrf, "value": "Ada <typed>"},
        )
        assert answer.status_code == 303
        trace = client.get(_record_page(world)).text
    assert world.store.get_record("contacts", world.ada_id).properties["firstname"] == "Ada <typed>"
    assert "conflict resolved" in trace and "Ada &lt;typed&gt;" in trace
    world.run_pass()
    with world.shop.connect() as conn:
        names = {r.first_name for r in conn.exec_driver_sql("select first_name from customers")}
    assert "Ada <typed>" in names


def test_retry_one_record_and_a_group(url: str, world: World) -> None:
    store = world.store
    with sign_in(url, world.write_token) as client:
        csrf = csrf_of(client.get("/console/errors").text)
        one = client.post(
            "/console/errors/retry", data={"csrf": csrf, "sync": SYNC, "crm_id": str(world.bob_id)}
        )
        assert one.status_code == 303 and one.headers["location"].endswith("done=retried")
        assert store.outbox(SYNC, parked=True) == []
        group = client.post(
            "/console/errors/retry",
            data={
                "csrf": csrf,
                "sync": SYNC,
                "direction": "inbound",
                "cause": 'refused: <img src=x onerror="alert(<n>)"> is not an e-mail',
            },
        )
        assert group.status_code == 303 and group.headers["location"].endswith("done=retried")
        gone = client.post(
            "/console/errors/retry",
            data={"csrf": csrf, "sync": SYNC, "direction": "inbound", "cause": "no such cause"},
        )
        assert gone.headers["location"].endswith("done=nothing")
        page = client.get("/console/errors").text
    assert all(e.retry_requested for e in store.inbound_errors(SYNC))
    assert "No parked errors." in page


def test_run_now_records_a_run(url: str, world: World) -> None:
    before = len(world.store.list_sync_runs(SYNC))
    with sign_in(url, world.write_token) as client:
        csrf = csrf_of(client.get(f"/console/syncs/{SYNC}").text)
        answer = client.post(f"/console/syncs/{SYNC}/run", data={"csrf": csrf})
        assert answer.status_code == 303 and answer.headers["location"].endswith("done=started")
        _wait_for_a_finished_run(world, before)
        refused = client.post(f"/console/syncs/{SYNC}/confirm-brake", data={"csrf": csrf})
    assert len(world.store.list_sync_runs(SYNC)) == before + 1
    assert world.store.list_sync_runs(SYNC)[0].status == "ok"
    assert refused.status_code == 400 and "not stopped by the mass-delete brake" in refused.text


def test_confirm_a_tripped_brake_runs_without_it(url: str, world: World) -> None:
    reason = "this run would archive 2 CRM records of 2 linked; then run `syncd sync shop-customers --allow-deletes`"
    world.store.set_sync_paused(SYNC, True, reason)
    with sign_in(url, world.write_token) as client:
        page = client.get(f"/console/syncs/{SYNC}").text
        assert "Confirm the deletes and run" in page
        answer = client.post(f"/console/syncs/{SYNC}/confirm-brake", data={"csrf": csrf_of(page)})
        assert answer.status_code == 303
    _wait_for_a_finished_run(world, before=2)
    assert not world.store.sync_state(SYNC).paused  # as `syncd sync --allow-deletes`


def test_sync_log_filters_and_pages(url: str, world: World) -> None:
    rows = [
        LogSpec(LogDirection.OUTBOUND, LogAction.UPDATED, crm_id=world.bob_id, external_id=f"e{i}")
        for i in range(120)
    ]
    world.store.sync_write(SYNC, lambda tx: tx.log("contacts", rows))
    path = f"/console/syncs/{SYNC}"
    with sign_in(url, world.write_token) as client:
        first = client.get(f"{path}?direction=outbound&action=updated").text
        assert first.count("<td>outbound</td>") == 50 and "Older rows" in first
        older = first.split('href="?')[-1].split('"')[0].replace("&amp;", "&")
        second = client.get(f"{path}?{older}").text
        assert second.count("<td>outbound</td>") == 50 and "Newest" in second
        inbound = client.get(f"{path}?direction=inbound").text
        assert "<td>outbound</td>" not in inbound and "<td>inbound</td>" in inbound
        record = client.get(f"{path}?record={world.ada_id}").text
        assert "<td>outbound</td>" not in record
        future = client.get(f"{path}?since=2999-01-01T00:00").text
        assert "No log rows match." in future
        bad = client.get(f"{path}?direction=sideways")
        worse = client.get(f"{path}?since=yesterday")
        worst = client.get(f"{path}?before=1e9")
    assert bad.status_code == 400 and "direction must be one of" in bad.text
    assert worse.status_code == 400 and "is not a time" in worse.text
    assert worst.status_code == 400


def test_unknown_things_are_404(url: str, world: World) -> None:
    with sign_in(url, world.write_token) as client:
        answers = [
            client.get("/console/syncs/nope"),
            client.get("/console/records/contacts/999999"),
            client.get("/console/records/nothings/1"),
            client.get("/console/nowhere"),
            client.post(
                "/console/conflicts/999999/resolve",
                data={"csrf": csrf_of(client.get("/console/").text), "take": "crm"},
            ),
        ]
    assert [a.status_code for a in answers] == [404] * 5


def test_open_a_record_from_the_overview(url: str, world: World) -> None:
    with sign_in(url, world.write_token) as client:
        found = client.get(f"/console/records?object=contacts&id={world.ada_id}")
        bad = client.get("/console/records?object=contacts&id=abc")
    assert found.status_code == 303
    assert found.headers["location"] == f"/console/records/contacts/{world.ada_id}"
    assert bad.status_code == 400


def test_a_bearer_token_works_for_scripts(url: str, world: World) -> None:
    headers = {"Authorization": f"Bearer {world.write_token}"}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        page = client.get("/console/")
        paused = client.post(f"/console/syncs/{SYNC}/pause", data={"reason": "script"})
    assert page.status_code == 200 and SYNC in page.text
    assert paused.status_code == 303  # no browser, no CSRF to forge
    assert world.store.sync_state(SYNC).paused
