"""Fifty concurrent API clients: no 5xx answer, no lost write, read-your-writes.

The workload is ``bench/api_load.py``'s (the benchmark runs it for a minute and measures it);
here it runs for ``SYNCD_API_LOAD_SECONDS`` seconds (8 by default) against the real server
fixture on SQLite and PostgreSQL and only its outcome is asserted, never its speed. The rate
limit is set far above what 50 clients send, so that this is a test of concurrency.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest

from bench.api_load import audit_store, run_load
from syncd.api import ApiSettings
from tests.api.conftest import Api

CLIENTS = 50
LOAD_SECONDS = float(os.environ.get("SYNCD_API_LOAD_SECONDS", "8"))


@pytest.fixture
def api_settings() -> ApiSettings:
    return ApiSettings(rate_limit_max=1_000_000_000)


def test_fifty_clients_get_no_5xx_and_lose_no_write(api: Api) -> None:
    run = run_load(api.url, api.token, clients=CLIENTS, seconds=LOAD_SECONDS)

    statuses = dict(run.statuses)
    assert run.server_errors == 0, (statuses, run.problems)
    assert run.no_answer == 0, run.problems
    assert not run.problems, run.problems  # only 201/200 answers, and reads saw the last write
    assert set(statuses) <= {200, 201}, statuses
    assert all(log.acked for log in run.logs)  # every client's first create was answered 201

    audit = audit_store(api.store, run)
    assert audit.acknowledged >= CLIENTS
    assert audit.lost == []
    assert audit.extra == []
    assert audit.stored == audit.acknowledged


async def _together(url: str, token: str, count: int, send: Any) -> list[httpx.Response]:
    """``count`` clients, each on its own connection, released at the same moment."""
    start = asyncio.Event()
    headers = {"Authorization": f"Bearer {token}"}

    async def one(index: int) -> httpx.Response:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
            await http.get("/openapi.json")  # the connection is open before the start
            await start.wait()
            response: httpx.Response = await send(http, index)
            return response

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    await asyncio.sleep(0.2)
    start.set()
    return list(await asyncio.gather(*tasks))


def test_fifty_racing_creates_of_one_email_have_one_winner(api: Api) -> None:
    async def create(http: httpx.AsyncClient, index: int) -> httpx.Response:
        body = {"properties": {"email": "Race@Example.com", "firstname": f"n{index}"}}
        return await http.post("/crm/v3/objects/contacts", json=body)

    answers = asyncio.run(_together(api.url, api.token, CLIENTS, create))

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] + [409] * (CLIENTS - 1), statuses
    winner = next(r.json() for r in answers if r.status_code == 201)
    for refused in (r for r in answers if r.status_code == 409):
        body = refused.json()
        assert body["category"] == "CONFLICT"
        assert f"Existing ID: {winner['id']}" in body["message"]
    stored = api.store.list_records("contacts")
    assert [str(r.id) for r in stored] == [winner["id"]]
    assert stored[0].properties["firstname"] == winner["properties"]["firstname"]


def test_fifty_racing_updates_of_one_record_are_all_kept_in_history(api: Api) -> None:
    made = api.client.post("/crm/v3/objects/contacts", json={"properties": {"email": "one@x.org"}})
    assert made.status_code == 201, made.text
    record_id = made.json()["id"]

    async def update(http: httpx.AsyncClient, index: int) -> httpx.Response:
        body = {"properties": {"firstname": f"writer-{index}"}}
        return await http.patch(f"/crm/v3/objects/contacts/{record_id}", json=body)

    answers = asyncio.run(_together(api.url, api.token, CLIENTS, update))

    assert [r.status_code for r in answers] == [200] * CLIENTS, [r.text for r in answers][:3]
    history = api.store.property_history("contacts", int(record_id), "firstname")
    written = sorted(h.value or "" for h in history)
    assert written == sorted(f"writer-{i}" for i in range(CLIENTS))  # none lost, none twice
    final = api.client.get(f"/crm/v3/objects/contacts/{record_id}?properties=firstname")
    assert final.json()["properties"]["firstname"] == history[0].value  # the last one stands
