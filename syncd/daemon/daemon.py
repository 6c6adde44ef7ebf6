"""``syncd run``: the process that keeps every sync going, day and night.

One process holds: an APScheduler scheduler with a job per sync (its interval or cron) and
the periodic jobs (inbox draining, delete reconciliation, log retention); the HTTP server
(webhooks, ``/healthz``, ``/readyz``, ``/metrics``) in a thread beside it; and a heartbeat
that renews the leases this process holds. With ``server.workers`` > 1 the HTTP server runs
in that many processes on one socket (``syncd.http.workers``); the others only serve HTTP.

Each sync runs under a lease in the database (``sync_leases``): a pass first takes or renews
it, and every transaction of the pass is fenced by its token, so two processes never both
commit work for one sync and one that lost its lease (paused, partitioned) commits nothing.
Leases are sticky — the holder keeps a sync while it lives — and move to another process
within the lease time when the holder dies. On SQLite a second daemon is refused.

At start (and on reload) each connector is asked whether it can do its syncs' work
(``Connector.check_object``: reachable, credentials accepted, the object there). A sync that
cannot is marked failing with the reason (a failed run, shown by ``syncd status``) and its
passes wait; each scheduled tick asks again and the sync runs once the answer is yes.

SIGTERM/SIGINT stop taking work; a pass in hand ends after the page or batch it is writing
(committed, or rolled back whole) and the process exits within ``STOP_SECONDS``; a pass stuck
on a slow peer past the deadline is abandoned (its transaction dies with the process, its
lease expires) rather than waited for. SIGHUP
re-reads the YAML and applies it when valid, keeping the old one otherwise.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog
import uvicorn
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

from config import load_config
from config.check import check_config
from config.models import Config, SyncConfig
from connectors.base import AuthError, Connector, ConnectorError
from connectors.http import HttpClients
from store import Fence, LeaseLostError, Store
from syncd.daemon.http_worker import WorkerSpec, serve_worker
from syncd.daemon.process_lock import ProcessLock
from syncd.engine import SyncPaused, SyncSpec, build_connector, build_specs, run_sync
from syncd.engine.context import RunSummary
from syncd.engine.events import drain_inbox
from syncd.engine.reconcile import reconcile_deletes
from syncd.engine.runner import pause_for_refused_credentials
from syncd.errors import ConfigError, UsageError
from syncd.http.app import create_app
from syncd.http.workers import ServerWorkers, bind, freeze_heap, make_server

__all__ = ["Daemon", "DaemonOptions"]

log = structlog.get_logger("syncd.daemon")

STOP_SECONDS = 10.0
#: Of ``STOP_SECONDS``, what is kept for the HTTP server, lease release and exit after the
#: passes in hand were waited for.
STOP_RESERVE_SECONDS = 2.0
WORKERS = 64
#: How long ``start`` waits for the other HTTP processes (``server.workers``) to accept.
WORKERS_START_SECONDS = 30.0
#: How often the daemon stamps its heartbeat row (``syncd status`` reads it).
BEAT_SECONDS = 10.0


@dataclass(frozen=True)
class DaemonOptions:
    """How this process takes part: its name in leases, lease time, what it serves."""

    holder: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )
    lease_seconds: float = 30.0
    http: bool = True
    listen: str | None = None  # overrides the config's server.listen
    inbox_every_seconds: float = 1.0
    #: How often the syncs' reconcile due times (``deletes.reconcile_every``) are looked at.
    reconcile_check_seconds: float = 5.0
    retention_every_seconds: float = 24 * 3600.0
    run_at_start: bool = True
    #: How a process started for ``server.workers`` sets its logging up: a function that
    #: pickles (the CLI hands ``syncd.logs.configure_logging`` with its arguments).
    configure_logging: Callable[[], None] | None = None
    #: What answers the HTTP connectors' requests instead of the network (tests only).
    http_transport: httpx.BaseTransport | None = None


@dataclass
class _Sync:
    config: SyncConfig
    spec: SyncSpec
    fence: Fence | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Daemon:
    """Scheduler, HTTP server and workers over one store, for one configuration file."""

    def __init__(
        self, config_path: Path, *, db_url: str | None = None, options: DaemonOptions | None = None
    ) -> None:
        self.options = options or DaemonOptions()
        self.config_path = config_path
        self.config = load_config(config_path)
        self._db_url = db_url or self.config.store_url
        self.store = Store.open(self._db_url)
        self._process_lock: ProcessLock | None = None
        try:
            self._lock_sqlite()
            _refuse_problems(self.config, self.store)
        except BaseException:
            self.close()
            raise
        # "skipped: maximum number of running instances reached" is the design (a sync never
        # runs twice at once), not news for the log.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.RLock()
        self._connectors: dict[str, Connector] = {}
        #: The HTTP connectors' clients: made, handed out and closed by the daemon.
        self._http = HttpClients(transport=self.options.http_transport)
        self._syncs: dict[str, _Sync] = {}
        #: Syncs whose connector said it cannot do their work, with the reason.
        self._unfit: dict[str, str] = {}
        # One thread per busy sync: a slow external system holds only its own sync's thread.
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=WORKERS)},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 60},
        )
        #: The syncs whose pass was still in hand when ``stop`` gave up waiting: the process
        #: must exit without waiting for their threads (``syncd run`` uses ``os._exit``).
        self.abandoned: list[str] = []
        self._server: uvicorn.Server | None = None
        self._server_thread: threading.Thread | None = None
        #: The other HTTP processes when ``server.workers`` > 1 (``syncd.http.workers``).
        self._workers: ServerWorkers | None = None
        self.metrics: Any = _metrics_for(self.store, self.config)
        self.log = log.bind(holder=self.options.holder)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Build the syncs, start the scheduler, the HTTP server and the heartbeat."""
        self._apply_config(self.config)
        self._check_connections()
        every = self.options
        self._scheduler.add_job(
            self._drain_all, IntervalTrigger(seconds=every.inbox_every_seconds), id="inbox"
        )
        self._scheduler.add_job(
            self._heartbeat,
            IntervalTrigger(seconds=max(1.0, every.lease_seconds / 3)),
            id="heartbeat",
        )
        self._beat()
        self._scheduler.add_job(self._beat, IntervalTrigger(seconds=BEAT_SECONDS), id="beat")
        self._scheduler.add_job(
            self._reconcile_due,
            IntervalTrigger(seconds=every.reconcile_check_seconds),
            id="reconcile",
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.add_job(
            self._retention, IntervalTrigger(seconds=every.retention_every_seconds), id="retention"
        )
        self._scheduler.start()
        if every.http:
            self._start_http()
            # "started" means webhooks are accepted: a sender told so must not be refused.
            self._wait_serving()
        self.log.info("daemon_started", syncs=sorted(self._syncs), store=self.store.dialect)

    def run_forever(self) -> int:
        """Start, then serve until SIGTERM/SIGINT; SIGHUP reloads. The exit code."""
        signal.signal(signal.SIGTERM, lambda *_: self._stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self._stopping.set())
        signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=self.reload).start())
        self.start()
        while not self._stopping.wait(0.2):
            pass
        self.stop()
        return 0

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Stop taking work, let the pass in hand end at its next commit, release, exit."""
        if self._stopped.is_set():
            return
        self._stopping.set()
        started = time.monotonic()
        self.log.info("daemon_stopping")
        try:
            self._scheduler.shutdown(wait=False)
        except Exception:
            pass
        # A running pass sees should_stop() after its current page or batch and returns. One
        # stuck in a slow peer's request is not waited for past the deadline: it is
        # abandoned, its open transaction dies with the process (nothing half-written), and
        # its lease is left to expire rather than released while its thread still runs.
        deadline = started + max(0.5, timeout - STOP_RESERVE_SECONDS)
        abandoned: list[str] = []
        for name, sync in list(self._syncs.items()):
            if sync.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                sync.lock.release()
            else:
                abandoned.append(name)
        if self._workers is not None:
            self._workers.stop(max(0.5, deadline + 1.0 - time.monotonic()))
            self._workers = None
        if self._server is not None:
            self._server.should_exit = True
        if self._server_thread is not None:
            self._server_thread.join(max(0.1, min(1.0, deadline + 1.0 - time.monotonic())))

        def release_and_beat() -> None:
            for name, sync in self._syncs.items():
                if sync.fence is not None and name not in abandoned:
                    try:
                        self.store.release_lease(sync.fence)
                    except Exception:
                        self.log.warning("lease_release_failed", sync=sync.spec.name)
            self._beat(stopped=True)

        if abandoned:
            # An abandoned pass may hold the database's write lock (SQLite) for as long as
            # its peer keeps it: these writes get what is left of the budget, no more.
            writer = threading.Thread(target=release_and_beat, name="stop", daemon=True)
            writer.start()
            writer.join(max(0.1, started + timeout - 0.5 - time.monotonic()))
        else:
            release_and_beat()
        self.abandoned = abandoned
        if abandoned:
            # Its connectors and store are still in use by the abandoned pass: the process
            # exits without closing them (`syncd run` ends with os._exit, see `abandoned`).
            self.log.warning("passes_abandoned", syncs=abandoned)
            if self._process_lock is not None:
                self._process_lock.release()
                self._process_lock = None
        else:
            self.close()
        self._stopped.set()
        self.log.info("daemon_stopped", seconds=round(time.monotonic() - started, 2))

    def close(self) -> None:
        for connector in getattr(self, "_connectors", {}).values():
            connector.close()
        if hasattr(self, "_http"):
            self._http.close()
        if self._process_lock is not None:
            self._process_lock.release()
            self._process_lock = None
        self.store.close()

    def reload(self) -> bool:
        """Re-read the YAML and apply all of it, or none of it.

        Everything is checked and every new or changed connector built before anything
        changes; then jobs, connectors and the configuration the HTTP server reads are
        swapped under one lock, so a webhook sees the old set or the new, never a mix. A
        file that is invalid, a connector that cannot be built, or a change only a restart
        can make (store, listen address, ``api:``, ``console:``) refuses the reload whole: the old
        configuration keeps running and ``reload_refused`` says why.
        """
        built: dict[str, Connector] = {}
        try:
            config = load_config(self.config_path)
            _refuse_problems(config, self.store)
            _refuse_restart_only(
                self.config,
                config,
                listen_given=bool(self.options.listen),
                store_given=self._db_url != self.config.store_url,
            )
            specs = build_specs(config)
            for name, options in config.connectors.items():
                if options != self.config.connectors.get(name):
                    built[name] = build_connector(config, name, http=self._http)
        except Exception as exc:  # whatever it is, the running configuration stays whole
            for connector in built.values():
                connector.close()
            self.log.error(
                "reload_refused", error=str(exc).splitlines()[0], error_type=type(exc).__name__
            )
            return False
        with self._lock:
            self._apply_config(config, built, specs)
            self.config = config
            self._unfit.clear()
            self._check_connections()
        if self.metrics is not None:
            self.metrics.configure(list(config.syncs.values()), connectors=list(config.connectors))
        if self._workers is not None:
            self._workers.restart()  # they read the YAML when they start
        self.log.info("reloaded", syncs=sorted(self._syncs), connectors_rebuilt=sorted(built))
        return True

    def _http_state(self) -> tuple[Config, dict[str, Connector]]:
        """The configuration and connectors in force, read by each webhook request."""
        with self._lock:
            return self.config, dict(self._connectors)

    # ------------------------------------------------------------ work

    def run_pass(self, name: str) -> RunSummary | None:
        """One pass of ``name`` under its lease; None when another process holds the sync."""
        with self._lock:
            sync = self._syncs.get(name)
            connector = self._connectors.get(sync.config.connector) if sync else None
        if sync is None or connector is None or self._stopping.is_set():
            return None
        if not sync.lock.acquire(blocking=False):
            return None  # still running from the last tick (a slow system slows only itself)
        try:
            if name in self._unfit and not self._fit_again(name, sync, connector):
                return None
            fence = self._lease(sync)
            if fence is None:
                return None
            if name in self._wanted():
                self._hand_over(sync)  # a `syncd sync` waits for it: its turn first
                return None
            started = time.perf_counter()
            try:
                summary = run_sync(
                    sync.spec,
                    connector,
                    self.store.fenced(fence),
                    should_stop=self._stopping.is_set,
                )
            except SyncPaused:
                return None
            except LeaseLostError as exc:
                sync.fence = None
                self.log.warning("lease_lost", sync=name, error=str(exc))
                return None
            except Exception as exc:
                self.log.error(
                    "sync_pass_failed", sync=name, error=str(exc), error_type=type(exc).__name__
                )
                if self.metrics is not None:
                    self.metrics.observe_run(
                        name, RunSummary(), time.perf_counter() - started, status="failed"
                    )
                return None
            if self.metrics is not None:
                status = "paused" if summary.paused_reason else "ok"
                self.metrics.observe_run(
                    name, summary, time.perf_counter() - started, status=status
                )
            # Webhooks that arrived meanwhile: applied now, under the same lock and lease
            # (the inbox job alone could keep finding this sync busy on a short schedule).
            self._drain(name, sync, connector, fence)
            return summary
        finally:
            sync.lock.release()

    def _check_connections(self) -> None:
        """Ask each connector once per external object; mark the syncs that cannot run,
        pause those whose credentials were refused."""
        asked: dict[tuple[str, str], str | AuthError | None] = {}
        for name, sync in sorted(self._syncs.items()):
            connector = self._connectors.get(sync.config.connector)
            if connector is None:
                continue
            key = (sync.config.connector, sync.config.external_object)
            if key not in asked:
                asked[key] = _problem(connector, sync.config.external_object)
            problem = asked[key]
            if isinstance(problem, AuthError):
                self._pause_refused(name, problem)
            elif problem is not None:
                self._mark_unfit(name, problem)

    def _fit_again(self, name: str, sync: _Sync, connector: Connector) -> bool:
        """A sync marked unfit asks again before a pass: True once the problem is gone."""
        problem = _problem(connector, sync.config.external_object)
        if problem is None:
            self._unfit.pop(name, None)
            self.log.info("sync_check_passed", sync=name)
            return True
        if isinstance(problem, AuthError):
            self._pause_refused(name, problem)
        elif problem != self._unfit.get(name):
            self._mark_unfit(name, problem)
        return False

    def _pause_refused(self, name: str, exc: AuthError) -> None:
        """Refused credentials pause the sync (no asking again each tick: it could lock the
        account); ``syncd resume`` lets the next pass try them again."""
        self._unfit.pop(name, None)
        try:
            reason = pause_for_refused_credentials(self.store, name, exc)
        except Exception as error:  # the log line below still says why
            reason = str(exc)
            self.log.warning("sync_pause_not_recorded", sync=name, error=str(error))
        self.log.error("sync_paused", sync=name, reason=reason)

    def _mark_unfit(self, name: str, problem: str) -> None:
        self._unfit[name] = problem
        reason = f"cannot run: {problem}"
        self.log.error("sync_check_failed", sync=name, reason=reason)
        try:
            run = self.store.start_sync_run(name)
            self.store.finish_sync_run(run.id, "failed", {"error": reason})
        except Exception as exc:  # the log line above already says it
            self.log.warning("sync_check_not_recorded", sync=name, error=str(exc))

    def _lease(self, sync: _Sync) -> Fence | None:
        ttl = timedelta(seconds=self.options.lease_seconds)
        fence = self.store.acquire_lease(sync.spec.name, self.options.holder, ttl)
        if fence is not None and (sync.fence is None or sync.fence.token != fence.token):
            self.log.info("lease_taken", sync=sync.spec.name, token=fence.token)
        elif fence is None and sync.fence is not None:
            self.log.warning("lease_lost", sync=sync.spec.name)
        sync.fence = fence
        return fence

    def _heartbeat(self) -> None:
        """Renew the leases this process holds, so a long pass keeps its sync."""
        ttl = timedelta(seconds=self.options.lease_seconds)
        for sync in list(self._syncs.values()):
            if sync.fence is None or self._stopping.is_set():
                continue
            renewed = self.store.acquire_lease(sync.spec.name, self.options.holder, ttl)
            if renewed is None or renewed.token != sync.fence.token:
                self.log.warning("lease_lost", sync=sync.spec.name)
                sync.fence = None

    def _wanted(self) -> set[str]:
        try:
            return self.store.leases_wanted_from(self.options.holder)
        except Exception:
            return set()

    def _hand_over(self, sync: _Sync) -> None:
        """Give the lease up between passes to the command waiting for it (the caller holds
        the sync's lock, so no pass of ours is in hand); the next tick takes it back."""
        fence, sync.fence = sync.fence, None
        if fence is None:
            return
        try:
            self.store.release_lease(fence)
        except Exception:
            self.log.warning("lease_release_failed", sync=sync.spec.name)
            return
        self.log.info("lease_handed_over", sync=sync.spec.name)

    def _beat(self, *, stopped: bool = False) -> None:
        """Stamp this process's heartbeat row: `syncd status` tells a running daemon from a
        stopped or dead one by it (a dead one's row simply ages)."""
        try:
            self.store.daemon_beat(
                self.options.holder, pid=os.getpid(), host=socket.gethostname(), stopped=stopped
            )
        except Exception as exc:  # the store is down: the passes will say so too
            self.log.warning("heartbeat_failed", error=str(exc).splitlines()[0])

    def _drain_all(self) -> None:
        for name in self._wanted():
            wanted = self._syncs.get(name)
            if wanted is not None and wanted.lock.acquire(blocking=False):
                try:
                    self._hand_over(wanted)
                finally:
                    wanted.lock.release()
        for name, sync in list(self._syncs.items()):
            connector = self._connectors.get(sync.config.connector)
            if connector is None or self._stopping.is_set():
                continue
            if sync.fence is None and (_scheduled(sync.config) or not self._has_events(name)):
                # Not ours now: a scheduled sync's own pass takes the lease and drains at its
                # end; one without a schedule has only its events to take it for.
                continue
            # A pass in hand drains at its end; wait only briefly for it.
            if not sync.lock.acquire(timeout=0.2):
                continue
            try:
                # A sync without a schedule (or whose lease another pass just had) holds no
                # lease between passes: its events take it here.
                fence = sync.fence if sync.fence is not None else self._lease(sync)
                if fence is not None:
                    self._drain(name, sync, connector, fence)
            finally:
                sync.lock.release()

    def _has_events(self, name: str) -> bool:
        try:
            return self.store.inbox_depth(name) > 0
        except Exception:
            return False

    def _drain(self, name: str, sync: _Sync, connector: Connector, fence: Fence) -> None:
        """Apply the sync's pending webhook events (the caller holds its lock and lease)."""
        if self._stopping.is_set():
            return
        try:
            if self.store.inbox_depth(name) == 0:
                return
            drain_inbox(sync.spec, connector, self.store.fenced(fence))
        except SyncPaused:
            return
        except LeaseLostError as exc:
            sync.fence = None
            self.log.warning("lease_lost", sync=name, error=str(exc))
        except Exception as exc:  # rows stay pending; the next tick retries
            self.log.error("inbox_drain_failed", sync=name, error=str(exc))

    def _reconcile_due(self) -> None:
        """Reconcile deletes of each sync whose due time (in the store, so a restart neither
        resets nor skips it) has come, then set the next one ``deletes.reconcile_every``
        later. A sync seen for the first time is first due one interval from now."""
        names = list(self._syncs)
        if not names or self._stopping.is_set():
            return
        try:
            due = self.store.reconcile_due(names)
        except Exception as exc:
            self.log.error("reconcile_check_failed", error=str(exc).splitlines()[0])
            return
        for name in names:
            sync = self._syncs.get(name)
            connector = self._connectors.get(sync.config.connector) if sync else None
            if sync is None or connector is None or self._stopping.is_set():
                continue
            at, paused = due.get(name, (None, False))
            every = timedelta(seconds=sync.config.deletes.reconcile_every)
            now = datetime.now(UTC)
            if paused or (at is not None and at > now):
                continue
            if at is None:
                self.store.set_reconcile_due(name, now + every)
                continue
            self._reconcile(name, sync, connector, every)

    def _reconcile(self, name: str, sync: _Sync, connector: Connector, every: timedelta) -> None:
        # Rare and never urgent: wait for a pass in hand to end rather than skip (a
        # schedule that divides the reconcile interval would otherwise always collide).
        deadline = time.monotonic() + STOP_SECONDS * 6
        while not sync.lock.acquire(timeout=0.5):
            if self._stopping.is_set() or time.monotonic() > deadline:
                return
        try:
            fence = self._lease(sync)
            if fence is None:
                return  # another process runs this sync: it reconciles it
            if name in self._wanted():
                self._hand_over(sync)
                return
            try:
                summary = reconcile_deletes(sync.spec, connector, self.store.fenced(fence))
            except LeaseLostError as exc:
                sync.fence = None
                self.log.warning("lease_lost", sync=name, error=str(exc))
                return
            except Exception as exc:  # tried again one interval later, not at every check
                self.log.error("reconcile_failed", sync=name, error=str(exc))
            else:
                self.log.info("reconcile_finished", sync=name, **summary.as_dict())
            self.store.set_reconcile_due(name, datetime.now(UTC) + every)
        finally:
            sync.lock.release()

    def _retention(self) -> None:
        purge = getattr(self.store, "purge_sync_log", None)
        if purge is None:
            return
        cutoff = datetime.now(UTC) - timedelta(days=self.config.log_retention_days)
        removed = purge(cutoff)
        self.log.info("sync_log_retention", removed=removed, older_than=cutoff.isoformat())
        self.store.purge_daemons(cutoff)

    # ------------------------------------------------------------ configuration

    def _apply_config(
        self,
        config: Config,
        built: dict[str, Connector] | None = None,
        specs: dict[str, SyncSpec] | None = None,
    ) -> None:
        """Bring jobs and connectors in line with ``config`` (added, changed, removed);
        ``built`` holds the new or changed connectors and ``specs`` the specs a reload made
        beforehand (to refuse a configuration it cannot run), used as they are."""
        built = built or {}
        wanted = specs if specs is not None else build_specs(config)
        for name in [n for n in self._syncs if n not in wanted]:
            self._remove_job(name)
            del self._syncs[name]
        changed = {
            name
            for name, c in config.connectors.items()
            if name in self._connectors and c != self.config.connectors.get(name)
        }
        for name in [n for n in self._connectors if n not in config.connectors or n in changed]:
            self._connectors.pop(name).close()
        for name in config.connectors:
            if name not in self._connectors:
                self._connectors[name] = built.get(name) or build_connector(
                    config, name, http=self._http
                )
        for name, spec in wanted.items():
            existing = self._syncs.get(name)
            if existing is None:
                self._syncs[name] = _Sync(config.syncs[name], spec)
            else:
                existing.config, existing.spec = config.syncs[name], spec
            self._schedule(name, config.syncs[name])

    def _schedule(self, name: str, sync: SyncConfig) -> None:
        self._remove_job(name)
        trigger: Any
        if sync.schedule.cron:
            trigger = CronTrigger.from_crontab(sync.schedule.cron, timezone=UTC)
        elif sync.schedule.every is not None:
            trigger = IntervalTrigger(seconds=sync.schedule.every)
        else:
            # No schedule is "only on demand" (docs, `syncd status`): no job polls it;
            # `syncd sync NAME` and its webhooks (the inbox job takes its lease) still run it.
            return
        # APScheduler reads next_run_time=None as "paused": leave it out unless running now.
        first: dict[str, Any] = (
            {"next_run_time": datetime.now(UTC)} if self.options.run_at_start else {}
        )
        self._scheduler.add_job(self.run_pass, trigger, args=[name], id=f"sync:{name}", **first)

    def _remove_job(self, name: str) -> None:
        job = self._scheduler.get_job(f"sync:{name}")
        if job is not None:
            job.remove()

    # ------------------------------------------------------------ plumbing

    def _lock_sqlite(self) -> None:
        if self.store.dialect != "sqlite":
            return
        database = make_url(self._db_url).database
        if not database or database == ":memory:":
            raise UsageError("`syncd run` needs a store in a file or on PostgreSQL, not in memory")
        self._process_lock = ProcessLock.acquire(Path(database).resolve())

    def _start_http(self) -> None:
        host, _, port = (self.options.listen or self.config.server_listen).rpartition(":")
        app = create_app(
            self.config,
            self.store,
            connectors=self._connectors,
            observe_webhook=self.metrics.observe_webhook if self.metrics is not None else None,
            metrics=self.metrics.render if self.metrics is not None else None,
            not_ready=self._not_ready,
            current=self._http_state,
        )
        seat, sockets = None, None
        if self.config.server_workers > 1:
            # One socket for every process; the daemon's own also listens on loopback,
            # where the workers ask it for /metrics and /readyz.
            shared, own = bind(host or "127.0.0.1", int(port)), bind("127.0.0.1", 0)
            spec = WorkerSpec(
                config_path=str(self.config_path),
                db_url=self._db_url,
                daemon_url=f"http://127.0.0.1:{own.getsockname()[1]}",
                metrics=self.metrics is not None,
                configure_logging=self.options.configure_logging,
            )
            self._workers = ServerWorkers(
                shared, self.config.server_workers - 1, serve_worker, (spec,)
            )
            self._workers.start()
            seat, sockets = self._workers.counts.seat(0), [shared, own]
        server = make_server(
            app,
            seat,
            threads=self.config.server_threads,
            host=host or "127.0.0.1",
            port=int(port),
            log_level="warning",
        )
        self._server = server
        run: Callable[[], None] = server.run
        if sockets is not None:
            run = functools.partial(server.run, sockets=sockets)
        freeze_heap()
        self._server_thread = threading.Thread(target=run, name="http", daemon=True)
        self._server_thread.start()

    def _wait_serving(self, timeout: float = 10.0) -> None:
        """Until the HTTP server accepts connections, or its thread ended (a port in use:
        uvicorn has logged why), or ``timeout``."""
        deadline = time.monotonic() + timeout
        server, thread = self._server, self._server_thread
        while server is not None and not server.started and time.monotonic() < deadline:
            if thread is not None and not thread.is_alive():
                return
            time.sleep(0.01)
        if self._workers is not None:  # they import and build the application first
            self._workers.wait_started(WORKERS_START_SECONDS)

    def _not_ready(self) -> str | None:
        if self._stopping.is_set():
            return "stopping"
        try:
            self.store.check_migrated()
        except Exception as exc:
            return str(exc).splitlines()[0]
        return None

    def wait_until_serving(self, timeout: float = 10.0) -> None:
        """Block until the HTTP server accepts connections (tests, the demo)."""
        deadline = time.monotonic() + timeout
        while self._server is not None and not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("the HTTP server did not start")
            time.sleep(0.02)

    def when(self, condition: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Poll ``condition`` until true or ``timeout`` (tests and the demo watch the daemon)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return False


def _scheduled(sync: SyncConfig) -> bool:
    return sync.schedule.cron is not None or sync.schedule.every is not None


def _refuse_problems(config: Config, store: Store) -> None:
    problems = check_config(config, store)
    if problems:
        more = f" (and {len(problems) - 1} more; run `syncd check`)" if len(problems) > 1 else ""
        raise ConfigError(f"{problems[0]}{more}")


def _refuse_restart_only(
    old: Config, new: Config, *, listen_given: bool, store_given: bool
) -> None:
    """A change the running process cannot make: refuse the reload rather than half-apply.
    A store or listen address given on the command line is not the file's to change."""
    changed = [
        key
        for key, before, after in (
            ("store.url", None if store_given else old.store_url,
             None if store_given else new.store_url),
            ("server.listen", None if listen_given else old.server_listen,
             None if listen_given else new.server_listen),
            ("api", old.api, new.api),
            ("console", old.console, new.console),
            ("server.workers", old.server_workers, new.server_workers),
            ("server.threads", old.server_threads, new.server_threads),
        )
        if before != after
    ]  # fmt: skip
    if changed:
        raise ConfigError(
            f"{', '.join(changed)} changed: only a restart applies that (the running "
            "configuration is kept; restart the daemon, or undo the change and reload)"
        )


def _problem(connector: Connector, external_object: str) -> str | AuthError | None:
    """What stops ``connector`` from working with ``external_object``: the refusal of our
    credentials as the error itself (it pauses the sync), anything else as its text."""
    try:
        return connector.check_object(external_object)
    except AuthError as exc:
        return exc
    except ConnectorError as exc:
        return str(exc)


def _metrics_for(store: Store, config: Config) -> Any:
    try:
        module = importlib.import_module("syncd.metrics")
    except ImportError:  # pragma: no cover - built without the metrics module
        return None
    return module.SyncMetrics(
        store, list(config.syncs.values()), connectors=list(config.connectors)
    )
