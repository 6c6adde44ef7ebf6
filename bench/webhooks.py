"""Measurement 6: signed webhooks into a real server while a worker applies them.

A child process serves ``syncd.http.app.create_app`` with uvicorn on 127.0.0.1 (as the daemon
does: the HTTP server in a thread) and runs an inbox worker beside it at the daemon's cadence:
``drain_inbox`` every ``--worker-poll`` seconds (default 1 s, the daemon's
``inbox_every_seconds``), so time-to-applied includes up to one tick of waiting.
This process is the sender: an httpx ``AsyncClient`` posts one event per request, each a new
contact with 20 properties (~1.3 KB), signed ``hmac-sha256-hex`` with a timestamp header, at
a fixed rate.

Phases: a 3 s warm-up at 50/s (not reported); 100/s for the configured duration; then short probes doubling the rate from 200/s
(and one step between the last good and the first bad) find the highest rate that has no
error and that the server keeps up with (answers at >= 90% of the offered rate); that rate
then runs for the configured duration. Between phases the worker drains the inbox.

Time to 2xx: from just before the request is sent to its answer. Time to applied: from the
same moment to the commit of the worker transaction that applied the event (the child stamps
each inbox id when ``sync_write`` returns; both clocks are this machine's wall clock).

Run: ``.venv/bin/python bench/webhooks.py [--seconds 60] [--probe-seconds 5] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a script

from bench._common import (
    PROPERTIES,
    RESULTS,
    db_label,
    open_store,
    print_table,
    quiet,
    row_values,
    scratch_url,
    verdict,
    write_json,
)
from connectors.webhooks import WebhookOptions, sign
from store import Store

SECRET = "whsec-bench-0123456789abcdef"
SYNC = "bench"
TARGET_P99_MS = 100.0
BASE_RATE = 100
FIRST_PROBE = 200
WARM_UP_SECONDS = 3.0
#: Seconds between two drains of the inbox: the daemon's default ``inbox_every_seconds``.
WORKER_POLL = 1.0
MAX_PROBE = 6_400
COLUMNS = [
    "database",
    "phase",
    "rate",
    "seconds",
    "sent",
    "errors",
    "answered_s",
    "p50_2xx_ms",
    "p99_2xx_ms",
    "applied",
    "p50_applied_ms",
    "p99_applied_ms",
    "target",
    "verdict",
]

CONFIG = """
connectors:
  shop:
    type: rest
    base_url: "http://127.0.0.1:9"
    webhook:
      secret: "%(secret)s"
      signature: hmac-sha256-hex
      header: X-Signature
      timestamp_header: X-Timestamp
      delivery_id_header: X-Delivery
    objects:
      customers: {path: /customers}
syncs:
  %(sync)s:
    connector: shop
    external_object: customers
    crm_object: contacts
    match: {crm: email, external: email}
    conflict: crm_wins
    fields:
