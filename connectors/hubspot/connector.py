"""The ``hubspot`` connector: HubSpot CRM objects through the v3 object and v4 association APIs.

Changes are read with the search endpoint, sorted by the last-modified property. Search
stops at 10,000 results per query, so before a page would pass that cap the query starts
again at the last modified time seen, dropping the ids already read at exactly that time:
no gap, no duplicate. Writes go in batches of 100 with one result per input; a batch HubSpot
refuses as a whole for one bad input is retried input by input so the others still land.

The parts: ``_http`` (pacing, retries, status → error), ``_writing`` (batch creates, updates,
archives), ``_associations`` (v4 associations and labels), ``_parse`` (answers as records),
``_carry`` (associations carried as fields), ``_webhook``, ``_options``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from connectors.base import (
    ChangePage,
    ConnectorError,
    ConnectorOptions,
    Cursor,
    ExternalRecord,
    WebhookEvent,
    WebhookNotSupportedError,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from connectors.http import ClientSettings, HttpClients, HttpConnector
from connectors.webhooks import verify_signature

from ._associations import Associations
from ._carry import fill_associations, read_only, split_fields, write_associations
from ._http import AuthError, HubSpotClient, HubSpotError
from ._options import HubSpotObjectOptions, HubSpotOptions
from ._parse import (
    bad_answer,
    ms,
    paging_after,
    parse_object,
    results,
)
from ._webhook import parse_events
from ._writing import BATCH, Writer, failed_result

__all__ = ["HubSpotConnector"]

#: Results per search page (HubSpot's maximum).
SEARCH_PAGE = 200
#: Results one search query can reach; HubSpot answers 400 beyond it.
SEARCH_RESULT_CAP = 10_000
#: Values per ``IN`` filter of a ``find_by`` search.
IN_VALUES = 100

#: Standard object names and their type ids; HubSpot accepts either in every path.
TYPE_IDS = {
    "contacts": "0-1",
    "companies": "0-2",
    "deals": "0-3",
    "tickets": "0-5",
    "products": "0-7",
    "line_items": "0-8",
    "communications": "0-18",
    "tasks": "0-27",
    "notes": "0-46",
    "meetings": "0-47",
    "calls": "0-48",
    "emails": "0-49",
    "leads": "0-136",
}


def _canonical(object_type: str) -> str:
    return TYPE_IDS.get(object_type, object_type)


class _RequestError(Exception):
    """One request cannot be sent as given; it becomes that request's FAILED result."""


