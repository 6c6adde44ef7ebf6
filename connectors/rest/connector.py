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

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote

from connectors.base import (
    ChangePage,
    ConnectorError,
    ConnectorOptions,
    CreateCheck,
    Cursor,
    ExternalRecord,
    WebhookEvent,
    WebhookNotSupportedError,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from connectors.http import ClientSettings, HttpClients, HttpConnector
from connectors.rest._batch_read import id_chunks, listed, request_parts
from connectors.rest.client import Answer, HttpClient, api_message
from connectors.rest.errors import (
    AnswerLostError,
    AuthError,
    QuotaExhaustedError,
    TransientError,
    WebhookPayloadError,
)
from connectors.rest.options import BatchOptions, BatchReadOptions, ObjectOptions, RestOptions
from connectors.rest.paging import Token, dig, next_token, page_request
from connectors.webhooks import verify_signature

__all__ = ["RestConnector"]

#: Page size asked for by ``iter_ids`` and searches, where the API takes one.
LIST_LIMIT = 100
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
            return self._unknown_object(external_object)
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
            return str(self._refused(answer))
        return None

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        if limit < 1:
            raise ConnectorError(f"connector {self.name}: limit must be at least 1, not {limit}")
        obj = self._object(external_object)
        watermark = _time_or_none(cursor, "watermark")
        token: Token = None
        run_max: datetime | None = None
        if cursor is None or resume or cursor.get("next") is None:
            since = watermark - timedelta(seconds=obj.lookback_seconds) if watermark else None
        else:
            since = _time_or_none(cursor, "run_since")
            run_max = _time_or_none(cursor, "run_max")
            token = cursor["next"]
        params: dict[str, str] = {}
        if since is not None and obj.updated_since_param:
            params[obj.updated_since_param] = _format_since(since, obj.updated_since_format)
        kept: list[ExternalRecord] = []
        for _ in range(MAX_SKIPPED_PAGES):
            records, following = self._page(obj, token, params, limit)
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
            new_cursor: Cursor = {"watermark": _iso(done), "next": None}
        else:
            new_cursor = {
                "watermark": _iso(watermark),
                "run_since": _iso(since),
                "run_max": _iso(run_max),
                "next": token,
            }
        return ChangePage(records=kept, cursor=new_cursor, has_more=token is not None)

    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        obj = self._object(external_object)
        wanted = list(dict.fromkeys(str(i) for i in ids))
        found: dict[str, ExternalRecord] = {}
        alone = wanted
        if obj.batch_read is not None:
            chunks, alone = id_chunks(obj.batch_read, wanted)
            self._need(len(chunks))
            for chunk in chunks:
                found.update(self._read_batch(obj, obj.batch_read, chunk))
            # Left out of an answer: gone, or cut by a server that caps its answers. Ask
            # each alone, so a capped answer never makes a live record look deleted.
            alone += [i for chunk in chunks for i in chunk if i not in found]
        self._need(len(alone))
        for external_id in alone:
            record = self._read_one(obj, external_id)
            if record is not None:
                found[external_id] = record
        return [found[i] for i in wanted if i in found]

    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        obj = self._object(external_object)
        if obj.find_param != field_name:
            raise ConnectorError(
                f"connector {self.name}: object {external_object} cannot search by "
                f"{field_name!r}; set find_param: {field_name} if the API filters by it",
                field=field_name,
            )
        asked = list(dict.fromkeys(v for v in values if v is not None and v != ""))
        self._need(len(asked))
        result: dict[Any, ExternalRecord] = {}
        for value in asked:
            record = self._find_one(obj, field_name, value)
            if record is not None:
                result[value] = record
        return result

    def finds_before_create(self, external_object: str, field_name: str) -> bool:
        """A create searches first when ``find_param`` filters by its match field."""
        return self._object(external_object).find_param == field_name

    def find_created(
        self, external_object: str, requests: Sequence[WriteRequest]
    ) -> list[CreateCheck]:
        obj = self._object(external_object)
        self._need(sum(1 for r in requests if self._lookup_way(obj, r) is not None))
        return [self._check_created(obj, request) for request in requests]

    def iter_ids(self, external_object: str) -> Iterator[str]:
        obj = self._object(external_object)
        token: Token = None
        seen: set[Token] = set()
        while True:
            records, token = self._page(obj, token, {}, LIST_LIMIT)
            yield from (r.id for r in records)
            if token is None:
                return
            if token in seen:
                raise self._looping()
            seen.add(token)

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        obj = self._object(external_object)
        if not requests:
            return []
        searches = sum(1 for r in requests if self._searches(obj, r))
        self._need(len(requests) + searches if not obj.batch_create else searches + 1)
        results: list[WriteResult | None] = [None] * len(requests)
        halt: list[ConnectorError] = []
        creates: list[tuple[int, WriteRequest]] = []
        updates: list[tuple[int, WriteRequest]] = []
        for index, request in enumerate(requests):
            if request.external_id is not None:
                updates.append((index, request))
                continue
            if not self._searches(obj, request):
                creates.append((index, request))
                continue
            # A create whose record may exist from a retry: search, then create or finish it.
            results[index] = self._guard(halt, partial(self._create, obj, request))
        for items, batch, is_create in (
            (creates, obj.batch_create, True),
            (updates, obj.batch_update, False),
        ):
            if batch is not None and len(items) > 1:
                self._write_batches(obj, batch, items, results, halt, create=is_create)
                continue
            for index, request in items:
                one = self._create if is_create else self._update
                results[index] = self._guard(halt, partial(one, obj, request))
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        obj = self._object(external_object)
        if not ids:
            return []
        self._need(len(ids))
        halt: list[ConnectorError] = []
        return [self._guard(halt, partial(self._delete_one, obj, str(raw))) for raw in ids]

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
            delivery = _header(headers, webhook.delivery_id_header)
        return [self._event(i, event, delivery) for i, event in enumerate(events)]

    # -- reading ----------------------------------------------------------------------

    def _page(
        self, obj: ObjectOptions, token: Token, params: dict[str, str], limit: int
    ) -> tuple[list[ExternalRecord], Token]:
        target, query = page_request(obj, token, params, limit)
        answer = self._client.call("GET", target, params=query)
        if not answer.ok:
            raise self._refused(answer)
        body = answer.json(self.name)
        raw = dig(body, obj.records_path)
        if raw is None and obj.records_path and isinstance(body, dict):
            raw = []  # an API that leaves the list out when it is empty
        if not isinstance(raw, list):
            where = f"records_path {obj.records_path!r}" if obj.records_path else "the body"
            raise ConnectorError(
                f"connector {self.name}: {answer.what} answered without a list at {where}; "
                "check records_path"
            )
        records = [self._record(obj, item, position=i) for i, item in enumerate(raw)]
        following = next_token(
            obj,
            token,
            body=body,
            headers=answer.headers,
            url=answer.url,
            count=len(records),
            limit=limit,
        )
        if following is not None and following == token:
            raise self._looping()
        return records, following

    def _read_one(self, obj: ObjectOptions, external_id: str) -> ExternalRecord | None:
        answer = self._client.call("GET", _item_path(obj.read_path(), external_id))
        if answer.status in (404, 410):
            return None
        if not answer.ok:
            raise self._refused(answer)
        return self._record(obj, self._unwrap(obj, answer.json(self.name)))

    def _read_batch(
        self, obj: ObjectOptions, batch: BatchReadOptions, chunk: Sequence[str]
    ) -> dict[str, ExternalRecord]:
        """The records of ``chunk`` that one batch read returned, by asked id.

        Records for ids not asked are dropped (they answer nothing we asked); an id answered
        twice is dropped too (which one is true?) and so left to be read alone, as is every
        id of a chunk refused with a 4xx other than 401/403: some APIs refuse the whole
        batch for one bad id, or answer 404 when none of them exists.
        """
        target, params, body = request_parts(batch, chunk)
        answer = self._client.call(batch.method, target, params=params, body=body)
        if 400 <= answer.status < 500:
            return {}
        if not answer.ok:
            raise self._refused(answer)
        items = listed(batch, answer.json(self.name))
        if items is None:
            where = repr(batch.response_path) if batch.response_path else "the body"
            raise ConnectorError(
                f"connector {self.name}: {answer.what} answered no list of records at "
                f"{where}; check batch_read.response_path",
                status=answer.status,
            )
        asked = set(chunk)
        found: dict[str, ExternalRecord] = {}
        repeated: set[str] = set()
        for position, item in enumerate(items):
            record = self._record(obj, self._unwrap(obj, item), position=position)
            if record.id not in asked:
                continue
            if record.id in found:
                repeated.add(record.id)
            found[record.id] = record
        return {i: r for i, r in found.items() if i not in repeated}

    def _find_one(self, obj: ObjectOptions, field_name: str, value: Any) -> ExternalRecord | None:
        assert obj.find_param is not None
        return self._search(obj, obj.find_param, field_name, value)

    def _search(
        self, obj: ObjectOptions, param: str, field_name: str, value: Any
    ) -> ExternalRecord | None:
        records, _ = self._page(obj, None, {param: _text(value)}, LIST_LIMIT)
        # The API's search may be fuzzy (prefix, contains): keep only an equal value.
        for record in records:
            if _same(record.fields.get(field_name), value):
                return record
        return None

    def _record(
        self, obj: ObjectOptions, data: Any, *, position: int | None = None
    ) -> ExternalRecord:
        at = f" (record {position})" if position is not None else ""
        if not isinstance(data, dict):
            raise ConnectorError(
                f"connector {self.name}: {obj.path} answered a record{at} that is not an object"
            )
        raw_id = dig(data, obj.id_field)
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
            raise ConnectorError(
                f"connector {self.name}: a record{at} from {obj.path} has no usable "
                f"{obj.id_field!r}; check id_field"
            )
        record_id = str(raw_id)
        if len(record_id) > 1000:
            raise ConnectorError(f"connector {self.name}: a record id from {obj.path} is too long")
        updated = _parse_time(dig(data, obj.updated_field))
        if updated is _BAD:
            raise ConnectorError(
                f"connector {self.name}: record {record_id} from {obj.path} has a "
                f"{obj.updated_field!r} that is neither ISO 8601 nor epoch time"
            )
        assert not isinstance(updated, _Bad)
        return ExternalRecord(id=record_id, fields=data, updated_at=updated)

    def _unwrap(self, obj: ObjectOptions, body: Any) -> Any:
        if obj.body_path and isinstance(dig(body, obj.body_path), dict):
            return dig(body, obj.body_path)
        return body

    # -- writing ----------------------------------------------------------------------

    def _searches(self, obj: ObjectOptions, request: WriteRequest) -> bool:
        return (
            request.external_id is None
            and request.match is not None
            and obj.find_param is not None
            and request.match[0] == obj.find_param
            and request.match[1] not in (None, "")
        )

    def _create(self, obj: ObjectOptions, request: WriteRequest) -> WriteResult:
        if self._searches(obj, request):
            assert request.match is not None
            existing = self._find_one(obj, request.match[0], request.match[1])
            if existing is not None:
                # A retry after a lost answer (or a record made elsewhere): finish it.
                return self._finish_created(obj, request, existing, matched=True)
        attempts = self._rest.retry.attempts
        for _ in range(attempts):
            try:
                return self._send_create(obj, request)
            except AnswerLostError as lost:
                try:
                    check = self._check_created(obj, request)
                except AuthError:
                    raise
                except ConnectorError as exc:
                    return self._maybe_created(
                        obj, lost, f"looking it up failed ({exc})", retriable=True
                    )
                if check.record is not None:
                    return self._finish_created(obj, request, check.record)
                if not check.safe:
                    assert check.reason is not None
                    return self._maybe_created(obj, lost, check.reason, retriable=False)
                # Looked and not there: the API did not make it, so sending again is safe.
        return self._failure(
            f"the create's answer was lost {attempts} times (retry.attempts) and the record "
            "was not there each time it was looked up; it is tried again later",
            True,
        )

    def _send_create(self, obj: ObjectOptions, request: WriteRequest) -> WriteResult:
        """One create request; AnswerLostError when the API may have made it unseen."""
        endpoint = obj.create_endpoint()
        fields = dict(request.fields)
        if obj.create_key_field is not None:
            fields[obj.create_key_field] = request.key
        headers = {obj.idempotency_header: request.key} if obj.idempotency_header else {}
        answer = self._client.call(
            endpoint.method,
            endpoint.path,
            body=self._wrap(obj, fields),
            headers=headers,
            idempotent=obj.idempotency_header is not None,
        )
        if not answer.ok:
            return self._failed(answer, None)
        record = self._answer_record(obj, answer)
        if record is None:
            # The API may have made it: look before sending it again.
            raise AnswerLostError(
                f"connector {self.name}: {answer.what} answered {answer.status} without a "
                "record with an id"
            )
        return WriteResult(WriteOutcome.CREATED, external_id=record.id, record=record)

    def _finish_created(
        self,
        obj: ObjectOptions,
        request: WriteRequest,
        existing: ExternalRecord,
        *,
        matched: bool = False,
    ) -> WriteResult:
        """A create that found its record: write the request's fields into it.

        ``matched``: found by the match key before creating (a record made elsewhere, so
        the engine reports a link); otherwise it is the record this create made.
        """
        done = self._update(obj, WriteRequest(request.key, existing.id, request.fields))
        if not done.ok:
            return done
        return WriteResult(
            WriteOutcome.CREATED,
            external_id=existing.id,
            record=done.record or existing,
            matched=matched,
        )

    def _lookup_way(self, obj: ObjectOptions, request: WriteRequest) -> tuple[str, str, Any] | None:
        """How a create's record is found: (query parameter, field, value), or None."""
        param = obj.key_param()
        if obj.create_key_field is not None and param is not None:
            return param, obj.create_key_field, request.key
        if self._searches(obj, request):
            assert request.match is not None and obj.find_param is not None
            return obj.find_param, request.match[0], request.match[1]
        return None

    def _check_created(self, obj: ObjectOptions, request: WriteRequest) -> CreateCheck:
        way = self._lookup_way(obj, request)
        if way is not None:
            return CreateCheck(record=self._search(obj, *way), safe=True)
        if obj.idempotency_header is not None:
            return CreateCheck(safe=True)  # the API recognises the create by its key
        return CreateCheck(
            reason=(
                "syncd cannot look it up (no find_param for a match value, no "
                "create_key_field, no idempotency_header)"
            )
        )

    def _maybe_created(
        self, obj: ObjectOptions, lost: AnswerLostError, why: str, *, retriable: bool
    ) -> WriteResult:
        path = obj.create_endpoint().path
        if retriable:
            advice = "the next try looks it up again before creating"
        else:
            advice = (
                f"check {path} in {self.name} (delete a copy if two exist), then run "
                "`syncd errors retry`"
            )
        return WriteResult(
            WriteOutcome.FAILED,
            error=(
                f"the create's answer was lost ({lost.cause.removeprefix(f'connector {self.name}: ')}); "
                f"the record may exist in {self.name} though {why}: {advice}"
            ),
            retriable=retriable,
            maybe_created=True,
        )

    def _update(self, obj: ObjectOptions, request: WriteRequest) -> WriteResult:
        assert request.external_id is not None
        endpoint = obj.update_endpoint()
        answer = self._client.call(
            endpoint.method,
            _item_path(endpoint.path, request.external_id),
            body=self._wrap(obj, dict(request.fields)),
        )
        if not answer.ok:
            return self._failed(answer, request.external_id)
        record = self._answer_record(obj, answer)
        if record is not None and record.id != request.external_id:
            record = None  # an answer about something else tells us nothing
        return WriteResult(WriteOutcome.UPDATED, external_id=request.external_id, record=record)

    def _delete_one(self, obj: ObjectOptions, external_id: str) -> WriteResult:
        endpoint = obj.delete_endpoint()
        answer = self._client.call(endpoint.method, _item_path(endpoint.path, external_id))
        if answer.ok or answer.status in (404, 410):
            return WriteResult(WriteOutcome.DELETED, external_id=external_id)
        return self._failed(answer, external_id)

    def _write_batches(
        self,
        obj: ObjectOptions,
        batch: BatchOptions,
        items: list[tuple[int, WriteRequest]],
        results: list[WriteResult | None],
        halt: list[ConnectorError],
        *,
        create: bool,
    ) -> None:
        one = self._create if create else self._update
        for start in range(0, len(items), batch.max):
            chunk = items[start : start + batch.max]
            if halt:
                for index, request in chunk:
                    results[index] = self._guard(halt, partial(one, obj, request))
                continue
            inputs: list[dict[str, Any]] = []
            for _, request in chunk:
                fields = dict(request.fields)
                if create and obj.create_key_field is not None:
                    fields[obj.create_key_field] = request.key
                item = self._wrap(obj, fields)
                if request.external_id is not None:
                    item[obj.id_field] = request.external_id
                inputs.append(item)
            headers: dict[str, str] = {}
            if create and obj.idempotency_header:
                keys = "\n".join(r.key for _, r in chunk).encode()
                key = "batch-" + hashlib.sha256(keys).hexdigest()[:40]
                headers[obj.idempotency_header] = key
            try:
                answer = self._client.call(
                    batch.method,
                    batch.path,
                    body=_nest(batch.request_path, inputs),
                    headers=headers,
                    idempotent=not create or obj.idempotency_header is not None,
                )
            except AuthError:
                raise
            except AnswerLostError as lost:
                # The API may have made some or all of them: each is looked up first.
                for index, request in chunk:
                    results[index] = self._guard(halt, partial(self._recover, obj, request, lost))
                continue
            except ConnectorError as exc:
                for index, _ in chunk:
                    results[index] = self._failure(str(exc), exc.retriable)
                if _halts(exc):
                    halt.append(exc)
                continue
            if 400 <= answer.status < 500:
                # Some record in it is refused: write them one by one so it fails alone.
                for index, request in chunk:
                    results[index] = self._guard(halt, partial(one, obj, request))
                continue
            try:
                out = dig(answer.json(self.name), batch.response_path)
                if not isinstance(out, list) or len(out) != len(chunk):
                    raise TransientError(
                        f"{answer.what} answered {len(out) if isinstance(out, list) else 'no'} "
                        f"results at {batch.response_path!r} for {len(chunk)} records",
                    )
                records = [self._record(obj, self._unwrap(obj, item)) for item in out]
            except ConnectorError as exc:
                for index, request in chunk:
                    if create:
                        # Answered 2xx: they were probably made; look before sending again.
                        unread = AnswerLostError(str(exc))
                        work = partial(self._recover, obj, request, unread)
                        results[index] = self._guard(halt, work)
                    else:
                        results[index] = self._failure(str(exc), True)
                continue
            outcome = WriteOutcome.CREATED if create else WriteOutcome.UPDATED
            for (index, _), record in zip(chunk, records, strict=True):
                results[index] = WriteResult(outcome, external_id=record.id, record=record)

    def _recover(
        self, obj: ObjectOptions, request: WriteRequest, lost: AnswerLostError
    ) -> WriteResult:
        """A create of a batch whose answer was lost: found, made alone, or left to a person."""
        check = self._check_created(obj, request)
        if check.record is not None:
            return self._finish_created(obj, request, check.record)
        if not check.safe:
            assert check.reason is not None
            return self._maybe_created(obj, lost, check.reason, retriable=False)
        return self._create(obj, request)

    def _guard(self, halt: list[ConnectorError], work: Callable[[], WriteResult]) -> WriteResult:
        """One request's result; a failure of the whole call becomes this record's failure.

        An expired quota or a long Retry-After stops the rest of the batch (each gets the
        same retriable failure) instead of being asked again per record; bad credentials
        raise, so the engine pauses the sync.
        """
        if halt:
            return self._failure(str(halt[0]), True)
        try:
            return work()
        except AuthError:
            raise
        except ConnectorError as exc:
            if _halts(exc):
                halt.append(exc)
            return self._failure(str(exc), exc.retriable)

    def _answer_record(self, obj: ObjectOptions, answer: Answer) -> ExternalRecord | None:
        if not answer.body.strip():
            return None
        try:
            return self._record(obj, self._unwrap(obj, answer.json(self.name)))
        except ConnectorError:
            return None

    def _wrap(self, obj: ObjectOptions, fields: dict[str, Any]) -> dict[str, Any]:
        if not obj.body_path:
            return fields
        wrapped: dict[str, Any] = _nest(obj.body_path, fields)
        return wrapped

    def _failed(self, answer: Answer, external_id: str | None) -> WriteResult:
        retriable = False
        if answer.status in (404, 410) and external_id is not None:
            text = f"{answer.what} answered {answer.status}: no record with id {external_id!r}"
        else:
            text = f"{answer.what} answered {answer.status}{self._reason(answer)}"
        return WriteResult(
            WriteOutcome.FAILED, external_id=external_id, error=text, retriable=retriable
        )

    def _failure(self, error: str, retriable: bool) -> WriteResult:
        return WriteResult(WriteOutcome.FAILED, error=error, retriable=retriable)

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
                record = self._record(obj, body)
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

    def _object(self, name: str) -> ObjectOptions:
        obj = self._rest.objects.get(name)
        if obj is None:
            raise ConnectorError(self._unknown_object(name))
        return obj

    def _unknown_object(self, name: str) -> str:
        known = ", ".join(sorted(self._rest.objects)) or "(none)"
        return f"connector {self.name}: unknown object {name!r}; configured objects: {known}"

    def _need(self, calls: int) -> None:
        """Refuse a step the daily quota cannot finish, before its first call."""
        if self._client.quota is not None and calls > 0:
            self._client.quota.check(calls)

    def _refused(self, answer: Answer) -> ConnectorError:
        return ConnectorError(
            f"connector {self.name}: {answer.what} answered {answer.status}{self._reason(answer)}",
            status=answer.status,
        )

    def _reason(self, answer: Answer) -> str:
        message = api_message(answer.body)
        return f": {self._client.scrub(message)}" if message else ""

    def _looping(self) -> ConnectorError:
        return ConnectorError(
            f"connector {self.name}: the API answered the same next page again; stopped "
            "rather than read forever (check paging)"
        )


class _Bad:
    """A timestamp that is there but cannot be read."""


_BAD = _Bad()


def _parse_time(value: Any) -> datetime | _Bad | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return _BAD
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return _BAD
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        value = number
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds != seconds or abs(seconds) > 1e15:
            return _BAD
        if abs(seconds) > 1e11:  # milliseconds
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return _BAD
    return _BAD


def _format_since(since: datetime, style: str) -> str:
    if style == "epoch":
        return str(int(since.timestamp()))
    if style == "epoch_ms":
        return str(int(since.timestamp() * 1000))
    return since.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time_or_none(cursor: Cursor | None, key: str) -> datetime | None:
    if cursor is None:
        return None
    raw = cursor.get(key)
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _item_path(template: str, external_id: str) -> str:
    return template.replace("{id}", quote(external_id, safe=""))


def _nest(path: str, value: Any) -> Any:
    if not path:
        return value
    for part in reversed(path.split(".")):
        value = {part: value}
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same(found: Any, asked: Any) -> bool:
    if isinstance(found, str) and isinstance(asked, str):
        return found.strip().casefold() == asked.strip().casefold()
    return found == asked or (found is not None and _text(found) == _text(asked))


def _halts(exc: ConnectorError) -> bool:
    """An expired quota or a Retry-After too long to wait: the rest of a batch stops too."""
    return isinstance(exc, QuotaExhaustedError) or (
        isinstance(exc, TransientError) and exc.retry_after is not None
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
