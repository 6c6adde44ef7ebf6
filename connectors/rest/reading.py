"""Reading a ``rest`` object: pages of its list endpoint, records by id or by search, and
the checks every answer passes before a record is made of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import ConnectorError, ExternalRecord
from connectors.rest._batch_read import listed, request_parts
from connectors.rest.client import Answer, HttpClient, api_message
from connectors.rest.options import BatchReadOptions, ObjectOptions, RestOptions
from connectors.rest.paging import Token, dig, next_token, page_request
from connectors.rest.values import BAD, Bad, item_path, parse_time, same, text

__all__ = ["LIST_LIMIT", "RestReader"]

#: Page size asked for by ``iter_ids`` and searches, where the API takes one.
LIST_LIMIT = 100


class RestReader:
    """The reading half of one ``rest`` connector (``name``), over its HTTP client."""

    def __init__(self, name: str, options: RestOptions, client: HttpClient) -> None:
        self.name = name
        self.options = options
        self.client = client

    def object(self, name: str) -> ObjectOptions:
        obj = self.options.objects.get(name)
        if obj is None:
            raise ConnectorError(self.unknown_object(name))
        return obj

    def unknown_object(self, name: str) -> str:
        known = ", ".join(sorted(self.options.objects)) or "(none)"
        return f"connector {self.name}: unknown object {name!r}; configured objects: {known}"

    def need(self, calls: int) -> None:
        """Refuse a step the daily quota cannot finish, before its first call."""
        if self.client.quota is not None and calls > 0:
            self.client.quota.check(calls)

    def page(
        self, obj: ObjectOptions, token: Token, params: dict[str, str], limit: int
    ) -> tuple[list[ExternalRecord], Token]:
        target, query = page_request(obj, token, params, limit)
        answer = self.client.call("GET", target, params=query)
        if not answer.ok:
            raise self.refused(answer)
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
        records = [self.record(obj, item, position=i) for i, item in enumerate(raw)]
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
            raise self.looping()
        return records, following

    def read_one(self, obj: ObjectOptions, external_id: str) -> ExternalRecord | None:
        answer = self.client.call("GET", item_path(obj.read_path(), external_id))
        if answer.status in (404, 410):
            return None
        if not answer.ok:
            raise self.refused(answer)
        return self.record(obj, self.unwrap(obj, answer.json(self.name)))

    def read_batch(
        self, obj: ObjectOptions, batch: BatchReadOptions, chunk: Sequence[str]
    ) -> dict[str, ExternalRecord]:
        """The records of ``chunk`` that one batch read returned, by asked id.

        Records for ids not asked are dropped (they answer nothing we asked); an id answered
        twice is dropped too (which one is true?) and so left to be read alone, as is every
        id of a chunk refused with a 4xx other than 401/403: some APIs refuse the whole
        batch for one bad id, or answer 404 when none of them exists.
        """
        target, params, body = request_parts(batch, chunk)
        answer = self.client.call(batch.method, target, params=params, body=body)
        if 400 <= answer.status < 500:
            return {}
        if not answer.ok:
            raise self.refused(answer)
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
            record = self.record(obj, self.unwrap(obj, item), position=position)
            if record.id not in asked:
                continue
            if record.id in found:
                repeated.add(record.id)
            found[record.id] = record
        return {i: r for i, r in found.items() if i not in repeated}

    def find_one(self, obj: ObjectOptions, field_name: str, value: Any) -> ExternalRecord | None:
        assert obj.find_param is not None
        return self.search(obj, obj.find_param, field_name, value)

    def search(
        self, obj: ObjectOptions, param: str, field_name: str, value: Any
    ) -> ExternalRecord | None:
        records, _ = self.page(obj, None, {param: text(value)}, LIST_LIMIT)
        # The API's search may be fuzzy (prefix, contains): keep only an equal value.
        for record in records:
            if same(record.fields.get(field_name), value):
                return record
        return None

    def record(
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
        updated = parse_time(dig(data, obj.updated_field))
        if updated is BAD:
            raise ConnectorError(
                f"connector {self.name}: record {record_id} from {obj.path} has a "
                f"{obj.updated_field!r} that is neither ISO 8601 nor epoch time"
            )
        assert not isinstance(updated, Bad)
        return ExternalRecord(id=record_id, fields=data, updated_at=updated)

    def unwrap(self, obj: ObjectOptions, body: Any) -> Any:
        if obj.body_path and isinstance(dig(body, obj.body_path), dict):
            return dig(body, obj.body_path)
        return body

    def refused(self, answer: Answer) -> ConnectorError:
        return ConnectorError(
            f"connector {self.name}: {answer.what} answered {answer.status}{self.reason(answer)}",
            status=answer.status,
        )

    def reason(self, answer: Answer) -> str:
        message = api_message(answer.body)
        return f": {self.client.scrub(message)}" if message else ""

    def looping(self) -> ConnectorError:
        return ConnectorError(
            f"connector {self.name}: the API answered the same next page again; stopped "
            "rather than read forever (check paging)"
        )
