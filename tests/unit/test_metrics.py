"""``SyncMetrics``: run summaries and webhook answers become the series Prometheus scrapes.

The store-read gauges are tested against both databases in tests/integration/test_status.py.
"""

from __future__ import annotations

from collections import Counter

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from config.models import SyncConfig
from syncd.engine.context import RunSummary
from syncd.metrics import SyncMetrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(metrics: SyncMetrics) -> Samples:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def _summary(**counts: int) -> RunSummary:
    return RunSummary(counts=Counter({k.replace("__", "."): v for k, v in counts.items()}))


def test_a_run_summary_becomes_records_errors_echoes_and_a_duration() -> None:
    metrics = SyncMetrics()
    metrics.observe_run(
        "shop",
        _summary(
            inbound__created=3,
            inbound__updated=2,
            inbound__read=50,
            inbound__unchanged=45,
            inbound__echoes=4,
            inbound__errors=1,
            outbound__updated=7,
            outbound__deleted=1,
            outbound__errors=2,
            conflicts__open=1,
            webhook__applied=9,
            backfill__read=3,
        ),
        12.5,
    )
    metrics.observe_run("shop", _summary(inbound__created=2), 0.5)
    metrics.observe_run("crm", _summary(), 1.0, status="failed")
    got = _samples(metrics)

    def records(direction: str, action: str) -> float:
        key = (("action", action), ("direction", direction), ("sync", "shop"))
        return got.get(("syncd_records_synced_total", key), 0.0)

    assert records("inbound", "created") == 5
    assert records("inbound", "updated") == 2
    assert records("outbound", "updated") == 7
    assert records("outbound", "deleted") == 1
    # Reads, unchanged records, conflicts and webhook bookkeeping are not records synced.
    actions = {dict(k[1])["action"] for k in got if k[0] == "syncd_records_synced_total"}
    assert actions == {"created", "updated", "deleted"}
    assert got[("syncd_sync_errors_total", (("direction", "inbound"), ("sync", "shop")))] == 1
    assert got[("syncd_sync_errors_total", (("direction", "outbound"), ("sync", "shop")))] == 2
    assert got[("syncd_echoes_total", (("sync", "shop"),))] == 4
    assert got[("syncd_cycle_duration_seconds_count", (("sync", "shop"),))] == 2
    assert got[("syncd_cycle_duration_seconds_sum", (("sync", "shop"),))] == 13.0
    assert got[("syncd_cycle_duration_seconds_bucket", (("le", "1.0"), ("sync", "shop")))] == 1
    assert got[("syncd_runs_total", (("status", "ok"), ("sync", "shop")))] == 2
    assert got[("syncd_runs_total", (("status", "failed"), ("sync", "crm")))] == 1


def test_webhooks_count_by_connector_and_status_with_their_latency() -> None:
    metrics = SyncMetrics(connectors=["hubspot", "shop"])
    metrics.observe_webhook("hubspot", 0.02, 200)
    metrics.observe_webhook("hubspot", 0.2, "200")
    metrics.observe_webhook("hubspot", 0.001, 401)
    got = _samples(metrics)
    assert got[("syncd_webhooks_total", (("connector", "hubspot"), ("status", "200")))] == 2
    assert got[("syncd_webhooks_total", (("connector", "hubspot"), ("status", "401")))] == 1
    latency = ("syncd_webhook_latency_seconds_bucket", (("connector", "hubspot"), ("le", "0.025")))
    assert got[latency] == 2
    assert got[("syncd_webhook_latency_seconds_count", (("connector", "hubspot"),))] == 3


def test_hostile_label_values_cannot_grow_the_series() -> None:
    """The connector name comes from a URL path and the status from the caller: a scanner
    posting to /webhooks/<random> must not create a series per request."""
    metrics = SyncMetrics(connectors=["shop"])
    for i in range(200):
        metrics.observe_webhook(f'scan-{i}-\n"}}{{evil', 0.01, 404)
    metrics.observe_webhook("shop", 0.01, "2000; drop")
    metrics.observe_webhook("shop", -5.0, "<script>")  # a clock step back is not negative time
    metrics.observe_run("shop", _summary(inbound__created=1), 1.0, status="x" * 10_000)
    got = _samples(metrics)
    connectors = {dict(k[1])["connector"] for k in got if k[0] == "syncd_webhooks_total"}
    assert connectors == {"other", "shop"}
    assert got[("syncd_webhooks_total", (("connector", "other"), ("status", "404")))] == 200
    assert got[("syncd_webhooks_total", (("connector", "shop"), ("status", "other")))] == 2
    assert got[("syncd_webhook_latency_seconds_sum", (("connector", "shop"),))] == 0.01
    statuses = {dict(k[1])["status"] for k in got if k[0] == "syncd_runs_total"}
    assert statuses == {"other"}


def test_each_instance_owns_its_registry() -> None:
    one, two = SyncMetrics(), SyncMetrics()
    one.observe_run("shop", _summary(inbound__created=1), 1.0)
    assert (
        "syncd_records_synced_total",
        (("action", "created"), ("direction", "inbound"), ("sync", "shop")),
    ) not in _samples(two)
    names = {m.name for m in REGISTRY.collect()}
    assert not any(name.startswith("syncd_") for name in names)


def test_without_a_store_the_gauges_are_absent_and_store_up_is_zero() -> None:
    got = _samples(SyncMetrics(None, ["shop"]))
    assert got[("syncd_store_up", ())] == 0
    assert not any(k[0] == "syncd_open_conflicts" for k in got)


def test_a_to_crm_sync_reports_no_outbound_lag() -> None:
    sync = SyncConfig.model_validate(
        {
            "name": "orders",
            "connector": "shop",
            "external_object": "orders",
            "crm_object": "deals",
            "direction": "to_crm",
            "fields": [{"crm": "dealname", "external": "name"}],
        }
    )
    metrics = SyncMetrics(None, [sync, "contacts"])
    assert metrics.syncs == {"orders": False, "contacts": True}
    metrics.configure(["contacts"], connectors=["shop"])
    assert metrics.syncs == {"contacts": True}
    metrics.observe_webhook("hubspot", 0.1, 200)  # no longer configured
    assert (
        _samples(metrics)[("syncd_webhooks_total", (("connector", "other"), ("status", "200")))]
        == 1
    )