def _to_hubspot(name: str, value: object) -> str:
    """A value as HubSpot takes it: every property is a string, ``""`` clears it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            raise _RequestError(f"field {name!r} holds {value}, which HubSpot cannot store")
        return format(Decimal(str(value)), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        # A multi-checkbox value is ;-separated.
        return ";".join(_to_hubspot(name, v) for v in value)
    raise _RequestError(f"field {name!r} holds a {type(value).__name__}, not a HubSpot value")


@dataclass
class _Cursor:
    #: The latest last-modified time read (epoch ms) and the ids read at exactly that time.
    after_time: int
    seen_at_time: list[str]
    #: The GTE bound of the search being paged, and its offset (None: start a new query).
    query_time: int
    after: int | None

    @classmethod
    def load(cls, raw: Cursor | None) -> _Cursor:
        if raw is None:
            return cls(0, [], 0, None)
        try:
            after_time = int(raw["after_time"])
            seen = [str(i) for i in raw.get("seen_at_time") or []]
            query_time = int(raw.get("query_time", after_time))
            after = raw.get("after")
            return cls(after_time, seen, query_time, None if after is None else int(after))
        except (KeyError, TypeError, ValueError):
            raise ConnectorError(
                "the stored HubSpot cursor is not one this connector wrote; reset the sync's "
                "cursor to read everything again"
            ) from None

    def dump(self) -> Cursor:
        cursor: Cursor = {"after_time": self.after_time, "seen_at_time": list(self.seen_at_time)}
        if self.after is not None:
            cursor["after"] = str(self.after)
            cursor["query_time"] = self.query_time
        return cursor


class HubSpotConnector(HttpConnector[HubSpotOptions]):
    """HubSpot CRM objects (contacts, companies, deals, custom ``2-…`` objects, …)."""

    type_name: ClassVar[str] = "hubspot"
    options_model: ClassVar[type[ConnectorOptions]] = HubSpotOptions

    def __init__(
        self,
        name: str,
        options: ConnectorOptions,
        *,
        http: HttpClients | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        search_cap: int = SEARCH_RESULT_CAP,
    ) -> None:
        super().__init__(name, options, http=http)
        self._hs = self.options
        self._http = HubSpotClient(self.options, client=self.http_client, clock=clock, sleep=sleep)
        self._search_cap = search_cap
        self._writer = Writer(self._http)
        self._associations = Associations(self._http, self._type_of)
        self._read_only: dict[str, frozenset[str]] = {}

    def client_settings(self) -> ClientSettings:
        options = self.options
        return ClientSettings(timeout=options.timeout_seconds)

    @property
    def requests_sent(self) -> int:
        return self._http.sent

    @property
    def throttled(self) -> int:
        """429 answers received so far (HubSpot asks that these stay under 5 %)."""
        return self._http.throttled

    # -- the contract -----------------------------------------------------------------

    def check_object(self, external_object: str) -> str | None:
        """The object is configured, HubSpot answers, accepts the token and has the object.

        One GET of one record of the object type, asked once without retries.
        """
        obj = self._hs.objects.get(external_object)
        if obj is None:
            known = ", ".join(sorted(self._hs.objects)) or "(none)"
            return (
                f"connector {self.name} configures no object {external_object!r}; objects: {known}"
            )
        path = f"/crm/v3/objects/{obj.object_type}"
        try:
            self._http.request("GET", path, params={"limit": 1}, attempts=1)
        except AuthError as exc:
            raise AuthError(
                f"connector {self.name}: HubSpot refused the access token: {exc}",
                status=exc.status,
            ) from None
        except HubSpotError as exc:
            if exc.status is None:
                return f"connector {self.name}: cannot reach {self._hs.base_url}: {exc}"
            if exc.status in (400, 404):
                return (
                    f"connector {self.name}: object {external_object}: HubSpot has no object"
                    f" type {obj.object_type!r} ({exc})"
                )
            return f"connector {self.name}: {exc}"
        return None

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        if limit < 1:
            raise ConnectorError(f"connector {self.name}: limit must be at least 1, not {limit}")
        obj = self._object(external_object)
        page_size = min(limit, SEARCH_PAGE)
        state = _Cursor.load(cursor)
        if cursor is not None and resume:
            state.query_time = max(0, state.after_time - int(obj.lookback_seconds * 1000))
            state.after = None
        elif state.after is None:
            state.query_time = state.after_time
        path = f"/crm/v3/objects/{obj.object_type}/search"
        restarted_at: int | None = None
        while True:
            if state.after is not None and state.after + page_size > self._search_cap:
                # The next page would pass the search cap: query again from the last time
                # read, dropping the ids read at exactly that time.
                if restarted_at == state.after_time or state.query_time == state.after_time:
                    raise ConnectorError(
                        f"connector {self.name}: more than {self._search_cap} {obj.object_type} "
                        f"records share {obj.modified} = {state.after_time} ms; HubSpot's search "
                        "cannot page past them. Touch a few of them to spread their times."
                    )
                restarted_at = state.after_time
                state.query_time, state.after = state.after_time, None
            body = self._search(obj, state.query_time, page_size, state.after)
            raw = results(body, path)
            records: list[ExternalRecord] = []
            for item in raw:
                record = parse_object(item, obj.modified, path)
                if record.updated_at is None:
                    raise bad_answer(f"record {record.id} has no {obj.modified}", path)
                stamp = ms(record.updated_at)
                if stamp == state.after_time:
                    if record.id in state.seen_at_time:
                        continue
                    state.seen_at_time.append(record.id)
                elif stamp > state.after_time:
                    state.after_time, state.seen_at_time = stamp, [record.id]
                records.append(record)
            offset = (state.after or 0) + len(raw)
            next_offset = self._next_offset(body, offset, len(raw), page_size, path)
            state.after = next_offset
            has_more = next_offset is not None
            if not has_more:
                state.query_time = state.after_time
            if records or not has_more:
                records = fill_associations(self, external_object, obj, records)
                return ChangePage(records=records, cursor=state.dump(), has_more=has_more)

    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        obj = self._object(external_object)
        # HubSpot record ids are numbers; anything else cannot exist and would fail the batch.
        wanted = [i for i in dict.fromkeys(str(i) for i in ids) if i.isdigit()]
        found: dict[str, ExternalRecord] = {}
        path = f"/crm/v3/objects/{obj.object_type}/batch/read"
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start : start + BATCH]
            payload: dict[str, Any] = {"inputs": [{"id": i} for i in chunk]}
            props = self._properties(obj)
            if props is not None:
                payload["properties"] = props
            _, body = self._http.request("POST", path, json_body=payload, accept=frozenset({207}))
            # Ids HubSpot does not have come back in ``errors`` (OBJECT_NOT_FOUND): absent.
            for item in results(body, path):
                record = parse_object(item, obj.modified, path)
                found[record.id] = record
        return fill_associations(
            self, external_object, obj, [found[i] for i in wanted if i in found]
        )

    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        obj = self._object(external_object)
        asked: dict[str, list[Any]] = {}
        for value in values:
            if value is None or isinstance(value, dict | list):
                continue
            key = _to_hubspot(field_name, value).strip().lower()
            if key and len(key) <= 1000:
                asked.setdefault(key, []).append(value)
        if not asked:
            return {}
        if field_name == obj.id_property:
            records = self._read_by_property(obj, field_name, list(asked))
        else:
            records = self._search_in(obj, field_name, list(asked))
        best: dict[str, ExternalRecord] = {}
        for record in records:
            key = str(record.fields.get(field_name) or "").strip().lower()
            if key not in asked:
                continue
            # Several records share the value: keep the oldest id, the same every time.
            if key not in best or int(record.id) < int(best[key].id):
                best[key] = record
        return {value: best[key] for key, given in asked.items() if key in best for value in given}

    @classmethod
    def association_problem(
        cls, options: ConnectorOptions, external_object: str, field_name: str
    ) -> str | None:
        """An association field must be one of the object's ``associations:`` (v4)."""
        if not isinstance(options, HubSpotOptions):
            return None
        obj = options.objects.get(external_object)
        if obj is None or field_name in obj.associations:
            return None
        known = ", ".join(sorted(obj.associations)) or "none"
        return (
            f"HubSpot object {external_object} has no association field {field_name!r}"
            f" (its associations: {known}); HubSpot keeps associations apart from properties"
            f" (those that mirror one, such as associatedcompanyid, are read-only), so declare"
            f" it as objects.{external_object}.associations.{field_name}: {{to: <object>}}"
            " and syncd reads and writes it through the v4 associations API"
        )

    def finds_before_create(self, external_object: str, field_name: str) -> bool:
        """Every create with a match value searches for it first (and a 409 adopts too)."""
        self._object(external_object)
        return True

    def iter_ids(self, external_object: str) -> Iterator[str]:
        obj = self._object(external_object)
        path = f"/crm/v3/objects/{obj.object_type}"
        after: str | None = None
        while True:
            # Ids only: one cheap property instead of HubSpot's default set per record.
            params: dict[str, str | int] = {
                "limit": BATCH,
                "archived": "false",
                "properties": "hs_object_id",
            }
            if after is not None:
                params["after"] = after
            _, body = self._http.request("GET", path, params=params)
            for item in results(body, path):
                if not isinstance(item, dict) or not isinstance(item.get("id"), str | int):
                    raise bad_answer("a listed record has no id", path)
                yield str(item["id"])
            after = paging_after(body, path)
            if after is None:
                return

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        obj = self._object(external_object)
        out: list[WriteResult | None] = [None] * len(requests)
        props: dict[int, dict[str, str]] = {}
        links: dict[int, dict[str, str | None]] = {}
        fixed = self._read_only_of(external_object, requests)
        for pos, request in enumerate(requests):
            fields, links[pos] = split_fields(obj, request.fields)
            try:
                # A read-only property is never sent: HubSpot refuses the whole write for it.
                props[pos] = {
                    str(k): _to_hubspot(str(k), v) for k, v in fields.items() if k not in fixed
                }
            except _RequestError as exc:
                out[pos] = failed_result(str(exc), request.external_id)
        updates: list[tuple[int, str, bool]] = []  # (position, id, reported as created)
        creates: list[int] = []
        for pos, request in enumerate(requests):
            if out[pos] is not None:
                continue
            if request.external_id is not None:
                updates.append((pos, str(request.external_id), False))
            else:
                creates.append(pos)
        # A create with ``match`` first looks for the record: a retry after a lost answer
        # (or a record made in HubSpot meanwhile) is updated instead of duplicated.
        by_field: dict[str, list[int]] = {}
        for pos in creates:
            match = requests[pos].match
            if match is not None and match[1] not in (None, ""):
                by_field.setdefault(match[0], []).append(pos)
        matched: set[int] = set()
        for field_name, positions in by_field.items():
            found = self.find_by(
                external_object,
                field_name,
                [requests[p].match[1] for p in positions],  # type: ignore[index]
            )
            for pos in positions:
                value = requests[pos].match[1]  # type: ignore[index]
                if value in found:
                    updates.append((pos, found[value].id, True))
                    matched.add(pos)
        fresh = [pos for pos in creates if pos not in matched]
        conflicts: list[tuple[int, str]] = []
        for start in range(0, len(fresh), BATCH):
            chunk = fresh[start : start + BATCH]
            self._writer.create(
                obj, [(p, requests[p].key, props[p]) for p in chunk], out, conflicts
            )
        # HubSpot already holds a record with this unique value (409): update that record.
        updates.extend((pos, eid, True) for pos, eid in conflicts)
        for chunk_updates in self._writer.update_chunks(updates):
            self._writer.update(obj, [(p, i, c, props[p]) for p, i, c in chunk_updates], out)
        wanted = [
            (pos, str(result.external_id), links[pos])
            for pos, result in enumerate(out)
            if links[pos] and result is not None and result.ok and result.external_id
        ]
        if wanted:
            write_associations(self, external_object, obj, wanted, out)
        return [
            r
            if r is not None
            else failed_result("HubSpot did not confirm this write", retriable=True)
            for r in out
        ]

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        obj = self._object(external_object)
        out: dict[int, WriteResult] = {}
        todo: list[tuple[int, str]] = []
        for pos, raw in enumerate(ids):
            if str(raw).isdigit():
                todo.append((pos, str(raw)))
            else:
                out[pos] = WriteResult(WriteOutcome.DELETED, external_id=str(raw))
        for start in range(0, len(todo), BATCH):
            self._writer.archive(obj, todo[start : start + BATCH], out)
        return [out[pos] for pos in range(len(ids))]

    def verify_webhook(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None:
        webhook = self._hs.webhook
        if webhook is None:
            raise WebhookNotSupportedError(f"connector {self.name} has no webhook: section")
        if len(body) > webhook.max_body_bytes:
            from connectors.webhooks import WebhookSignatureError

            raise WebhookSignatureError(
                f"the webhook body is {len(body)} bytes, over the {webhook.max_body_bytes} limit"
            )
        verify_signature(
            webhook,
            method=method,
            url=self._hs.webhook_url or url,
            headers=headers,
            body=body,
            now=now,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        webhook = self._hs.webhook
        if webhook is None:
            raise WebhookNotSupportedError(f"connector {self.name} has no webhook: section")
        return parse_events(
            body,
            max_bytes=webhook.max_body_bytes,
            objects_for=self._objects_of_type,
            app_id=self._hs.app_id,
        )

    # -- beyond the contract ----------------------------------------------------------

    def property_definitions(self, object_name: str) -> list[dict[str, Any]]:
        """HubSpot's property definitions (name, type, fieldType, options, …) of an object."""
        object_type = self._type_of(object_name)
        path = f"/crm/v3/properties/{object_type}"
        _, body = self._http.request("GET", path)
        items = results(body, path)
        if not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
            raise bad_answer("a property definition has no name", path)
        return items

    def read_associations(
        self, from_object: str, ids: Sequence[str], to_object: str
    ) -> dict[str, list[tuple[str, list[str]]]]:
        """The associated ids (with label names) of each record, in HubSpot's order."""
        return self._associations.read_associations(from_object, ids, to_object)

    def write_associations(
        self,
        from_object: str,
        to_object: str,
        links: Sequence[tuple[str, str, Sequence[str]]],
    ) -> list[WriteResult]:
        """Create each ``(from_id, to_id, labels)`` link; one result per link, in order."""
        return self._associations.write_associations(from_object, to_object, links)

    def remove_associations(
        self,
        from_object: str,
        to_object: str,
        links: Sequence[tuple[str, str, Sequence[str]]],
    ) -> list[WriteResult]:
        """Remove each link (or only its labels); one result per link, in order."""
        return self._associations.remove_associations(from_object, to_object, links)

    def _read_only_of(
        self, external_object: str, requests: Sequence[WriteRequest]
    ) -> frozenset[str]:
        """The object's read-only properties, read once per connector (only when a write
        carries properties at all)."""
        if external_object not in self._read_only:
            obj = self._object(external_object)
            if not any(set(r.fields) - set(obj.associations) for r in requests):
                return frozenset()
            try:
                definitions = self.property_definitions(external_object)
            except AuthError as exc:
                if exc.status != 403:
                    raise
                # The token may not read schemas (a missing scope): write as before, and
                # HubSpot names a read-only property in its refusal of that record.
                definitions = []
            self._read_only[external_object] = read_only(definitions)
        return self._read_only[external_object]

    # -- reading helpers --------------------------------------------------------------

    def _object(self, external_object: str) -> HubSpotObjectOptions:
        obj = self._hs.objects.get(external_object)
        if obj is None:
            raise ConnectorError(self.check_object(external_object) or "", object=external_object)
        return obj

    def _type_of(self, name: str) -> str:
        """A configured object's type, or a HubSpot type name or id given directly."""
        if name in self._hs.objects:
            return self._hs.objects[name].object_type
        if name in TYPE_IDS or name.replace("-", "").isdigit():
            return name
        known = ", ".join(sorted(self._hs.objects))
        raise ConnectorError(
            f"connector {self.name}: {name!r} is neither a configured object ({known}) nor a "
            "HubSpot object type"
        )

    def _objects_of_type(self, hubspot_type: str) -> list[str]:
        wanted = _canonical(hubspot_type)
        return [n for n, o in self._hs.objects.items() if _canonical(o.object_type) == wanted]

    def _properties(self, obj: HubSpotObjectOptions, *extra: str) -> list[str] | None:
        """The properties to ask for; None leaves HubSpot's defaults (which hold the date)."""
        if not obj.properties and not extra:
            return None
        return list(dict.fromkeys([*obj.properties, obj.modified, *extra]))

    def _search(
        self, obj: HubSpotObjectOptions, since: int, page_size: int, after: int | None
    ) -> Any:
        payload: dict[str, Any] = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": obj.modified, "operator": "GTE", "value": str(since)}
                    ]
                }
            ],
            "sorts": [{"propertyName": obj.modified, "direction": "ASCENDING"}],
            "limit": page_size,
        }
        props = self._properties(obj)
        if props is not None:
            payload["properties"] = props
        if after is not None:
            payload["after"] = str(after)
        path = f"/crm/v3/objects/{obj.object_type}/search"
        _, body = self._http.request("POST", path, json_body=payload, search=True)
        return body

    def _next_offset(
        self, body: object, offset: int, got: int, page_size: int, path: str
    ) -> int | None:
        token = paging_after(body, path)
        if token is not None:
            try:
                return int(token)
            except ValueError:
                raise bad_answer("search paging.next.after is not an offset", path) from None
        total = body.get("total") if isinstance(body, dict) else None
        # At the cap HubSpot stops offering a next page although more records match.
        if isinstance(total, int) and got == page_size and total > offset:
            return offset
        return None

    def _read_by_property(
        self, obj: HubSpotObjectOptions, field_name: str, keys: list[str]
    ) -> list[ExternalRecord]:
        path = f"/crm/v3/objects/{obj.object_type}/batch/read"
        found: list[ExternalRecord] = []
        for start in range(0, len(keys), BATCH):
            chunk = keys[start : start + BATCH]
            payload = {
                "inputs": [{"id": k} for k in chunk],
                "idProperty": field_name,
                "properties": self._properties(obj, field_name),
            }
            _, body = self._http.request("POST", path, json_body=payload, accept=frozenset({207}))
            found.extend(parse_object(i, obj.modified, path) for i in results(body, path))
        return found

    def _search_in(
        self, obj: HubSpotObjectOptions, field_name: str, keys: list[str]
    ) -> list[ExternalRecord]:
        path = f"/crm/v3/objects/{obj.object_type}/search"
        found: list[ExternalRecord] = []
        for start in range(0, len(keys), IN_VALUES):
            chunk = keys[start : start + IN_VALUES]
            after: str | None = None
            while True:
                payload: dict[str, Any] = {
                    # IN compares exactly, and HubSpot wants its string values lowercase.
                    "filterGroups": [
                        {
                            "filters": [
                                {"propertyName": field_name, "operator": "IN", "values": chunk}
                            ]
                        }
                    ],
                    "properties": self._properties(obj, field_name),
                    "limit": SEARCH_PAGE,
                }
                if after is not None:
                    payload["after"] = after
                _, body = self._http.request("POST", path, json_body=payload, search=True)
                found.extend(parse_object(i, obj.modified, path) for i in results(body, path))
                after = paging_after(body, path)
                if after is None or int(after) >= self._search_cap:
                    break
        return found

    # -- writing helpers --------------------------------------------------------------
