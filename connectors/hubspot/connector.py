"""The ``hubspot`` connector: HubSpot CRM objects through the v3 object and v4 association APIs.

Changes are read with the search endpoint, sorted by the last-modified property. Search
stops at 10,000 results per query, so before a page would pass that cap the query starts
again at the last modified time seen, dropping the ids already read at exactly that time:
no gap, no duplicate. Writes go in batches of 100 with one result per input; a batch HubSpot
refuses as a whole for one bad input is retried input by input so the others still land.
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
from connectors.errors import TransientError
from connectors.http import ClientSettings, HttpClients, HttpConnector
from connectors.webhooks import verify_signature

from ._carry import fill_associations, read_only, split_fields, write_associations
from ._http import AuthError, HubSpotClient, HubSpotError
from ._options import HubSpotObjectOptions, HubSpotOptions
from ._parse import (
    as_list,
    bad_answer,
    error_keys,
    error_text,
    existing_id,
    ms,
    parse_object,
    results,
)
from ._webhook import parse_events

__all__ = ["HubSpotConnector"]

#: Inputs per object batch call (HubSpot's documented maximum).
BATCH = 100
#: Results per search page (HubSpot's maximum).
SEARCH_PAGE = 200
#: Results one search query can reach; HubSpot answers 400 beyond it.
SEARCH_RESULT_CAP = 10_000
#: Values per ``IN`` filter of a ``find_by`` search.
IN_VALUES = 100
#: Inputs per association batch read (HubSpot's maximum is 1,000).
ASSOCIATION_READ_BATCH = 1000
#: Inputs per association batch create (HubSpot's maximum is 2,000).
ASSOCIATION_WRITE_BATCH = 2000

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


def _sort_links(
    links: Sequence[tuple[str, str, Sequence[str]]],
    labels: Mapping[str, tuple[str, int]],
    from_type: str,
    to_type: str,
    out: list[WriteResult | None],
) -> tuple[list[int], list[tuple[int, list[dict[str, Any]]]]]:
    """Positions of the links without labels, and of those with labels and their v4 types.

    A link that cannot be sent (an id that is not a number, an unknown label) gets its
    failure in ``out`` here and is in neither list: adding and removing refuse alike.
    """
    plain: list[int] = []
    labelled: list[tuple[int, list[dict[str, Any]]]] = []
    for pos, (from_id, to_id, names) in enumerate(links):
        if not (str(from_id).isdigit() and str(to_id).isdigit()):
            out[pos] = _failed(f"association {from_id} -> {to_id}: ids must be numbers")
        elif not names:
            plain.append(pos)
        elif unknown := [n for n in names if n.lower() not in labels]:
            known = ", ".join(sorted(labels)) or "(none)"
            out[pos] = _failed(
                f"no association label {', '.join(unknown)} from {from_type} to "
                f"{to_type}; labels: {known}"
            )
        else:
            types = [
                {
                    "associationCategory": labels[n.lower()][0],
                    "associationTypeId": labels[n.lower()][1],
                }
                for n in names
            ]
            labelled.append((pos, types))
    return plain, labelled


def _failed(error: str, external_id: str | None = None, *, retriable: bool = False) -> WriteResult:
    return WriteResult(
        WriteOutcome.FAILED, external_id=external_id, error=error, retriable=retriable
    )


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
        self._labels: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}
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
            after = self._paging_after(body, path)
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
                out[pos] = _failed(str(exc), request.external_id)
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
            self._create(obj, [(p, requests[p].key, props[p]) for p in chunk], out, conflicts)
        # HubSpot already holds a record with this unique value (409): update that record.
        updates.extend((pos, eid, True) for pos, eid in conflicts)
        for chunk_updates in self._update_chunks(updates):
            self._update(obj, [(p, i, c, props[p]) for p, i, c in chunk_updates], out)
        wanted = [
            (pos, str(result.external_id), links[pos])
            for pos, result in enumerate(out)
            if links[pos] and result is not None and result.ok and result.external_id
        ]
        if wanted:
            write_associations(self, external_object, obj, wanted, out)
        return [
            r if r is not None else _failed("HubSpot did not confirm this write", retriable=True)
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
            self._archive(obj, todo[start : start + BATCH], out)
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
        """For each id, the records of ``to_object`` it is associated with and the labels.

        The unlabeled association comes back with no label name, so a plain association
        is ``(to_id, [])``. Ids HubSpot does not know are absent.
        """
        from_type, to_type = self._type_of(from_object), self._type_of(to_object)
        wanted = [i for i in dict.fromkeys(str(i) for i in ids) if i.isdigit()]
        path = f"/crm/v4/associations/{from_type}/{to_type}/batch/read"
        out: dict[str, list[tuple[str, list[str]]]] = {}
        for start in range(0, len(wanted), ASSOCIATION_READ_BATCH):
            chunk = wanted[start : start + ASSOCIATION_READ_BATCH]
            _, body = self._http.request(
                "POST",
                path,
                json_body={"inputs": [{"id": i} for i in chunk]},
                accept=frozenset({207}),
            )
            for item in results(body, path):
                if not isinstance(item, dict) or not isinstance(item.get("from"), dict):
                    raise bad_answer("an association result has no 'from'", path)
                from_id = str(item["from"].get("id"))
                links = out.setdefault(from_id, [])
                links.extend(self._association_targets(as_list(item, "to", path), path))
                after = self._paging_after(item, path)
                if after is not None:
                    links.extend(self._more_associations(from_type, from_id, to_type, after))
        return out

    def write_associations(
        self,
        from_object: str,
        to_object: str,
        links: Sequence[tuple[str, str, Sequence[str]]],
    ) -> list[WriteResult]:
        """Associate ``(from_id, to_id, label names)``; no labels makes the default association.

        Label names are looked up (once per object pair) through the labels endpoint; an
        unknown label fails that link, naming the labels that exist.
        """
        from_type, to_type = self._type_of(from_object), self._type_of(to_object)
        out: list[WriteResult | None] = [None] * len(links)
        labels = self._label_types(from_type, to_type) if any(lb for *_, lb in links) else {}
        plain, labelled = _sort_links(links, labels, from_type, to_type, out)
        base = f"/crm/v4/associations/{from_type}/{to_type}"
        for start in range(0, len(plain), ASSOCIATION_WRITE_BATCH):
            chunk = plain[start : start + ASSOCIATION_WRITE_BATCH]
            plain_inputs: list[dict[str, Any]] = [
                {"from": {"id": links[p][0]}, "to": {"id": links[p][1]}} for p in chunk
            ]
            self._associate(f"{base}/batch/associate/default", chunk, plain_inputs, links, out)
        for start in range(0, len(labelled), ASSOCIATION_WRITE_BATCH):
            part = labelled[start : start + ASSOCIATION_WRITE_BATCH]
            inputs = [
                {"from": {"id": links[p][0]}, "to": {"id": links[p][1]}, "types": types}
                for p, types in part
            ]
            self._associate(f"{base}/batch/create", [p for p, _ in part], inputs, links, out)
        return [r if r is not None else _failed("HubSpot did not confirm this link") for r in out]

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

    def remove_associations(
        self,
        from_object: str,
        to_object: str,
        links: Sequence[tuple[str, str, Sequence[str]]],
    ) -> list[WriteResult]:
        """Remove ``(from_id, to_id, label names)``: no labels removes every association of
        the pair (``batch/archive``), labels remove only those (``batch/labels/archive``).

        A pair that is not associated counts as removed; an unknown label fails that link.
        """
        from_type, to_type = self._type_of(from_object), self._type_of(to_object)
        out: list[WriteResult | None] = [None] * len(links)
        labels = self._label_types(from_type, to_type) if any(lb for *_, lb in links) else {}
        whole, labelled = _sort_links(links, labels, from_type, to_type, out)
        base = f"/crm/v4/associations/{from_type}/{to_type}"
        for start in range(0, len(whole), ASSOCIATION_WRITE_BATCH):
            chunk = whole[start : start + ASSOCIATION_WRITE_BATCH]
            inputs: list[dict[str, Any]] = [
                {"from": {"id": links[p][0]}, "to": [{"id": links[p][1]}]} for p in chunk
            ]
            self._associate(f"{base}/batch/archive", chunk, inputs, links, out)
        for start in range(0, len(labelled), ASSOCIATION_WRITE_BATCH):
            part = labelled[start : start + ASSOCIATION_WRITE_BATCH]
            inputs = [
                {"from": {"id": links[p][0]}, "to": {"id": links[p][1]}, "types": types}
                for p, types in part
            ]
            self._associate(
                f"{base}/batch/labels/archive", [p for p, _ in part], inputs, links, out
            )
        return [
            r if r is not None else _failed("HubSpot did not confirm this removal") for r in out
        ]

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

    def _paging_after(self, body: object, path: str) -> str | None:
        paging = body.get("paging") if isinstance(body, dict) else None
        if paging is None:
            return None
        nxt = paging.get("next") if isinstance(paging, dict) else None
        after = nxt.get("after") if isinstance(nxt, dict) else None
        if after is None or after == "":
            return None
        if not isinstance(after, str | int) or isinstance(after, bool):
            raise bad_answer("paging.next.after is not a token", path)
        return str(after)

    def _next_offset(
        self, body: object, offset: int, got: int, page_size: int, path: str
    ) -> int | None:
        token = self._paging_after(body, path)
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
                after = self._paging_after(body, path)
                if after is None or int(after) >= self._search_cap:
                    break
        return found

    def _association_targets(self, items: list[Any], path: str) -> list[tuple[str, list[str]]]:
        out: list[tuple[str, list[str]]] = []
        for target in items:
            if not isinstance(target, dict) or not isinstance(target.get("toObjectId"), str | int):
                raise bad_answer("an association target has no toObjectId", path)
            names = [
                t["label"]
                for t in as_list(target, "associationTypes", path)
                if isinstance(t, dict) and isinstance(t.get("label"), str) and t["label"]
            ]
            out.append((str(target["toObjectId"]), names))
        return out

    def _more_associations(
        self, from_type: str, from_id: str, to_type: str, after: str
    ) -> list[tuple[str, list[str]]]:
        path = f"/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}"
        out: list[tuple[str, list[str]]] = []
        token: str | None = after
        while token is not None:
            _, body = self._http.request("GET", path, params={"limit": 500, "after": token})
            out.extend(self._association_targets(results(body, path), path))
            token = self._paging_after(body, path)
        return out

    def _label_types(self, from_type: str, to_type: str) -> dict[str, tuple[str, int]]:
        key = (from_type, to_type)
        if key not in self._labels:
            path = f"/crm/v4/associations/{from_type}/{to_type}/labels"
            _, body = self._http.request("GET", path)
            labels: dict[str, tuple[str, int]] = {}
            for item in results(body, path):
                if not isinstance(item, dict):
                    raise bad_answer("a label is not an object", path)
                label, category, type_id = (
                    item.get("label"),
                    item.get("category"),
                    item.get("typeId"),
                )
                if (
                    isinstance(label, str)
                    and isinstance(category, str)
                    and isinstance(type_id, int)
                ):
                    labels[label.lower()] = (category, type_id)
            self._labels[key] = labels
        return self._labels[key]

    # -- writing helpers --------------------------------------------------------------

    def _create(
        self,
        obj: HubSpotObjectOptions,
        items: list[tuple[int, str, dict[str, str]]],
        out: list[WriteResult | None],
        conflicts: list[tuple[int, str]],
    ) -> None:
        path = f"/crm/v3/objects/{obj.object_type}/batch/create"
        traces: dict[str, int] = {}
        inputs: list[dict[str, Any]] = []
        for pos, key, properties in items:
            # The idempotency key maps each result back to its input; repeated keys in one
            # batch get the position added so the mapping stays one to one.
            trace = key if key and key not in traces else f"{key}#{pos}"
            traces[trace] = pos
            inputs.append({"properties": properties, "objectWriteTraceId": trace})
        try:
            status, body = self._http.request(
                "POST",
                path,
                json_body={"inputs": inputs},
                idempotent=False,
                accept=frozenset({207}),
            )
        except AuthError:
            raise
        except HubSpotError as exc:
            if exc.status in (400, 409, 422) and len(items) > 1:
                for item in items:  # one bad input refused the batch: find it
                    self._create(obj, [item], out, conflicts)
                return
            eid = existing_id(exc.body) if isinstance(exc.body, dict) else None
            if exc.status == 409 and eid is not None and len(items) == 1:
                conflicts.append((items[0][0], eid))
                return
            # A timeout, dropped connection or 5xx after sending: HubSpot may have made them.
            unsure = isinstance(exc, TransientError) and exc.sent
            for pos, _, _ in items:
                out[pos] = WriteResult(
                    WriteOutcome.FAILED,
                    error=str(exc),
                    retriable=exc.retriable,
                    maybe_created=unsure,
                )
            return
        got = results(body, path)
        untraced = [r for r in got if isinstance(r, dict) and not r.get("objectWriteTraceId")]
        for raw in got:
            echoed = raw.get("objectWriteTraceId") if isinstance(raw, dict) else None
            if echoed is None:
                continue
            traced = traces.get(str(echoed))
            if traced is None:
                raise bad_answer(f"a created record names an unknown trace id {echoed!r}", path)
            record = parse_object(raw, obj.modified, path)
            out[traced] = WriteResult(WriteOutcome.CREATED, external_id=record.id, record=record)
        if untraced and status == 201 and len(untraced) == len(items):
            # All created and no trace ids echoed: HubSpot keeps the input order.
            for (pos, _, _), raw in zip(items, untraced, strict=True):
                record = parse_object(raw, obj.modified, path)
                out[pos] = WriteResult(WriteOutcome.CREATED, external_id=record.id, record=record)
        for error in as_list(body, "errors", path):
            if not isinstance(error, dict):
                continue
            for trace in error_keys(error, "objectWriteTraceId"):
                pos_or_none = traces.get(trace)
                if pos_or_none is None:
                    continue
                eid = existing_id(error)
                if error.get("category") == "CONFLICT" and eid is not None:
                    conflicts.append((pos_or_none, eid))
                else:
                    out[pos_or_none] = _failed(error_text(error))

    def _update_chunks(
        self, updates: list[tuple[int, str, bool]]
    ) -> Iterator[list[tuple[int, str, bool]]]:
        """Batches of at most 100 with each id once (HubSpot refuses repeated ids)."""
        chunk: list[tuple[int, str, bool]] = []
        ids: set[str] = set()
        for item in updates:
            if len(chunk) >= BATCH or item[1] in ids:
                yield chunk
                chunk, ids = [], set()
            chunk.append(item)
            ids.add(item[1])
        if chunk:
            yield chunk

    def _update(
        self,
        obj: HubSpotObjectOptions,
        items: list[tuple[int, str, bool, dict[str, str]]],
        out: list[WriteResult | None],
    ) -> None:
        path = f"/crm/v3/objects/{obj.object_type}/batch/update"
        sendable = []
        for pos, rid, created, properties in items:
            if rid.isdigit():
                sendable.append((pos, rid, created, properties))
            else:
                out[pos] = _failed(f"no {obj.object_type} record with id {rid!r}", rid)
        if not sendable:
            return
        payload = {"inputs": [{"id": rid, "properties": p} for _, rid, _, p in sendable]}
        try:
            _, body = self._http.request("POST", path, json_body=payload, accept=frozenset({207}))
        except AuthError:
            raise
        except HubSpotError as exc:
            if exc.status in (400, 404, 409, 422) and len(sendable) > 1:
                for item in sendable:
                    self._update(obj, [item], out)
                return
            for pos, rid, _, _ in sendable:
                message = str(exc)
                if exc.status == 404:
                    message = f"no {obj.object_type} record with id {rid!r} (deleted in HubSpot?)"
                out[pos] = _failed(message, rid, retriable=exc.retriable)
            return
        by_id = {rid: (pos, created) for pos, rid, created, _ in sendable}
        for raw in results(body, path):
            record = parse_object(raw, obj.modified, path)
            entry = by_id.get(record.id)
            if entry is None:
                continue
            outcome = WriteOutcome.CREATED if entry[1] else WriteOutcome.UPDATED
            out[entry[0]] = WriteResult(
                outcome, external_id=record.id, record=record, matched=entry[1]
            )
        for error in as_list(body, "errors", path):
            if not isinstance(error, dict):
                continue
            for rid in error_keys(error, "ids"):
                if rid in by_id:
                    text = error_text(error)
                    if error.get("category") == "OBJECT_NOT_FOUND":
                        text = f"no {obj.object_type} record with id {rid!r} (deleted in HubSpot?)"
                    out[by_id[rid][0]] = _failed(text, rid)

    def _archive(
        self, obj: HubSpotObjectOptions, items: list[tuple[int, str]], out: dict[int, WriteResult]
    ) -> None:
        path = f"/crm/v3/objects/{obj.object_type}/batch/archive"
        payload = {"inputs": [{"id": rid} for _, rid in items]}
        try:
            _, body = self._http.request("POST", path, json_body=payload, accept=frozenset({207}))
        except AuthError:
            raise
        except HubSpotError as exc:
            if exc.status in (400, 409, 422) and len(items) > 1:
                for item in items:
                    self._archive(obj, [item], out)
                return
            for pos, rid in items:
                if exc.status == 404:
                    out[pos] = WriteResult(WriteOutcome.DELETED, external_id=rid)
                else:
                    out[pos] = _failed(str(exc), rid, retriable=exc.retriable)
            return
        failed: dict[str, str] = {}
        for error in as_list(body, "errors", path) if body is not None else []:
            if isinstance(error, dict) and error.get("category") != "OBJECT_NOT_FOUND":
                for rid in error_keys(error, "ids"):
                    failed[rid] = error_text(error)
        for pos, rid in items:
            if rid in failed:
                out[pos] = _failed(failed[rid], rid)
            else:  # archived now, or already gone
                out[pos] = WriteResult(WriteOutcome.DELETED, external_id=rid)

    def _associate(
        self,
        path: str,
        positions: list[int],
        inputs: list[dict[str, Any]],
        links: Sequence[tuple[str, str, Sequence[str]]],
        out: list[WriteResult | None],
    ) -> None:
        try:
            _, body = self._http.request(
                "POST", path, json_body={"inputs": inputs}, accept=frozenset({207})
            )
        except AuthError:
            raise
        except HubSpotError as exc:
            for pos in positions:
                out[pos] = _failed(str(exc), retriable=exc.retriable)
            return
        failed: set[str] = set()
        messages: dict[str, str] = {}
        for error in as_list(body, "errors", path) if body is not None else []:
            if isinstance(error, dict):
                for key in ("fromObjectId", "ids", "id"):
                    for rid in error_keys(error, key):
                        failed.add(rid)
                        messages[rid] = error_text(error)
        for pos in positions:
            from_id, to_id, _ = links[pos]
            if str(from_id) in failed:
                out[pos] = _failed(messages[str(from_id)], f"{from_id}->{to_id}")
            else:
                out[pos] = WriteResult(WriteOutcome.CREATED, external_id=f"{from_id}->{to_id}")
