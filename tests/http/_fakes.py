"""A small webhook-receiving connector for the HTTP and inbox tests, registered as ``hook``.

Its webhook body is ``{"events": [{"object", "id", "deleted"?, "delivery_id"?, "record"?}]}``;
``fetch_by_ids`` serves records from a dict the test fills, and counts its calls, so thin
events can be checked to cost one fetch per batch.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from config.load import load_config
from config.models import Config
from connectors import registry
from connectors.base import (
    ChangePage,
    Connector,
    ConnectorError,
    ConnectorOptions,
    Cursor,
    ExternalRecord,
    WebhookEvent,
    WriteRequest,
    WriteResult,
)
from connectors.webhooks import WebhookOptions, verify_signature

SECRET = "s3cr3t-hook-value-9f8e7d"


class HookOptions(ConnectorOptions):
    webhook: WebhookOptions | None = None


class HookConnector(Connector):
    type_name = "hook"
    options_model = HookOptions

    def __init__(self, name: str, options: ConnectorOptions, **given: Any) -> None:
        super().__init__(name, options, **given)
        self.records: dict[str, ExternalRecord] = {}
        self.fetch_calls: list[list[str]] = []
        self.fail_fetch: ConnectorError | None = None

    def verify_webhook(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None:
        assert isinstance(self.options, HookOptions)
        if self.options.webhook is None:
            return super().verify_webhook(method, url, headers, body, now)
        verify_signature(
            self.options.webhook, method=method, url=url, headers=headers, body=body, now=now
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ConnectorError(f"the webhook body is not JSON ({type(exc).__name__})") from None
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            raise ConnectorError('the webhook body is not {"events": [...]}')
        events: list[WebhookEvent] = []
        for index, item in enumerate(data["events"]):
            if not isinstance(item, dict):
                raise ConnectorError(f"event {index} is not an object")
            obj, ident = item.get("object"), item.get("id")
            if not isinstance(obj, str) or not isinstance(ident, (str, int)):
                # Careless on purpose: the message quotes the body, as a real parser's might.
                raise ConnectorError(f"event {index} has no object or id: {item!r}")
            raw = item.get("record")
            record = None
            if isinstance(raw, dict):
                record = ExternalRecord(str(ident), raw, updated_at=None)
            delivery = item.get("delivery_id")
            events.append(
                WebhookEvent(
                    obj,
                    str(ident),
                    record,
                    deleted=bool(item.get("deleted")),
                    delivery_id=str(delivery) if delivery is not None else None,
                )
            )
        return events

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        return ChangePage(records=[], cursor=cursor, has_more=False)

    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        self.fetch_calls.append(list(ids))
        if self.fail_fetch is not None:
            raise self.fail_fetch
        return [self.records[i] for i in ids if i in self.records]

    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        return {}

    def iter_ids(self, external_object: str) -> Iterator[str]:
        return iter(list(self.records))

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        raise AssertionError("the inbox tests write nothing outside")

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        raise AssertionError("the inbox tests delete nothing outside")


def register_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    types = {**registry.CONNECTOR_TYPES, "hook": f"{__name__}:HookConnector"}
    monkeypatch.setattr(registry, "CONNECTOR_TYPES", types)


CONFIG = """
connectors:
  shop:
    type: hook
    webhook: {webhook}
  quiet:
    type: hook
syncs:
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    direction: to_crm
    match: {{crm: email, external: email}}
    deletes: {{from_external: {from_external}}}
    fields:
      - {{crm: email, external: email, transform: lowercase}}
      - {{crm: firstname, external: first_name}}
{extra}
"""

DEFAULT_WEBHOOK = (
    '{secret: "${HOOK_SECRET}", signature: hmac-sha256-hex, header: X-Signature,'
    " delivery_id_header: X-Delivery}"
)


def hook_config(
    tmp_path: Path,
    *,
    webhook: str = DEFAULT_WEBHOOK,
    from_external: str = "archive",
    extra: str = "",
) -> Config:
    path = tmp_path / "syncd.yaml"
    path.write_text(
        CONFIG.format(
            webhook=webhook,
            from_external=from_external,
            extra=textwrap.indent(textwrap.dedent(extra), "  "),
        )
    )
    return load_config(path, env={"HOOK_SECRET": SECRET})


def body(*events: Mapping[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}).encode()
