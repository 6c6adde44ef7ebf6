"""``POST /webhooks/{connector}``: what a sender sees, and what reaches the inbox (or not).

Every refused request (401, 400, 413, 404) must leave the inbox empty: a forged or broken
request that still got stored would be applied by the worker later.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from config.models import Config
from connectors.webhooks import WebhookOptions, sign
from store import Store
from syncd.http import create_app
from tests.http._client import AsgiClient
from tests.http._fakes import SECRET, body, hook_config, register_hook

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
URL = "http://testserver/webhooks/shop"
ADA = {"object": "customers", "id": "c1", "record": {"email": "ada.l@example.com"}}


@pytest.fixture(autouse=True)
def _hook(monkeypatch: pytest.MonkeyPatch) -> None:
    register_hook(monkeypatch)


@contextmanager
def _client(store: Store, config: Config) -> Iterator[AsgiClient]:
    yield AsgiClient(create_app(config, store, clock=lambda: NOW))


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[AsgiClient]:
    with _client(store, hook_config(tmp_path)) as c:
        yield c


def _options(config: Config) -> WebhookOptions:
    options = config.connectors["shop"].options
    webhook = getattr(options, "webhook", None)
    assert isinstance(webhook, WebhookOptions)
    return webhook


def _signed(
    options: WebhookOptions, payload: bytes, *, at: datetime = NOW, secret: str | None = None
) -> dict[str, str]:
    if secret is not None:
        options = options.model_copy(update={"secret": SecretStr(secret)})
    return sign(options, method="POST", url=URL, body=payload, now=at)


def _post(client: AsgiClient, config: Config, payload: bytes, **headers: str) -> Any:
    return client.post(
        "/webhooks/shop", content=payload, headers={**_signed(_options(config), payload), **headers}
    )


SCHEMES = {
    "hubspot-v3": "{secret: '${HOOK_SECRET}', signature: hubspot-v3}",
    "stripe": "{secret: '${HOOK_SECRET}', signature: stripe}",
    "github": "{secret: '${HOOK_SECRET}', signature: github}",
    "hex": "{secret: '${HOOK_SECRET}', signature: hmac-sha256-hex, header: X-Sig}",
    "base64": "{secret: '${HOOK_SECRET}', signature: hmac-sha256-base64, header: X-Sig}",
    "base64+timestamp": (
        "{secret: '${HOOK_SECRET}', signature: hmac-sha256-base64, header: X-Sig,"
        " timestamp_header: X-Stamp}"
    ),
}


# ------------------------------------------------------------------ signatures


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_each_scheme_accepts_the_right_signature_and_refuses_a_wrong_one(
    scheme: str, store: Store, tmp_path: Path
) -> None:
    config = hook_config(tmp_path, webhook=SCHEMES[scheme])
    options = _options(config)
    payload = body(ADA)
    with _client(store, config) as client:
        forged = client.post(
            "/webhooks/shop", content=payload, headers=_signed(options, payload, secret="guess")
        )
        assert forged.status_code == 401
        assert "error" in forged.json()
        unsigned = client.post("/webhooks/shop", content=payload)
        assert unsigned.status_code == 401
        # The signature is over the exact bytes: the same headers on another body are refused.
        tampered = payload.replace(b"ada.l", b"eve.x")
        assert (
            client.post(
                "/webhooks/shop", content=tampered, headers=_signed(options, payload)
            ).status_code
            == 401
        )
        assert store.inbox_depth() == 0

        good = client.post("/webhooks/shop", content=payload, headers=_signed(options, payload))
        assert good.status_code == 200, good.text
        assert good.json() == {"received": 1, "new": 1, "ignored": 0}
    assert store.inbox_depth("shop-customers") == 1


@pytest.mark.parametrize("scheme", ["hubspot-v3", "stripe", "base64+timestamp"])
@pytest.mark.parametrize("skew", [timedelta(minutes=-10), timedelta(minutes=10)])
def test_a_timestamp_outside_the_window_is_refused_as_a_replay(
    scheme: str, skew: timedelta, store: Store, tmp_path: Path
) -> None:
    config = hook_config(tmp_path, webhook=SCHEMES[scheme])
    payload = body(ADA)
    with _client(store, config) as client:
        old = client.post(
            "/webhooks/shop",
            content=payload,
            headers=_signed(_options(config), payload, at=NOW + skew),
        )
        assert old.status_code == 401
        assert "window" in old.json()["error"]
        # Inside the window (four minutes off) is still accepted: clocks drift.
        near = _signed(_options(config), payload, at=NOW + skew * 0.4)
        assert client.post("/webhooks/shop", content=payload, headers=near).status_code == 200
    assert store.inbox_depth() == 1


def _signed_with_stamp(scheme: str, payload: bytes, stamp: str) -> dict[str, str]:
    """Headers a sender holding the secret would send with ``stamp`` as its timestamp, signed."""
    digest = hmac.new(SECRET.encode(), digestmod=hashlib.sha256)
    if scheme == "hubspot-v3":
        digest.update(b"POST" + URL.encode() + payload + stamp.encode())
        return {
            "X-HubSpot-Request-Timestamp": stamp,
            "X-HubSpot-Signature-v3": base64.b64encode(digest.digest()).decode(),
        }
    digest.update(f"{stamp}.".encode() + payload)
    if scheme == "stripe":
        return {"Stripe-Signature": f"t={stamp},v1={digest.hexdigest()}"}
    assert scheme == "base64+timestamp"
    return {"X-Stamp": stamp, "X-Sig": base64.b64encode(digest.digest()).decode()}


@pytest.mark.parametrize("scheme", ["hubspot-v3", "stripe", "base64+timestamp"])
def test_only_a_finite_number_is_a_signed_timestamp(
    scheme: str, store: Store, tmp_path: Path
) -> None:
    """``nan`` compares false against any window: signed, it would never be too old."""
    config = hook_config(tmp_path, webhook=SCHEMES[scheme])
    payload = body(ADA)
    now_text = str(int(NOW.timestamp() * (1000 if scheme == "hubspot-v3" else 1)))
    stamps = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "1e3", "0x10",
              "1_700_000_000", "+" + now_text, "-" + now_text, "", " "]  # fmt: skip
    with _client(store, config) as client:
        for stamp in stamps:
            answer = client.post(
                "/webhooks/shop",
                content=payload,
                headers=_signed_with_stamp(scheme, payload, stamp),
            )
            assert answer.status_code == 401, (stamp, answer.text)
            assert set(answer.json()) == {"error"}
        assert store.inbox_depth() == 0
        # The same helper with a real timestamp is accepted: the refusals were the stamps.
        good = _signed_with_stamp(scheme, payload, now_text)
        assert client.post("/webhooks/shop", content=payload, headers=good).status_code == 200
    assert store.inbox_depth() == 1


# ------------------------------------------------------------------ deliveries


def test_a_repeated_delivery_is_acknowledged_and_stored_once(
    client: AsgiClient, store: Store, tmp_path: Path
) -> None:
    config = hook_config(tmp_path)
    payload = body(ADA, {"object": "customers", "id": "c2"})
    first = _post(client, config, payload, **{"X-Delivery": "d-1"})
    again = _post(client, config, payload, **{"X-Delivery": "d-1"})
    assert first.json() == {"received": 2, "new": 2, "ignored": 0}
    assert again.status_code == 200
    assert again.json() == {"received": 2, "new": 0, "ignored": 0}
    rows = store.inbox_list()
    assert [(r.external_id, r.delivery_id) for r in rows] == [("c1", "d-1:0"), ("c2", "d-1:1")]
    # Another delivery of the same record is a new event.
    assert _post(client, config, payload, **{"X-Delivery": "d-2"}).json()["new"] == 2


def test_an_event_s_own_delivery_id_wins_over_the_header(
    client: AsgiClient, store: Store, tmp_path: Path
) -> None:
    config = hook_config(tmp_path)
    payload = body({**ADA, "delivery_id": "evt-77"})
    _post(client, config, payload, **{"X-Delivery": "d-1"})
    assert _post(client, config, payload, **{"X-Delivery": "d-2"}).json()["new"] == 0
    assert [r.delivery_id for r in store.inbox_list()] == ["evt-77"]


def test_events_no_sync_reads_are_acknowledged_as_ignored(
    client: AsgiClient, store: Store, tmp_path: Path
) -> None:
    config = hook_config(tmp_path)
    payload = body({"object": "invoices", "id": "i1"}, ADA)
    answer = _post(client, config, payload)
    assert answer.json() == {"received": 2, "new": 1, "ignored": 1}
    assert [r.external_object for r in store.inbox_list()] == ["customers"]


def test_an_event_goes_to_every_sync_of_its_object(store: Store, tmp_path: Path) -> None:
    config = hook_config(
        tmp_path,
        extra="""
        shop-leads:
          connector: shop
          external_object: customers
          crm_object: contacts
          direction: to_crm
          fields:
            - {crm: lastname, external: last_name}
        """,
    )
    with _client(store, config) as client:
        assert _post(client, config, body(ADA)).json()["new"] == 2
    assert store.inbox_depth("shop-customers") == 1
    assert store.inbox_depth("shop-leads") == 1


def test_the_stored_event_keeps_the_record_and_the_deleted_flag(
    client: AsgiClient, store: Store, tmp_path: Path
) -> None:
    config = hook_config(tmp_path)
    _post(client, config, body(ADA, {"object": "customers", "id": "c9", "deleted": True}))
    first, second = store.inbox_list()
    assert first.event["record"]["fields"] == {"email": "ada.l@example.com"}
    assert first.event["deleted"] is False
    assert second.event["record"] is None
    assert second.event["deleted"] is True
    assert {first.state, second.state} == {"pending"}


# ------------------------------------------------------------------ broken and hostile bodies


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'{"events": "all of them"}',
        b'{"events": [42]}',
        b'{"events": [{"object": "customers"}]}',
        json.dumps({"events": [{"object": "customers", "id": ""}]}).encode(),
        json.dumps({"events": [{"object": "customers", "id": "x" * 401}]}).encode(),
        json.dumps({"events": [{**ADA, "delivery_id": "d" * 401}]}).encode(),
        b'{"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
    ],
    ids=[
        "truncated",
        "empty",
        "not-utf8",
        "array",
        "events-not-list",
        "event-not-object",
        "no-id",
        "empty-id",
        "id-too-long",
        "delivery-too-long",
        "deeply-nested",
    ],
)
def test_a_body_that_does_not_parse_is_refused_with_400_and_nothing_stored(
    payload: bytes, client: AsgiClient, store: Store, tmp_path: Path
) -> None:
    answer = _post(client, hook_config(tmp_path), payload)
    assert answer.status_code == 400, answer.text
    assert "error" in answer.json()
    assert store.inbox_depth() == 0


def test_a_declared_oversized_body_is_refused_before_it_is_read(
    store: Store, tmp_path: Path
) -> None:
    """Content-Length over the limit: 413 without pulling a byte of the body."""
    config = hook_config(tmp_path)
    app = create_app(config, store, clock=lambda: NOW)
    pulled: list[object] = []
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        pulled.append(1)
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/shop",
        "raw_path": b"/webhooks/shop",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", b"1048577")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert pulled == []
    assert store.inbox_depth() == 0


def test_a_streamed_body_growing_past_the_limit_is_refused(store: Store, tmp_path: Path) -> None:
    webhook = "{secret: '${HOOK_SECRET}', signature: github, max_body_bytes: 2048}"
    config = hook_config(tmp_path, webhook=webhook)
    chunks: list[bytes] = []

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(100):
            chunks.append(b"x" * 512)
            yield b"x" * 512

    with _client(store, config) as client:
        answer = client.post("/webhooks/shop", content=stream())
        assert answer.status_code == 413
        assert "2048" in answer.json()["error"]
        # Just under the limit is fine (and then judged on its signature).
        small = body(ADA)
        assert len(small) < 2048
        headers = _signed(_options(config), small)
        assert client.post("/webhooks/shop", content=small, headers=headers).status_code == 200
    assert store.inbox_depth() == 1


def test_content_length_that_is_not_a_number_is_refused(store: Store, tmp_path: Path) -> None:
    app = create_app(hook_config(tmp_path), store, clock=lambda: NOW)
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/shop",
        "raw_path": b"/webhooks/shop",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-length", b"lots")],
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400


# ------------------------------------------------------------------ routing


def test_an_unknown_connector_is_404(client: AsgiClient, store: Store) -> None:
    answer = client.post("/webhooks/nobody", content=body(ADA))
    assert answer.status_code == 404
    assert "error" in answer.json()
    assert store.inbox_depth() == 0


def test_a_connector_without_a_webhook_section_is_404(client: AsgiClient, store: Store) -> None:
    answer = client.post("/webhooks/quiet", content=body(ADA))
    assert answer.status_code == 404
    assert "receives no webhooks" in answer.json()["error"]
    assert store.inbox_depth() == 0


def test_only_post_is_accepted(client: AsgiClient) -> None:
    assert client.get("/webhooks/shop").status_code == 405


def test_healthz(client: AsgiClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


# ------------------------------------------------------------------ logs


def test_log_lines_name_connector_status_and_deliveries_but_never_secret_or_body(
    client: AsgiClient, store: Store, tmp_path: Path
) -> None:
    config = hook_config(tmp_path)
    personal = {
        "object": "customers",
        "id": "c1",
        "record": {"email": "grace.hopper@example.com", "first_name": "Grace"},
    }
    payload = body(personal)
    with capture_logs() as logs:
        _post(client, config, payload, **{"X-Delivery": "d-42"})
        client.post("/webhooks/shop", content=payload, headers={"X-Signature": "0" * 64})
        no_id = b'{"events": [{"object": "customers", "email": "grace.hopper@example.com"}]}'
        answer = _post(client, config, no_id)
        _post(client, config, no_id[:-3])
    text = repr(logs)
    for leaked in (SECRET, "grace.hopper", "Grace"):
        assert leaked not in text
    received = [e for e in logs if e["event"] == "webhook_received"]
    assert received[0]["connector"] == "shop"
    assert received[0]["status"] == 200
    assert received[0]["new"] == 1
    assert received[0]["delivery_ids"] == ["d-42:0"]
    refused = [e for e in logs if e["event"] == "webhook_refused"]
    assert [e["status"] for e in refused] == [401, 400, 400]
    # The sender may see its own data quoted back; the log may not.
    assert "grace.hopper" in answer.json()["error"]
    assert all(e["connector"] == "shop" for e in refused)