%(fields)s
"""

OPTIONS = WebhookOptions.model_validate(
    {"secret": SECRET, "header": "X-Signature", "timestamp_header": "X-Timestamp"}
)


def _config_text() -> str:
    fields = "\n".join(
        f"      - {{crm: {p}, external: {p}" + (", transform: lowercase}" if p == "email" else "}")
        for p in PROPERTIES
    )
    return CONFIG % {"secret": SECRET, "sync": SYNC, "fields": fields}


# ---------------------------------------------------------------- the server process


def child(store_url: str, config_path: str, applied_path: str, poll_text: str) -> None:
    """Serve and apply until a line arrives on stdin; then write {inbox id: applied time}."""
    from config.load import load_config
    from store import SyncTx
    from syncd.engine import build_connector, build_spec
    from syncd.engine.events import drain_inbox
    from syncd.http.app import create_app
    from syncd.http.workers import make_server

    poll = float(poll_text)
    config = load_config(Path(config_path))
    sync = build_spec(config, config.syncs[SYNC])
    shop = build_connector(config, "shop")
    http_store = Store.open(store_url)
    worker_store = Store.open(store_url)

    applied: dict[int, float] = {}
    pending: list[int] = []
    finish = SyncTx.finish_inbox

    def noted_finish(self: SyncTx, ids: Sequence[int]) -> None:
        pending.extend(ids)
        finish(self, ids)

    SyncTx.finish_inbox = noted_finish  # type: ignore[method-assign]
    write = worker_store.sync_write

    def timed_write(name: str, work: Any, *, run_id: int | None = None) -> Any:
        pending.clear()
        result = write(name, work, run_id=run_id)
        now = time.time()
        for entry_id in pending:
            applied[entry_id] = now
        pending.clear()
        return result

    worker_store.sync_write = timed_write  # type: ignore[method-assign, assignment]

    stop = threading.Event()
    failures: list[str] = []

    def work() -> None:
        # The daemon's cadence: a drain every ``poll`` seconds, at once if one ran longer.
        while not stop.is_set():
            began = time.monotonic()
            try:
                drain_inbox(sync, shop, worker_store)
            except Exception as exc:  # noted and retried, as the daemon's tick would
                failures.append(f"{type(exc).__name__}: {exc}")
            stop.wait(max(0.0, poll - (time.monotonic() - began)))

    # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says
    # TCP, and without it every keep-alive answer waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    app = create_app(config, http_store, connectors={"shop": shop})
    # As the daemon builds its server: its requests run ``server.threads`` at once.
    server = make_server(
        app,
        threads=config.server_threads,
        log_level="warning",
        access_log=False,
        backlog=4096,
    )
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    serving.start()
    worker = threading.Thread(target=work, name="inbox-worker", daemon=True)
    worker.start()
    for _ in range(1000):
        if server.started:
            break
        time.sleep(0.01)
    print(f"ready {sock.getsockname()[1]}", flush=True)
    sys.stdin.readline()
    stop.set()
    worker.join(timeout=60)
    server.should_exit = True
    serving.join(timeout=10)
    Path(applied_path).write_text(json.dumps({"applied": applied, "failures": failures[:20]}))
    shop.close()
    http_store.close()
    worker_store.close()


# ---------------------------------------------------------------- the sender


@dataclass(frozen=True)
class Shot:
    delivery: str
    sent_wall: float
    seconds: float
    status: int | str


def _event(n: int) -> bytes:
    record = row_values(n, PROPERTIES, tag="w")
    record["updated_at"] = datetime.now(UTC).isoformat()
    return json.dumps({"object": "customers", "id": str(n), "record": record}).encode()


async def _shoot(client: httpx.AsyncClient, n: int) -> Shot:
    body = _event(n)
    headers = sign(OPTIONS, method="POST", url="/webhooks/shop", body=body, now=datetime.now(UTC))
    delivery = f"d-{n}"
    headers |= {"X-Delivery": delivery, "Content-Type": "application/json"}
    sent = time.time()
    started = time.perf_counter()
    status: int | str
    try:
        answer = await client.post("/webhooks/shop", content=body, headers=headers)
        status = answer.status_code
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    return Shot(delivery, sent, time.perf_counter() - started, status)


async def _phase(url: str, rate: float, seconds: float, first: int) -> tuple[list[Shot], float]:
    """``rate`` requests a second for ``seconds``; returns the shots and the answered rate."""
    count = max(1, int(rate * seconds))
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:
        loop = asyncio.get_running_loop()
        began = loop.time()
        tasks: list[asyncio.Task[Shot]] = []
        for k in range(count):
            delay = began + k / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_shoot(client, first + k)))
        shots = await asyncio.gather(*tasks)
        took = loop.time() - began
    return list(shots), count / took


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _errors(shots: Sequence[Shot]) -> int:
    return sum(1 for s in shots if s.status != 200)


class _Server:
    """The child process: started, told to stop, its applied times read back."""

    def __init__(self, store_url: str, tmp: Path, poll: float) -> None:
        config = tmp / "syncd.yaml"
        config.write_text(_config_text())
        self.applied_path = tmp / "applied.json"
        self.errors_path = tmp / "server.err"
        with self.errors_path.open("w") as errors:
            # stderr to a file: a pipe nobody reads would stall a chatty server.
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    store_url,
                    str(config),
                    str(self.applied_path),
                    str(poll),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            self.proc.kill()
            raise RuntimeError(f"webhook server did not start:\n{self._tail()}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def _tail(self) -> str:
        return self.errors_path.read_text()[-3000:]

    def stop(self) -> tuple[dict[int, float], list[str]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=120)
        if self.proc.returncode != 0:
            raise RuntimeError(f"webhook server failed:\n{self._tail()}")
        data = json.loads(self.applied_path.read_text())
        self.proc.stdout.close() if self.proc.stdout else None
        return {int(k): v for k, v in data["applied"].items()}, list(data["failures"])


def _drain(store: Store, timeout: float) -> float:
    """Wait for the worker to empty the inbox; returns the seconds waited."""
    started = time.perf_counter()
    while store.inbox_depth(SYNC) > 0 and time.perf_counter() - started < timeout:
        time.sleep(0.1)
    return time.perf_counter() - started


def _applied_at(store: Store, stamps: dict[int, float]) -> dict[str, float]:
    """Delivery id -> applied wall time, through the inbox rows' ids."""
    out: dict[str, float] = {}
    after = 0
    while True:
        rows = store.inbox_list(sync=SYNC, after_id=after, limit=1000)
        if not rows:
            return out
        for row in rows:
            if row.delivery_id is not None and row.id in stamps:
                out[row.delivery_id] = stamps[row.id]
        after = rows[-1].id


