"""Run now and confirm a mass-delete brake from the console: ``syncd sync NAME
[--allow-deletes]``, started on a thread of its own.

The pass is the CLI's: the sync's spec and a connector built from the configuration in
force, ``run_sync`` under the sync's lease (asked of the daemon, which hands it over between
passes, as it does for ``syncd sync``), the connector closed at the end. The request that
started it answers at once; the run shows on the sync's page when it is recorded. One
console pass per sync at a time.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable

import structlog

from config.models import Config
from store import Store
from syncd.engine import SyncPaused, build_connector, build_spec, run_sync
from syncd.errors import UsageError
from syncd.lease import sync_lease

__all__ = ["PassStarter", "console_holder"]

log = structlog.get_logger("syncd.console")

#: How long a console pass or resolution waits for the daemon to hand a sync over.
LEASE_WAIT_SECONDS = 30.0


def console_holder() -> str:
    """The console's name in the lease table: ``console:<host>:<pid>``."""
    return f"console:{socket.gethostname()}:{os.getpid()}"


class PassStarter:
    """Starts passes on threads; remembers which syncs have one in hand."""

    def __init__(self, store: Store, config: Callable[[], Config]) -> None:
        self.store = store
        self.config = config
        self._running: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def running(self, sync: str) -> bool:
        with self._lock:
            thread = self._running.get(sync)
            return thread is not None and thread.is_alive()

    def start(self, sync: str, *, allow_deletes: bool, by: str) -> threading.Thread:
        """Start a pass of ``sync``; UsageError when it is unknown or one is in hand."""
        config = self.config()
        sync_config = config.syncs.get(sync)
        if sync_config is None:
            raise UsageError(f"no sync named {sync!r} in the configuration")
        with self._lock:
            thread = self._running.get(sync)
            if thread is not None and thread.is_alive():
                raise UsageError(f"a pass of {sync} started from the console is still running")
            thread = threading.Thread(
                target=self._run,
                args=(config, sync, allow_deletes, by),
                name=f"console-pass:{sync}",
                daemon=True,
            )
            self._running[sync] = thread
        thread.start()
        return thread

    def _run(self, config: Config, sync: str, allow_deletes: bool, by: str) -> None:
        sync_config = config.syncs[sync]
        try:
            spec = build_spec(config, sync_config)
            connector = build_connector(config, sync_config.connector)
        except Exception as exc:
            log.error("console_pass_failed", sync=sync, error=str(exc).splitlines()[0])
            return
        try:
            with sync_lease(
                self.store,
                config.store_url,
                sync,
                wait=LEASE_WAIT_SECONDS,
                holder=console_holder(),
            ) as leased:
                summary = run_sync(spec, connector, leased, allow_deletes=allow_deletes)
            log.info(
                "console_pass_finished", sync=sync, by=by, allow_deletes=allow_deletes,
                line=summary.line(),
            )  # fmt: skip
        except SyncPaused as exc:
            log.info("console_pass_paused", sync=sync, reason=str(exc))
        except Exception as exc:
            log.error(
                "console_pass_failed",
                sync=sync,
                error=str(exc).splitlines()[0],
                error_type=type(exc).__name__,
            )
        finally:
            connector.close()
