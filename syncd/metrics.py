"""The daemon's Prometheus metrics: what its runs did, and where each sync stands now.

Counters and histograms are fed as things happen (``observe_run`` after each pass,
``observe_webhook`` per request); gauges of state (open conflicts, inbox depth, lag, parked
records, paused) are read from the store at scrape time, so every process and replica
reports the same truth and nothing can drift from the database.

``SyncMetrics`` owns its registry, not prometheus_client's global one: two daemons in one
test process, or a test next to a daemon, never see each other's numbers.

Label values come from the config (sync and connector names) or from a small fixed set, so
a caller passing through what a remote sent cannot grow the series without bound: a
connector name the metrics were not told about is reported as ``other``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from config.models import SyncConfig
from store import Store, StoreError
from syncd.engine.context import RunSummary

__all__ = ["RECORD_ACTIONS", "SyncMetrics"]

#: Summary actions that changed a record on one side: ``inbound.created`` and the like.
RECORD_ACTIONS = frozenset({"created", "updated", "deleted", "archived"})
_DIRECTIONS = frozenset({"inbound", "outbound"})
_RUN_STATUSES = frozenset({"ok", "failed", "paused", "stopped"})
_OTHER = "other"
_CYCLE_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

_log = structlog.get_logger("syncd.metrics")


class _StoreCollector(Collector):
    """Gauges read from the store when Prometheus scrapes: one overview for all syncs."""

    def __init__(self, owner: SyncMetrics) -> None:
        self._owner = owner

    def describe(self) -> Iterable[Metric]:
        # Without describe() the registry would call collect() at registration: a database
        # round trip in a constructor, and a failure there when the store is down.
        return list(self._families())

    def _families(self) -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "syncd_open_conflicts", "Conflicts held for an operator.", labels=["sync"]
            ),
            GaugeMetricFamily(
                "syncd_inbox_depth", "Webhook events received, not applied yet.", labels=["sync"]
            ),
            GaugeMetricFamily(
                "syncd_outbound_lag_entries",
                "CRM journal entries the sync has not looked at yet (two-way and"
                " to_external syncs only).",
                labels=["sync"],
            ),
            GaugeMetricFamily(
                "syncd_parked_errors",
                "Records the sync gave up writing outside until retried.",
                labels=["sync"],
            ),
            GaugeMetricFamily(
                "syncd_parked_inbound",
                "External records the CRM refused, kept for an operator (`syncd errors`).",
                labels=["sync"],
            ),
            GaugeMetricFamily("syncd_sync_paused", "1 while the sync is paused.", labels=["sync"]),
            GaugeMetricFamily(
                "syncd_store_up", "1 when the last scrape could read the store, else 0."
            ),
        )

    def collect(self) -> Iterator[Metric]:
        conflicts, inbox, lag, parked, parked_in, paused, up = self._families()
        store, syncs = self._owner.store, self._owner.syncs
        if store is None or not syncs:
            up.add_metric([], 1 if store is not None else 0)
            yield up
            return
        try:
            found = store.sync_overview(list(syncs), datetime.now(UTC), activity=False)
        except (StoreError, SQLAlchemyError) as exc:
            # A scrape that raises is a 500 with no numbers at all; store_up 0 says why.
            _log.warning("metrics_store_unreadable", error=str(exc).splitlines()[0][:300])
            up.add_metric([], 0)
            yield up
            return
        for name, overview in found.items():
            conflicts.add_metric([name], overview.open_conflicts)
            inbox.add_metric([name], overview.inbox_depth)
            if syncs[name]:
                lag.add_metric([name], overview.outbound_lag)
            parked.add_metric([name], overview.parked)
            parked_in.add_metric([name], overview.parked_inbound)
            paused.add_metric([name], 1 if overview.paused else 0)
        up.add_metric([], 1)
        yield from (conflicts, inbox, lag, parked, parked_in, paused, up)


class SyncMetrics:
    """The metrics of one daemon process, rendered by its ``/metrics`` endpoint.

    ``syncs`` are the configured syncs (configs, or bare names taken as two-way); the store
    gauges cover exactly these. ``connectors`` are the names ``observe_webhook`` may label;
    None accepts any name (for callers that already refused unknown ones).
    """

    def __init__(
        self,
        store: Store | None = None,
        syncs: Iterable[SyncConfig | str] = (),
        *,
        connectors: Collection[str] | None = None,
    ) -> None:
        self.store = store
        self.syncs: dict[str, bool] = {}
        self._connectors: frozenset[str] | None = None
        self.configure(syncs, connectors=connectors)
        self.registry = CollectorRegistry(auto_describe=True)
        self.records = Counter(
            "syncd_records_synced",
            "Records a sync created, updated, deleted or archived, by direction.",
            ["sync", "direction", "action"],
            registry=self.registry,
        )
        self.errors = Counter(
            "syncd_sync_errors",
            "Records a pass failed to write, by direction.",
            ["sync", "direction"],
            registry=self.registry,
        )
        self.echoes = Counter(
            "syncd_echoes",
            "Records that came back holding exactly what the sync had written (dropped).",
            ["sync"],
            registry=self.registry,
        )
        self.runs = Counter(
            "syncd_runs",
            "Passes finished, by how they ended (ok, failed, paused, stopped).",
            ["sync", "status"],
            registry=self.registry,
        )
        self.cycle_seconds = Histogram(
            "syncd_cycle_duration_seconds",
            "How long one pass of a sync took.",
            ["sync"],
            buckets=_CYCLE_BUCKETS,
            registry=self.registry,
        )
        self.webhooks = Counter(
            "syncd_webhooks",
            "Webhook requests answered, by connector and HTTP status.",
            ["connector", "status"],
            registry=self.registry,
        )
        self.webhook_seconds = Histogram(
            "syncd_webhook_latency_seconds",
            "Time from a webhook request's arrival to its answer.",
            ["connector"],
            buckets=_WEBHOOK_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(self))

    def configure(
        self, syncs: Iterable[SyncConfig | str], *, connectors: Collection[str] | None = None
    ) -> None:
        """Which syncs the store gauges cover and which connector names label webhooks; a
        daemon calls it again after reloading its config (a removed sync's gauges vanish)."""
        # Name -> whether the sync writes outside (a to_crm sync has no outbound lag).
        self.syncs = {
            sync if isinstance(sync, str) else sync.name: (
                True if isinstance(sync, str) else sync.direction.to_external
            )
            for sync in syncs
        }
        self._connectors = None if connectors is None else frozenset(connectors)

    def observe_run(
        self, sync: str, summary: RunSummary, seconds: float, *, status: str = "ok"
    ) -> None:
        """Count what one pass did (its summary's ``direction.action`` keys) and its time.

        Keys that are not record changes (``inbound.read``, ``inbound.unchanged``,
        ``webhook.applied``, ``conflicts.open``...) are not records synced and are skipped.
        """
        for key, amount in summary.counts.items():
            if amount <= 0:
                continue
            direction, _, action = key.partition(".")
            if direction not in _DIRECTIONS:
                continue
            if action in RECORD_ACTIONS:
                self.records.labels(sync, direction, action).inc(amount)
            elif action == "errors":
                self.errors.labels(sync, direction).inc(amount)
            elif action == "echoes":
                self.echoes.labels(sync).inc(amount)
        self.runs.labels(sync, status if status in _RUN_STATUSES else _OTHER).inc()
        self.cycle_seconds.labels(sync).observe(max(0.0, float(seconds)))

    def observe_webhook(self, connector: str, seconds: float, status: int | str) -> None:
        """Count one webhook request and its latency; ``status`` is the HTTP status sent."""
        if self._connectors is not None and connector not in self._connectors:
            connector = _OTHER
        code = str(status)
        if not (code.isdigit() and len(code) == 3):
            code = _OTHER
        self.webhooks.labels(connector, code).inc()
        self.webhook_seconds.labels(connector).observe(max(0.0, float(seconds)))

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type, for the ``/metrics`` response."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
