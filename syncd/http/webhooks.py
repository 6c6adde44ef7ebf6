"""``POST /webhooks/{connector}``: verify, store durably, answer at once.

The sender only learns that its events are safe, never whether they applied: applying is
the worker's job (``syncd.engine.events.drain_inbox``), so a slow CRM never makes a sender
time out and retry. Nothing is stored unless the raw body is signed by the connector's
secret and parses; a body larger than the connector allows is refused before it is read
whole. Log lines name the connector, the status, the counts and the delivery ids: never
the secret, never the body, which carries people's personal data.

In the daemon each request reads the configuration and connectors the daemon runs *now*
(``current``), never a copy taken at start: after a SIGHUP that rotated a secret, the old
secret is refused and the new one accepted from the next request on, and an object or sync
added by the reload receives its events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from config.models import Config
from connectors.base import Connector, ConnectorError, WebhookEvent, WebhookNotSupportedError
from connectors.webhooks import WebhookOptions, WebhookSignatureError
from store import InboxEntrySpec, Store, StoreError
from syncd.engine.build import build_connector
from syncd.engine.events import event_to_data

__all__ = ["DEFAULT_MAX_BODY_BYTES", "CurrentState", "WebhookReceiver"]

DEFAULT_MAX_BODY_BYTES = 1_048_576
_MAX_ID = 400
_LOGGED_DELIVERIES = 20

log = structlog.get_logger("syncd.http")


class _Refused(Exception):
    """A request answered with an error status.

    ``reason`` goes back to the sender; ``logged`` (default: the reason) goes to the log,
    so a connector's message that quotes the sender's body reaches the sender only.
    """

    def __init__(self, status: int, reason: str, *, logged: str | None = None, **data: Any) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.logged = logged or reason
        self.data = data


CurrentState = Callable[[], tuple[Config, Mapping[str, Connector]]]


def _syncs_by_object(config: Config) -> dict[tuple[str, str], list[str]]:
    """Which syncs read each (connector, external object)."""
    syncs: dict[tuple[str, str], list[str]] = {}
    for sync in config.syncs.values():
        syncs.setdefault((sync.connector, sync.external_object), []).append(sync.name)
    return syncs


class WebhookReceiver:
    """The webhook route's state: configuration, store, and the connectors it verifies with.

    ``current``, when given, is asked on every request for the configuration and the
    connectors in force (the daemon's, which a reload replaces together); ``config`` and
    ``connectors`` then only serve until it is asked.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        connectors: Mapping[str, Connector] | None,
        clock: Callable[[], datetime],
        current: CurrentState | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self._given = dict(connectors or {})
        self._built: dict[str, Connector] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._current = current
        self._syncs_of: tuple[Config, dict[tuple[str, str], list[str]]] = (
            config,
            _syncs_by_object(config),
        )

    def _state(self) -> tuple[Config, Mapping[str, Connector]]:
        if self._current is not None:
            return self._current()
        return self._config, self._given

    def _syncs(self, config: Config) -> dict[tuple[str, str], list[str]]:
        seen, syncs = self._syncs_of
        if seen is not config:
            syncs = _syncs_by_object(config)
            self._syncs_of = (config, syncs)
        return syncs

    def close(self) -> None:
        """Close the connectors built here; those handed in belong to the caller."""
        with self._lock:
            built, self._built = self._built, {}
        for connector in built.values():
            connector.close()

    def _connector(
        self, name: str, config: Config, given: Mapping[str, Connector]
    ) -> Connector | None:
        if name in given:
            return given[name]
        if self._current is not None or name not in config.connectors:
            return None  # the daemon's connectors are all there is
        with self._lock:
            if name not in self._built:
                self._built[name] = build_connector(config, name)
            return self._built[name]

    async def receive(self, request: Request) -> JSONResponse:
        name = str(request.path_params["connector"])
        try:
            return await self._receive(request, name)
        except _Refused as refused:
            log.warning(
                "webhook_refused",
                connector=name[:200],
                status=refused.status,
                reason=refused.logged,
                **refused.data,
            )
            return JSONResponse({"error": refused.reason}, status_code=refused.status)

    async def _receive(self, request: Request, name: str) -> JSONResponse:
        # One snapshot per request: a reload meanwhile does not mix old and new.
        config, given = self._state()
        connector = self._connector(name, config, given)
        if connector is None:
            raise _Refused(404, "no connector by this name receives webhooks here")
        options = getattr(connector.options, "webhook", None)
        webhook = options if isinstance(options, WebhookOptions) else None
        limit = webhook.max_body_bytes if webhook else DEFAULT_MAX_BODY_BYTES
        body = await _read_body(request, limit)
        headers = dict(request.headers)
        try:
            connector.verify_webhook(request.method, str(request.url), headers, body, self._clock())
        except WebhookNotSupportedError:
            raise _Refused(404, f"connector {name} receives no webhooks") from None
        except WebhookSignatureError as exc:
            raise _Refused(401, str(exc)) from None
        except ConnectorError as exc:
            # Anything else that stops verification refuses the request the same way.
            raise _Refused(
                401, "the request could not be verified", error_type=type(exc).__name__
            ) from None
        try:
            events = connector.parse_webhook(headers, body)
        except ConnectorError as exc:
            raise _Refused(
                400,
                f"the body is not a webhook payload this connector reads: {str(exc)[:200]}",
                logged="the body is not a webhook payload this connector reads",
                error_type=type(exc).__name__,
            ) from None
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            # A parser tripping over a hostile body (nested 5000 deep, say): the sender's
            # mistake, not a server fault.
            raise _Refused(
                400,
                "the body is not a webhook payload this connector reads",
                error_type=type(exc).__name__,
            ) from None
        header_id = None
        if webhook and webhook.delivery_id_header:
            header_id = request.headers.get(webhook.delivery_id_header)
        entries, ignored = self._entries(name, events, header_id, self._syncs(config))
        try:
            new = await run_in_threadpool(self._store.inbox_add, name, entries)
        except (StoreError, SQLAlchemyError) as exc:
            raise _Refused(
                503,
                "the inbox cannot store events right now; retry later",
                error_type=type(exc).__name__,
            ) from None
        deliveries = list(dict.fromkeys(e.delivery_id for e in entries if e.delivery_id))
        log.info(
            "webhook_received",
            connector=name,
            status=200,
            received=len(events),
            stored=len(entries),
            new=new,
            ignored=ignored,
            delivery_ids=deliveries[:_LOGGED_DELIVERIES],
        )
        return JSONResponse({"received": len(events), "new": new, "ignored": ignored})

    def _entries(
        self,
        name: str,
        events: Sequence[WebhookEvent],
        header_id: str | None,
        by_object: Mapping[tuple[str, str], list[str]],
    ) -> tuple[list[InboxEntrySpec], int]:
        """One inbox entry per event and sync it concerns; how many concerned none."""
        entries: list[InboxEntrySpec] = []
        ignored = 0
        for index, event in enumerate(events):
            _check_event(event, index)
            delivery = event.delivery_id
            if delivery is None and header_id:
                delivery = f"{header_id}:{index}"
            if delivery is not None and len(delivery) > _MAX_ID:
                raise _Refused(400, f"event {index}: the delivery id is over {_MAX_ID} characters")
            syncs = by_object.get((name, event.external_object), [])
            if not syncs:
                ignored += 1
                continue
            data = event_to_data(event)
            entries.extend(
                InboxEntrySpec(
                    sync=sync,
                    external_object=event.external_object,
                    external_id=event.external_id,
                    event=data,
                    delivery_id=delivery,
                )
                for sync in syncs
            )
        return entries, ignored


def _check_event(event: WebhookEvent, index: int) -> None:
    ident = event.external_id
    if not isinstance(ident, str) or not ident or len(ident) > _MAX_ID:
        raise _Refused(400, f"event {index}: the external id must be 1 to {_MAX_ID} characters")
    if not isinstance(event.external_object, str):
        raise _Refused(400, f"event {index}: the external object must be text")


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to be over ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise _Refused(400, "the Content-Length header is not a number") from None
        if size > limit:
            raise _Refused(413, f"the body is over this connector's {limit} byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _Refused(413, f"the body is over this connector's {limit} byte limit")
    return bytes(body)
