"""Writing a ``rest`` object: creates, updates and deletes, one request per record or
through batch endpoints; a create is never sent twice blindly.

A create is sent again after a lost answer only once the record was looked up and not found
(by the match field, or by the key syncd wrote in ``create_key_field``), or when the API
dedupes creates by ``idempotency_header``. With none of those the record is failed for an
operator, marked as maybe created, instead of risking a duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from connectors.base import (
    ConnectorError,
    CreateCheck,
    ExternalRecord,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from connectors.rest.client import Answer
from connectors.rest.errors import AnswerLostError, AuthError, TransientError
from connectors.rest.options import BatchOptions, ObjectOptions
from connectors.rest.paging import dig
from connectors.rest.reading import RestReader
from connectors.rest.values import halts, item_path, nest

__all__ = ["RestWriter"]


class RestWriter:
    """The writing half of one ``rest`` connector, over its reader (and its HTTP client)."""

    def __init__(self, reader: RestReader) -> None:
        self.reader = reader
        self.name = reader.name
        self.options = reader.options
        self.client = reader.client

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        obj = self.reader.object(external_object)
        if not requests:
            return []
        searches = sum(1 for r in requests if self.searches(obj, r))
        self.reader.need(len(requests) + searches if not obj.batch_create else searches + 1)
        results: list[WriteResult | None] = [None] * len(requests)
        halt: list[ConnectorError] = []
        creates: list[tuple[int, WriteRequest]] = []
        updates: list[tuple[int, WriteRequest]] = []
        for index, request in enumerate(requests):
            if request.external_id is not None:
                updates.append((index, request))
                continue
            if not self.searches(obj, request):
                creates.append((index, request))
                continue
            # A create whose record may exist from a retry: search, then create or finish it.
            results[index] = self.guard(halt, partial(self.create, obj, request))
        for items, batch, is_create in (
            (creates, obj.batch_create, True),
            (updates, obj.batch_update, False),
        ):
            if batch is not None and len(items) > 1:
                self.write_batches(obj, batch, items, results, halt, create=is_create)
                continue
            for index, request in items:
                one = self.create if is_create else self.update
                results[index] = self.guard(halt, partial(one, obj, request))
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        obj = self.reader.object(external_object)
        if not ids:
            return []
        self.reader.need(len(ids))
        halt: list[ConnectorError] = []
        return [self.guard(halt, partial(self.delete_one, obj, str(raw))) for raw in ids]

    def find_created(
        self, external_object: str, requests: Sequence[WriteRequest]
    ) -> list[CreateCheck]:
        obj = self.reader.object(external_object)
        self.reader.need(sum(1 for r in requests if self.lookup_way(obj, r) is not None))
        return [self.check_created(obj, request) for request in requests]

    def searches(self, obj: ObjectOptions, request: WriteRequest) -> bool:
        return (
            request.external_id is None
            and request.match is not None
            and obj.find_param is not None
            and request.match[0] == obj.find_param
            and request.match[1] not in (None, "")
        )

    def create(self, obj: ObjectOptions, request: WriteRequest) -> WriteResult:
        if self.searches(obj, request):
            assert request.match is not None
            existing = self.reader.find_one(obj, request.match[0], request.match[1])
            if existing is not None:
                # A retry after a lost answer (or a record made elsewhere): finish it.
                return self.finish_created(obj, request, existing, matched=True)
        attempts = self.options.retry.attempts
        for _ in range(attempts):
            try:
                return self.send_create(obj, request)
            except AnswerLostError as lost:
                try:
                    check = self.check_created(obj, request)
                except AuthError:
                    raise
                except ConnectorError as exc:
                    return self.maybe_created(
                        obj, lost, f"looking it up failed ({exc})", retriable=True
                    )
                if check.record is not None:
                    return self.finish_created(obj, request, check.record)
                if not check.safe:
                    assert check.reason is not None
                    return self.maybe_created(obj, lost, check.reason, retriable=False)
                # Looked and not there: the API did not make it, so sending again is safe.
        return self.failure(
            f"the create's answer was lost {attempts} times (retry.attempts) and the record "
            "was not there each time it was looked up; it is tried again later",
            True,
        )

    def send_create(self, obj: ObjectOptions, request: WriteRequest) -> WriteResult:
        """One create request; AnswerLostError when the API may have made it unseen."""
        endpoint = obj.create_endpoint()
        fields = dict(request.fields)
        if obj.create_key_field is not None:
            fields[obj.create_key_field] = request.key
        headers = {obj.idempotency_header: request.key} if obj.idempotency_header else {}
        answer = self.client.call(
            endpoint.method,
            endpoint.path,
            body=self.wrap(obj, fields),
            headers=headers,
            idempotent=obj.idempotency_header is not None,
        )
        if not answer.ok:
            return self.failed(answer, None)
        record = self.answer_record(obj, answer)
        if record is None:
            # The API may have made it: look before sending it again.
            raise AnswerLostError(
                f"connector {self.name}: {answer.what} answered {answer.status} without a "
                "record with an id"
            )
        return WriteResult(WriteOutcome.CREATED, external_id=record.id, record=record)

    def finish_created(
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
        done = self.update(obj, WriteRequest(request.key, existing.id, request.fields))
        if not done.ok:
            return done
        return WriteResult(
            WriteOutcome.CREATED,
            external_id=existing.id,
            record=done.record or existing,
            matched=matched,
        )

    def lookup_way(self, obj: ObjectOptions, request: WriteRequest) -> tuple[str, str, Any] | None:
        """How a create's record is found: (query parameter, field, value), or None."""
        param = obj.key_param()
        if obj.create_key_field is not None and param is not None:
            return param, obj.create_key_field, request.key
        if self.searches(obj, request):
            assert request.match is not None and obj.find_param is not None
            return obj.find_param, request.match[0], request.match[1]
        return None

    def check_created(self, obj: ObjectOptions, request: WriteRequest) -> CreateCheck:
        way = self.lookup_way(obj, request)
        if way is not None:
            return CreateCheck(record=self.reader.search(obj, *way), safe=True)
        if obj.idempotency_header is not None:
            return self.replay_created(obj, request)
        return CreateCheck(
            reason=(
                "syncd cannot look it up (no find_param for a match value, no "
                "create_key_field, no idempotency_header)"
            )
        )

    def replay_created(self, obj: ObjectOptions, request: WriteRequest) -> CreateCheck:
        """The create sent again with its key: the API answers the record the first one
        made (or makes it now, if it never did). Either way it is this create's record,
        returned so the engine links it before its read could import it as new."""
        try:
            result = self.send_create(obj, request)
        except AnswerLostError as lost:
            return CreateCheck(reason=f"sending it again with its key lost the answer too ({lost})")
        if result.ok and result.record is not None:
            return CreateCheck(record=result.record)
        if result.retriable:
            raise ConnectorError(str(result.error), retriable=True)
        # Refused outright: the key was not known (a known key is answered with its record
        # before anything is checked), so the first create made nothing.
        return CreateCheck(safe=True)

    def maybe_created(
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

    def update(self, obj: ObjectOptions, request: WriteRequest) -> WriteResult:
        assert request.external_id is not None
        endpoint = obj.update_endpoint()
        answer = self.client.call(
            endpoint.method,
            item_path(endpoint.path, request.external_id),
            body=self.wrap(obj, dict(request.fields)),
        )
        if not answer.ok:
            return self.failed(answer, request.external_id)
        record = self.answer_record(obj, answer)
        if record is not None and record.id != request.external_id:
            record = None  # an answer about something else tells us nothing
        return WriteResult(WriteOutcome.UPDATED, external_id=request.external_id, record=record)

    def delete_one(self, obj: ObjectOptions, external_id: str) -> WriteResult:
        endpoint = obj.delete_endpoint()
        answer = self.client.call(endpoint.method, item_path(endpoint.path, external_id))
        if answer.ok or answer.status in (404, 410):
            return WriteResult(WriteOutcome.DELETED, external_id=external_id)
        return self.failed(answer, external_id)

    def write_batches(
        self,
        obj: ObjectOptions,
        batch: BatchOptions,
        items: list[tuple[int, WriteRequest]],
        results: list[WriteResult | None],
        halt: list[ConnectorError],
        *,
        create: bool,
    ) -> None:
        one = self.create if create else self.update
        for start in range(0, len(items), batch.max):
            chunk = items[start : start + batch.max]
            if halt:
                for index, request in chunk:
                    results[index] = self.guard(halt, partial(one, obj, request))
                continue
            inputs: list[dict[str, Any]] = []
            for _, request in chunk:
                fields = dict(request.fields)
                if create and obj.create_key_field is not None:
                    fields[obj.create_key_field] = request.key
                item = self.wrap(obj, fields)
                if request.external_id is not None:
                    item[obj.id_field] = request.external_id
                inputs.append(item)
            headers: dict[str, str] = {}
            if create and obj.idempotency_header:
                keys = "\n".join(r.key for _, r in chunk).encode()
                key = "batch-" + hashlib.sha256(keys).hexdigest()[:40]
                headers[obj.idempotency_header] = key
            try:
                answer = self.client.call(
                    batch.method,
                    batch.path,
                    body=nest(batch.request_path, inputs),
                    headers=headers,
                    idempotent=not create or obj.idempotency_header is not None,
                )
            except AuthError:
                raise
            except AnswerLostError as lost:
                # The API may have made some or all of them: each is looked up first.
                for index, request in chunk:
                    results[index] = self.guard(halt, partial(self.recover, obj, request, lost))
                continue
            except ConnectorError as exc:
                for index, _ in chunk:
                    results[index] = self.failure(str(exc), exc.retriable)
                if halts(exc):
                    halt.append(exc)
                continue
            if 400 <= answer.status < 500:
                # Some record in it is refused: write them one by one so it fails alone.
                for index, request in chunk:
                    results[index] = self.guard(halt, partial(one, obj, request))
                continue
            try:
                out = dig(answer.json(self.name), batch.response_path)
                if not isinstance(out, list) or len(out) != len(chunk):
                    raise TransientError(
                        f"{answer.what} answered {len(out) if isinstance(out, list) else 'no'} "
                        f"results at {batch.response_path!r} for {len(chunk)} records",
                    )
                records = [self.reader.record(obj, self.reader.unwrap(obj, item)) for item in out]
            except ConnectorError as exc:
                for index, request in chunk:
                    if create:
                        # Answered 2xx: they were probably made; look before sending again.
                        unread = AnswerLostError(str(exc))
                        work = partial(self.recover, obj, request, unread)
                        results[index] = self.guard(halt, work)
                    else:
                        results[index] = self.failure(str(exc), True)
                continue
            outcome = WriteOutcome.CREATED if create else WriteOutcome.UPDATED
            for (index, _), record in zip(chunk, records, strict=True):
                results[index] = WriteResult(outcome, external_id=record.id, record=record)

    def recover(
        self, obj: ObjectOptions, request: WriteRequest, lost: AnswerLostError
    ) -> WriteResult:
        """A create of a batch whose answer was lost: found, made alone, or left to a person."""
        check = self.check_created(obj, request)
        if check.record is not None:
            return self.finish_created(obj, request, check.record)
        if not check.safe:
            assert check.reason is not None
            return self.maybe_created(obj, lost, check.reason, retriable=False)
        return self.create(obj, request)

    def guard(self, halt: list[ConnectorError], work: Callable[[], WriteResult]) -> WriteResult:
        """One request's result; a failure of the whole call becomes this record's failure.

        An expired quota or a long Retry-After stops the rest of the batch (each gets the
        same retriable failure) instead of being asked again per record; bad credentials
        raise, so the engine pauses the sync.
        """
        if halt:
            return self.failure(str(halt[0]), True)
        try:
            return work()
        except AuthError:
            raise
        except ConnectorError as exc:
            if halts(exc):
                halt.append(exc)
            return self.failure(str(exc), exc.retriable)

    def answer_record(self, obj: ObjectOptions, answer: Answer) -> ExternalRecord | None:
        if not answer.body.strip():
            return None
        try:
            return self.reader.record(obj, self.reader.unwrap(obj, answer.json(self.name)))
        except ConnectorError:
            return None

    def wrap(self, obj: ObjectOptions, fields: dict[str, Any]) -> dict[str, Any]:
        if not obj.body_path:
            return fields
        wrapped: dict[str, Any] = nest(obj.body_path, fields)
        return wrapped

    def failed(self, answer: Answer, external_id: str | None) -> WriteResult:
        retriable = False
        if answer.status in (404, 410) and external_id is not None:
            text = f"{answer.what} answered {answer.status}: no record with id {external_id!r}"
        else:
            text = f"{answer.what} answered {answer.status}{self.reader.reason(answer)}"
        return WriteResult(
            WriteOutcome.FAILED, external_id=external_id, error=text, retriable=retriable
        )

    def failure(self, error: str, retriable: bool) -> WriteResult:
        return WriteResult(WriteOutcome.FAILED, error=error, retriable=retriable)
