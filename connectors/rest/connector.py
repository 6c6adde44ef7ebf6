"""The ``rest`` connector: any JSON HTTP API, described in YAML, no code.

Each object is a list endpoint (``path``) plus where its records, ids and timestamps are,
how it pages, and which endpoints create, update and delete. Reading changes asks the list
endpoint for records updated since the stored watermark (minus a lookback), page by page;
the cursor carries both the watermark and the paging token, so the next page of a run
continues exactly and a failed run is re-read from its start next time (an API need not
list in timestamp order, so the watermark only moves once a run has read every page).

Reads by id go one GET per id, or ``batch_read.max`` ids per call when the API has a
read-many endpoint. Writes go one request per record (or through batch endpoints when
configured); a record the API refuses is that record's FAILED result and the rest go on.
A create is never sent twice blindly: when ``find_param`` can search the match field it
looks first; when its answer is lost (a timeout, a dropped connection, a 502 after the API
may have made the record) it is sent again only after the record was looked up and not found
(by the match field, or by the key syncd wrote in ``create_key_field``), or when the API
dedupes creates by ``idempotency_header``. With none of those the record is failed for an
operator, marked as maybe created, instead of risking a duplicate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from connectors.base import (
    ChangePage,
    ConnectorError,
    ConnectorOptions,
    CreateCheck,
    Cursor,
    ExternalRecord,
    WebhookEvent,
    WebhookNotSupportedError,
    WriteRequest,
    WriteResult,
)
from connectors.http import ClientSettings, HttpClients, HttpConnector
from connectors.rest._batch_read import id_chunks
from connectors.rest.client import HttpClient
from connectors.rest.errors import (
    AuthError,
    WebhookPayloadError,
)
from connectors.rest.options import RestOptions
from connectors.rest.paging import Token, dig, page_request
from connectors.rest.reading import LIST_LIMIT, RestReader
from connectors.rest.values import (
    format_since,
    header,
    iso,
    time_or_none,
)
from connectors.rest.writing import RestWriter
from connectors.webhooks import verify_signature

__all__ = ["RestConnector"]

#: Events one webhook body may carry.
MAX_WEBHOOK_EVENTS = 10_000
#: Pages a single ``fetch_changes`` call skips over when none of their records is new.
MAX_SKIPPED_PAGES = 1000


class RestConnector(HttpConnector[RestOptions]):
    """Reads and writes the records of one JSON HTTP API."""

    type_name: ClassVar[str] = "rest"
    options_model: ClassVar[type[ConnectorOptions]] = RestOptions

    def __init__(
        self,
        name: str,
        options: ConnectorOptions,
        *,
        http: HttpClients | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(name, options, http=http)
        self._rest = self.options
        self._client = HttpClient(
            name,
            self.options,
            sleep=sleep,
            clock=clock,
            now=now or (lambda: datetime.now(UTC)),
            http=self.http_client,
        )
        self._reader = RestReader(name, self.options, self._client)
        self._writer = RestWriter(self._reader)

    def client_settings(self) -> ClientSettings:
        options = self.options
        return ClientSettings(
            timeout=options.timeout_seconds,
            base_url=options.base_url,
            headers={"Accept": "application/json", **options.headers},
        )

    # -- the contract -----------------------------------------------------------------

    def check_object(self, external_object: str) -> str | None:
        """The object is configured, the API answers, takes our credentials and lists it.

        One GET of the object's first page (one record), asked once without retries.
        """
        if external_object not in self._rest.objects:
            return self._reader.unknown_object(external_object)
        obj = self._rest.objects[external_object]
        target, query = page_request(obj, None, {}, 1)
        try:
            answer = self._client.call("GET", target, params=query, attempts=1)
        except AuthError as exc:
            raise AuthError(f"{exc}; the API refused the credentials", status=exc.status) from None
        except ConnectorError as exc:
            if not exc.retriable:
                return str(exc)
            return f"connector {self.name}: cannot reach {self._rest.base_url}: {exc}"
        if answer.status == 404:
            return (
                f"connector {self.name}: object {external_object}: {answer.what} answered 404;"
                " no such endpoint at this base_url (check the object's path:)"
            )
        if not answer.ok:
            return str(self._reader.refused(answer))
        return None

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        if limit < 1:
            raise ConnectorError(f"connector {self.name}: limit must be at least 1, not {limit}")
        obj = self._reader.object(external_object)
        watermark = time_or_none(cursor, "watermark")
        token: Token = None
        run_max: datetime | None = None
        if cursor is None or resume or cursor.get("next") is None:
            since = watermark - timedelta(seconds=obj.lookback_seconds) if watermark else None
        else:
            since = time_or_none(cursor, "run_since")
            run_max = time_or_none(cursor, "run_max")
            token = cursor["next"]
        params: dict[str, str] = {}
        if since is not None and obj.updated_since_param:
            params[obj.updated_since_param] = format_since(since, obj.updated_since_format)
        kept: list[ExternalRecord] = []
        for _ in range(MAX_SKIPPED_PAGES):
            records, following = self._reader.page(obj, token, params, limit)
            for record in records:
                if record.updated_at is not None and (
                    run_max is None or record.updated_at > run_max
                ):
                    run_max = record.updated_at
            # Without a server-side filter (or with a coarse one) drop what is not new.
            kept = [
                r for r in records if since is None or r.updated_at is None or r.updated_at >= since
            ]
            token = following
            if kept or token is None:
                break
        if token is None:
            done = max((t for t in (watermark, run_max) if t is not None), default=None)
            new_cursor: Cursor = {"watermark": iso(done), "next": None}
        else:
            new_cursor = {
                "watermark": iso(watermark),
                "run_since": iso(since),
                "run_max": iso(run_max),
                "next": token,
            }
        return ChangePage(records=kept, cursor=new_cursor, has_more=token is not None)

    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        obj = self._reader.object(external_object)
        wanted = list(dict.fromkeys(str(i) for i in ids))
        found: dict[str, ExternalRecord] = {}
        alone = wanted
        if obj.batch_read is not None:
            chunks, alone = id_chunks(obj.batch_read, wanted)
            self._reader.need(len(chunks))
            for chunk in chunks:
                found.update(self._reader.read_batch(obj, obj.batch_read, chunk))
            # Left out of an answer: gone, or cut by a server that caps its answers. Ask
            # each alone, so a capped answer never makes a live record look deleted.
            alone += [i for chunk in chunks for i in chunk if i not in found]
        self._reader.need(len(alone))
        for external_id in alone:
            record = self._reader.read_one(obj, external_id)
            if record is not None:
                found[external_id] = record
        return [found[i] for i in wanted if i in found]

    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        obj = self._reader.object(external_object)
        if obj.find_param != field_name:
            raise ConnectorError(
                f"connector {self.name}: object {external_object} cannot search by "
                f"{field_name!r}; set find_param: {field_name} if the API filters by it",
                field=field_name,
            )
        asked = list(dict.fromkeys(v for v in values if v is not None and v != ""))
        self._reader.need(len(asked))
        result: dict[Any, ExternalRecord] = {}
        for value in asked:
            record = self._reader.find_one(obj, field_name, value)
            if record is not None:
                result[value] = record
        return result

    def finds_before_create(self, external_object: str, field_name: str) -> bool:
        """A create searches first when ``find_param`` filters by its match field."""
        return self._reader.object(external_object).find_param == field_name

    def iter_ids(self, external_object: str) -> Iterator[str]:
        obj = self._reader.object(external_object)
        token: Token = None
        seen: set[Token] = set()
        while True:
            records, token = self._reader.page(obj, token, {}, LIST_LIMIT)
            yield from (r.id for r in records)
            if token is None:
                return
            if token in seen:
                raise self._reader.looping()
            seen.add(token)

    def find_created(
        self, external_object: str, requests: Sequence[WriteRequest]
    ) -> list[CreateCheck]:
        return self._writer.find_created(external_object, requests)

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        return self._writer.write(external_object, requests)

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        return self._writer.delete(external_object, ids)

    def verify_webhook(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None:
        webhook = self._rest.webhook
        if webhook is None:
            raise WebhookNotSupportedError(
                f"connector {self.name} has no webhook: section, so it receives no webhooks"
            )
        verify_signature(webhook, method=method, url=url, headers=headers, body=body, now=now)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        webhook = self._rest.webhook
        if webhook is None:
            raise WebhookNotSupportedError(f"connector {self.name} receives no webhooks")
        if len(body) > webhook.max_body_bytes:
            raise WebhookPayloadError(
                f"connector {self.name}: webhook body of {len(body)} bytes is over "
                f"max_body_bytes ({webhook.max_body_bytes})"
            )
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise WebhookPayloadError(f"connector {self.name}: webhook body is not JSON") from None
        events = dig(data, self._rest.webhook_events_path)
        if isinstance(events, dict):
            events = [events]
        if not isinstance(events, list):
            where = self._rest.webhook_events_path or "the body"
            raise WebhookPayloadError(
                f"connector {self.name}: webhook {where} is neither an event nor a list of events"
            )
        if len(events) > MAX_WEBHOOK_EVENTS:
            raise WebhookPayloadError(
                f"connector {self.name}: webhook body carries {len(events)} events, over "
                f"{MAX_WEBHOOK_EVENTS}"
            )
        delivery = None
        if webhook.delivery_id_header:
            delivery = header(headers, webhook.delivery_id_header)
        return [self._event(i, event, delivery) for i, event in enumerate(events)]

    # -- reading ----------------------------------------------------------------------

    # -- writing ----------------------------------------------------------------------

    # -- webhooks ---------------------------------------------------------------------

    def _event(self, position: int, event: Any, delivery: str | None) -> WebhookEvent:
        where = f"connector {self.name}: webhook event {position}"
        if not isinstance(event, dict):
            raise WebhookPayloadError(f"{where} is not an object")
        name = event.get("object")
        if name is None:
            if len(self._rest.objects) != 1:
                raise WebhookPayloadError(f"{where} names no object and this connector has several")
            name = next(iter(self._rest.objects))
        if not isinstance(name, str) or name not in self._rest.objects:
            raise WebhookPayloadError(f"{where} names an object this connector does not configure")
        raw_id = event.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
            raise WebhookPayloadError(f"{where} has no usable id")
        external_id = str(raw_id)
        if len(external_id) > 1000:
            raise WebhookPayloadError(f"{where} has an id over 1000 characters")
        deleted = event.get("deleted", False)
        if not isinstance(deleted, bool):
            raise WebhookPayloadError(f"{where}: deleted must be true or false")
        body = event.get("record")
        record = None
        if body is not None:
            obj = self._rest.objects[name]
            if not isinstance(body, dict):
                raise WebhookPayloadError(f"{where}: record must be an object")
            body = {obj.id_field: raw_id, **body} if "." not in obj.id_field else body
            try:
                record = self._reader.record(obj, body)
            except ConnectorError as exc:
                raise WebhookPayloadError(f"{where}: {exc}") from None
            if record.id != external_id:
                raise WebhookPayloadError(f"{where}: the record's id differs from the event's")
            if deleted:
                record = ExternalRecord(record.id, record.fields, record.updated_at, deleted=True)
        return WebhookEvent(
            external_object=name,
            external_id=external_id,
            record=record,
            deleted=deleted,
            delivery_id=delivery,
        )

    # -- helpers ----------------------------------------------------------------------