def run(
    seconds: float, probe_seconds: float, postgres: str | None, poll: float = WORKER_POLL
) -> list[dict[str, Any]]:
    phases: list[tuple[str, float, list[Shot], float]] = []
    probes: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name, scratch_url(postgres, Path(tmp_name)) as url:
        tmp = Path(tmp_name)
        watcher = open_store(url)
        server = _Server(url, tmp, poll)
        drained: dict[str, float] = {}
        try:
            sent = 0

            def once(rate: float, length: float) -> tuple[list[Shot], float]:
                nonlocal sent
                shots, answered = asyncio.run(_phase(server.url, rate, length, sent))
                sent += len(shots)
                return shots, answered

            # Warm-up, not reported: connections, imports and first statements of a fresh
            # process would otherwise land on the first measured requests.
            once(BASE_RATE / 2, WARM_UP_SECONDS)
            _drain(watcher, 20 * WARM_UP_SECONDS)
            shots, answered = once(BASE_RATE, seconds)
            phases.append(("100/s", BASE_RATE, shots, answered))
            drained["100/s"] = _drain(watcher, 10 * seconds)

            def holds(rate: float) -> bool:
                shots, answered = once(rate, probe_seconds)
                ok = _errors(shots) == 0 and answered >= 0.9 * rate
                probes.append({"rate": rate, "errors": _errors(shots), "answered_s": answered})
                _drain(watcher, 20 * probe_seconds)
                return ok

            best, bad = float(BASE_RATE), None
            rate = float(FIRST_PROBE)
            while rate <= MAX_PROBE:
                if not holds(rate):
                    bad = rate
                    break
                best = rate
                rate *= 2
            if bad is not None and bad - best > BASE_RATE and holds((best + bad) / 2):
                best = (best + bad) / 2
            shots, answered = once(best, seconds)
            phases.append(("max", best, shots, answered))
            drained["max"] = _drain(watcher, 10 * seconds)
        finally:
            stamps, failures = server.stop()
        applied = _applied_at(watcher, stamps)
        watcher.close()
    results: list[dict[str, Any]] = []
    for name, rate, shots, answered in phases:
        ok = [s for s in shots if s.status == 200]
        to_2xx = [s.seconds * 1000 for s in ok]
        to_applied = [
            (applied[s.delivery] - s.sent_wall) * 1000 for s in ok if s.delivery in applied
        ]
        errors = _errors(shots)
        p99 = _pct(to_2xx, 0.99)
        is_base = name == "100/s"
        met = errors == 0 and (not is_base or (p99 is not None and p99 <= TARGET_P99_MS))
        results.append(
            {
                "database": db_label(postgres),
                "phase": name,
                "rate": round(rate),
                "seconds": seconds,
                "sent": len(shots),
                "errors": errors,
                "answered_s": round(answered),
                "p50_2xx_ms": _pct(to_2xx, 0.5),
                "p99_2xx_ms": p99,
                "applied": len(to_applied),
                "p50_applied_ms": _pct(to_applied, 0.5),
                "p99_applied_ms": _pct(to_applied, 0.99),
                "target": f"p99 2xx <= {TARGET_P99_MS:.0f} ms, 0 errors" if is_base else "0 errors",
                "verdict": verdict(met),
                "drain_s": round(drained.get(name, 0.0), 1),
                "statuses": _statuses(shots),
                "probes": probes if not is_base else None,
                "worker_failures": failures,
            }
        )
    return results


def _statuses(shots: Sequence[Shot]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for shot in shots:
        counts[str(shot.status)] = counts.get(str(shot.status), 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--probe-seconds", type=float, default=5.0)
    parser.add_argument("--postgres")
    parser.add_argument("--worker-poll", type=float, default=WORKER_POLL)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet()
    if args.child:
        child(*args.child)
        return
    results = run(args.seconds, args.probe_seconds, None, args.worker_poll)
    if args.postgres:
        results += run(args.seconds, args.probe_seconds, args.postgres, args.worker_poll)
    print_table("6. Webhook ingress while the worker applies", results, COLUMNS)
    write_json(RESULTS / "webhooks.json", results)


if __name__ == "__main__":
    main()
