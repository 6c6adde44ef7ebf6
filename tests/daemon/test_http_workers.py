"""``server.workers: 2``: the daemon serves HTTP in two processes on one socket.

Each process accepts connections; through both at once the API loses no write; the shop sync
keeps running on its schedule, one pass at a time (the worker runs none), and converges;
``/metrics`` and ``/readyz`` answer whichever process accepts; SIGTERM stops the worker with
the daemon.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from store import Store
from store.db import tables as t
from tests.daemon._harness import (
    DaemonProcess,
    Shop,
    assert_converged,
    people,
    sync_yaml,
    write_config,
)

CLIENTS, EACH = 10, 8


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _server_side(port: int) -> dict[str, str]:
    """inode -> remote address of every established connection accepted on ``port``."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                found[inode] = remote
    return found


def _serving_pids(port: int, pids: list[int]) -> set[int]:
    """The processes among ``pids`` holding an accepted connection on ``port`` now."""
    accepted = _server_side(port)
    return {pid for pid in pids if _socket_inodes(pid) & set(accepted)}


async def _write_through_all(url: str, token: str) -> dict[str, str]:
    """``CLIENTS`` clients on connections of their own create and update contacts."""
    headers = {"Authorization": f"Bearer {token}"}

    async def client(index: int) -> dict[str, str]:
        acked = {}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
            for serial in range(EACH):
                email = f"w{index}-{serial}@workers.example"
                made = await http.post(
                    "/crm/v3/objects/contacts",
                    json={"properties": {"email": email, "firstname": "first"}},
                )
                assert made.status_code == 201, made.text
                changed = await http.patch(
                    f"/crm/v3/objects/contacts/{made.json()['id']}",
                    json={"properties": {"firstname": f"last-{serial}"}},
                )
                assert changed.status_code == 200, changed.text
                acked[email] = f"last-{serial}"
        return acked

    results = await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return {email: value for acked in results for email, value in acked.items()}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_http_processes_lose_no_write_and_the_sync_runs_in_one(
    request: pytest.FixtureRequest,
    database: str,
    tmp_path: Path,
    daemons: object,
    sqlite_shop: tuple[str, Engine],
) -> None:
    store_url = request.getfixturevalue(
        f"{'pg' if database == 'postgresql' else 'sqlite'}_store_url"
    )
    shop_url, shop_engine = sqlite_shop
    shop = Shop.create(shop_engine, "customers")
    shop.add_many(people("shop-", 5))
    config = write_config(
        tmp_path / "syncd.yaml",
        store_url=store_url,
        shop_url=shop_url,
        tables=["customers"],
        syncs=[sync_yaml("customers", "customers", every=0.5)],
    )
    config.write_text(config.read_text() + "server: {workers: 2}\n")
    with Store.open(store_url) as store:
        token = str(store.create_api_token("workers", ("write",))[1])
    daemon: DaemonProcess = daemons(config, "main")  # type: ignore[operator]
    daemon.start()
    daemon.wait_started(60)
    workers = [p for p in _children(daemon.pid) if _socket_inodes(p)]
    url = f"http://127.0.0.1:{daemon.port}"

    # New connections until each process has accepted one: the kernel hands them out.
    seen: set[int] = set()
    held: list[httpx.Client] = []
    try:
        for _ in range(200):
            client = httpx.Client(base_url=url, timeout=30)
            held.append(client)
            assert client.get("/healthz").status_code == 200
            seen |= _serving_pids(daemon.port, [daemon.pid, *workers])
            if len(seen) >= 2:
                break
    finally:
        for client in held:
            client.close()
    assert daemon.pid in seen and len(seen) == 2, (seen, daemon.pid, workers)

    acked = asyncio.run(_write_through_all(url, token))
    metrics = httpx.get(f"{url}/metrics", timeout=30)
    assert metrics.status_code == 200 and b"syncd_" in metrics.content
    assert httpx.get(f"{url}/readyz", timeout=30).json() == {"status": "ready"}
    daemon.wait_quiet(["customers"], timeout=60)
    code, _seconds = daemon.terminate(30)
    assert code == 0, daemon.stderr()[-3000:]
    assert not [p for p in workers if Path(f"/proc/{p}").exists()], "a worker outlived the daemon"

    with Store.open(store_url) as store:
        stored = {
            r.properties["email"]: r.properties.get("firstname")
            for r in store.list_records("contacts", limit=1000)
            if str(r.properties.get("email", "")).endswith("@workers.example")
        }
        assert stored == acked  # none lost, none extra, each with its last acknowledged value
        with store._engine.connect() as conn:
            runs = conn.execute(
                select(t.sync_runs.c.started_at, t.sync_runs.c.finished_at)
                .where(t.sync_runs.c.sync == "customers")
                .order_by(t.sync_runs.c.started_at)
            ).all()
        # The API's contacts went out to the shop too: both sides agree on everyone.
        assert_converged(store, shop, "customers", expected=len(shop.rows()))
    assert len(runs) >= 2, "the sync did not run on its schedule"
    for before, after in itertools.pairwise(runs):
        assert before.finished_at is not None and before.finished_at <= after.started_at, (
            "two passes of one sync overlapped"
        )
    started = [e for e in daemon.all_events() if e["event"] == "sync_started"]
    assert len(started) == len(runs)  # each pass the scheduler started, and no other
