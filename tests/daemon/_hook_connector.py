"""A SQL connector that also receives webhooks: the daemon tests' source of real deliveries.

The SQL connector has no webhooks, and the crash tests need a connector whose webhook
events go through the daemon's HTTP endpoint, inbox and drain. This one reads and writes
the same table as ``sql`` and accepts signed, thin events (ids only) that the drain
resolves with ``fetch_by_ids``. It exists in tests only; the subprocess script registers
it under ``type: sqlhook``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from connectors.base import ConnectorError, ConnectorOptions, WebhookEvent, WebhookPayloadError
from connectors.sql import SqlConnector, SqlOptions
from connectors.webhooks import WebhookOptions, verify_signature

__all__ = ["TYPE_NAME", "SqlHookConnector", "SqlHookOptions", "webhook_body"]

TYPE_NAME = "sqlhook"
_MAX_EVENTS = 1000


class SqlHookOptions(SqlOptions):
    """``sql`` options plus a ``webhook:`` section."""

    webhook: WebhookOptions | None = None


class SqlHookConnector(SqlConnector):
    type_name: ClassVar[str] = TYPE_NAME
    options_model: ClassVar[type[ConnectorOptions]] = SqlHookOptions

    def verify_webhook(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None:
        options = self.options
        webhook = getattr(options, "webhook", None)
        if not isinstance(webhook, WebhookOptions):
            raise ConnectorError(f"connector {self.name} has no webhook secret configured")
        verify_signature(webhook, method=method, url=url, headers=headers, body=body, now=now)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        try:
            data: Any = json.loads(body)
        except ValueError as exc:
            raise WebhookPayloadError(f"not JSON: {exc}") from None
        raw = data.get("events") if isinstance(data, dict) else None
        if not isinstance(raw, list) or len(raw) > _MAX_EVENTS:
            raise WebhookPayloadError(f"expected {{'events': [...]}} with up to {_MAX_EVENTS}")
        events: list[WebhookEvent] = []
        for item in raw:
            if not isinstance(item, dict):
                raise WebhookPayloadError("each event must be an object")
            obj, ident, delivery = item.get("object"), item.get("id"), item.get("delivery")
            if not isinstance(obj, str) or not isinstance(ident, str):
                raise WebhookPayloadError("each event needs text 'object' and 'id'")
            if delivery is not None and not isinstance(delivery, str):
                raise WebhookPayloadError("'delivery' must be text")
            events.append(WebhookEvent(obj, ident, delivery_id=delivery))
        return events


def webhook_body(events: list[tuple[str, str, str]]) -> bytes:
    """A body announcing ``(object, id, delivery)`` changes, as a sender would post it."""
    return json.dumps(
        {"events": [{"object": o, "id": i, "delivery": d} for o, i, d in events]}
    ).encode()
