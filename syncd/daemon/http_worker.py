"""One of the daemon's other HTTP processes (``server.workers`` > 1): the daemon's application
on the daemon's socket, with no scheduler, no sync and no lease (``syncd.http.workers``).

``/metrics`` and ``/readyz`` are the daemon's: a worker asks the daemon's process for them on
its loopback address, so a scrape or a probe gets the same answer whichever process accepts.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from config import load_config
from store import Store
from syncd.http.app import create_app
from syncd.http.balance import ConnectionSeat
from syncd.http.workers import serve_on

__all__ = ["WorkerSpec", "serve_worker"]


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs to build the daemon's application (it must pickle)."""

    config_path: str
    db_url: str
    #: ``http://127.0.0.1:PORT``: the daemon's own server, for ``/metrics`` and ``/readyz``.
    daemon_url: str
    metrics: bool
    #: Sets logging up as the daemon's process has it (the CLI's, handed down pickled).
    configure_logging: Callable[[], None] | None


def serve_worker(sock: socket.socket, started: Any, seat: ConnectionSeat, spec: WorkerSpec) -> None:
    """The worker process's main: serve until SIGTERM or until the daemon is gone."""
    if spec.configure_logging is not None:
        spec.configure_logging()
    config = load_config(Path(spec.config_path))
    store = Store.open(spec.db_url, migrate=False)
    daemon = httpx.Client(base_url=spec.daemon_url, timeout=10.0)

    def metrics() -> tuple[bytes, str]:
        answer = daemon.get("/metrics")
        return answer.content, answer.headers.get("content-type", "text/plain")

    def not_ready() -> str | None:
        try:
            answer = daemon.get("/readyz")
        except httpx.HTTPError:
            return "the daemon's process does not answer"
        if answer.status_code == 200:
            return None
        reason = answer.json().get("reason") if answer.content else None
        return str(reason or "not ready")

    app = create_app(config, store, metrics=metrics if spec.metrics else None, not_ready=not_ready)
    try:
        serve_on(app, [sock], started, seat, threads=config.server_threads)
    finally:
        daemon.close()
        store.close()
