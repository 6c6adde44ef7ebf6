"""The daemon's HTTP app serves the CRM API beside webhooks and health, over a real socket.

The API claims only its own paths: webhooks, health and metrics keep their answers, and the
``api:`` section's limits are the ones the guard applies.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from config.models import ApiConfig, Config, RateLimitConfig
from store import Store
from syncd.http import create_app
from syncd.http.app import api_settings
from tests.api.conftest import make_token, serve
from tests.http._fakes import hook_config, register_hook


def _serve(config: Config, store: Store) -> Iterator[str]:
    server, thread, url = serve(create_app(config, store))
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    register_hook(monkeypatch)
    base = hook_config(tmp_path)
    api = ApiConfig(rate_limit=RateLimitConfig(max=7, interval_ms=60_000), max_body_bytes=2048)
    return base.model_copy(update={"api": api})


@pytest.fixture
def url(config: Config, store: Store) -> Iterator[str]:
    yield from _serve(config, store)


def test_the_api_is_served_with_the_configured_limits(url: str, store: Store) -> None:
    token = make_token(store, "mounted", ("write",))
    with httpx.Client(base_url=url, timeout=30) as client:
        refused = client.get("/crm/v3/objects/contacts")
        allowed = client.get(
            "/crm/v3/objects/contacts", headers={"Authorization": f"Bearer {token}"}
        )
        big = client.post(
            "/crm/v3/objects/contacts",
            content=b"{" + b" " * 3000 + b"}",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        schemas = client.get("/crm-object-schemas/v3/schemas")
        document = client.get("/openapi.json")
    assert refused.status_code == 401
    assert refused.json()["category"] == "INVALID_AUTHENTICATION"
    assert allowed.status_code != 401
    assert allowed.headers["X-HubSpot-RateLimit-Max"] == "7"
    assert allowed.headers["X-HubSpot-RateLimit-Remaining"] == "6"
    assert allowed.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "60000"
    assert big.status_code == 413
    assert schemas.status_code == 401
    assert document.status_code == 200
    assert document.json()["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert store.list_records("contacts") == []


def test_other_paths_keep_their_own_answers(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")
        webhook_get = client.get("/webhooks/shop")
        unknown = client.get("/nothing/here")
        crm_lookalike = client.get("/crm-lookalike/v3")
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert webhook_get.status_code == 405
    assert unknown.status_code == 404
    assert crm_lookalike.status_code == 404
    for answer in (health, webhook_get, unknown):
        assert "X-HubSpot-RateLimit-Max" not in answer.headers


def test_a_disabled_api_is_not_served(config: Config, store: Store) -> None:
    disabled = config.model_copy(update={"api": ApiConfig(enabled=False)})
    token = make_token(store, "unused", ("write",))
    for url in _serve(disabled, store):
        with httpx.Client(base_url=url, timeout=30) as client:
            answers = [
                client.get(
                    "/crm/v3/objects/contacts", headers={"Authorization": f"Bearer {token}"}
                ),
                client.get("/openapi.json"),
            ]
            health = client.get("/healthz")
    assert [a.status_code for a in answers] == [404, 404]
    assert health.status_code == 200


def test_api_settings_follow_the_section() -> None:
    settings = api_settings(
        ApiConfig(
            enabled=False, rate_limit=RateLimitConfig(max=3, interval_ms=500), max_body_bytes=4096
        )
    )
    assert (settings.enabled, settings.rate_limit_max) == (False, 3)
    assert (settings.rate_limit_interval_ms, settings.max_body_bytes) == (500, 4096)
