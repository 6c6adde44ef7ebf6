"""The store facade's part for search: filter groups compiled to SQL on both databases.

Pages are keyset pages: the cursor (``after``) is opaque base64 JSON holding the last record's
sort values and id, so a page starts strictly after the last record shown whatever was
inserted, updated or archived meanwhile, and no offset is ever skipped over. Records whose
sort value changes between pages may of course move; every record that did not change is
shown exactly once.

``offset`` pages instead are HubSpot's search paging (``after`` is an integer offset there,
capped at 10,000 results): the HubSpot-compatible API needs them so that its clients can pass
the offset back, and enforce the cap. A free-text ``query`` narrows either kind of search.

Bulk reads the API needs beside search live here as well: records by the values of a unique
property (``find_records``), the history of chosen properties of many records
(``property_histories``) and their associated records (``linked_records``), each one read
for a page of records instead of one per record.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, String, and_, false, func, literal_column, or_, select

from store.db import tables as t
from store.db.builtin import AUTOMATIC_PROPERTIES
from store.db.catalog import LoadedObject, load_object, suggest
from store.db.chunks import chunks
from store.db.part import FacadePart
from store.db.types import utcnow
from store.errors import NotFoundError, RecordWriteError, SearchError
from store.models import HistoryEntry, Record, SourceType
from store.records.sql import (
    find_by_unique,
    is_record_id,
    read_records,
    record_from_row,
    record_not_found,
)
from store.search.filters import (
    ASSOCIATION_PREFIX,
    FilterGroup,
    Sort,
    parse_filter_groups,
    parse_sorts,
    record_condition,
    sort_key,
)

__all__ = [
    "MAX_HISTORY",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_WORDS",
    "SearchPage",
    "SearchPart",
]

MAX_LIMIT = 10_000
MAX_CURSOR = 4_096
MAX_OFFSET = 10_000_000
MAX_QUERY_CHARS = 3_000  # HubSpot's limit on a search's ``query``
# Words of a query, each one more OR over the query properties in the SQL; a bound keeps the
# statement within SQLite's expression depth however the 3,000 characters are spent.
MAX_QUERY_WORDS = 32
MAX_LOOKUPS = 10_000
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
# Versions of one property returned per record; the oldest beyond it are left out.
MAX_HISTORY = 1_000


@dataclass(frozen=True)
class SearchPage:
    """One page of matches; ``total`` counts every match, ``next_after`` is None at the end."""

    records: list[Record]
    total: int
    next_after: str | None
    # With offset paging: the offset of the next page (None at the end).
    next_offset: int | None = None


@dataclass(frozen=True)
class _Key:
    expr: ColumnElement[Any]
    kind: str
    descending: bool


class SearchPart(FacadePart):
    """Search: HubSpot's filter groups and sorts, with keyset paging."""

    def search_records(
        self,
        object_name: str,
        filter_groups: Sequence[FilterGroup] | Sequence[Mapping[str, Any]] = (),
        sorts: Sequence[Sort] | Sequence[str] | Sequence[Mapping[str, Any]] = (),
        properties: Sequence[str] | None = None,
        limit: int = 100,
        after: str | None = None,
        now: datetime | None = None,
        *,
        query: str | None = None,
        query_properties: Sequence[str] | None = None,
        offset: int | None = None,
    ) -> SearchPage:
        """A page of live records matching any group; sorted (nulls last), then by id.

        ``query``: every word must appear (case-insensitively, anywhere in the value) in one
        of ``query_properties`` (default: the object's searchable properties). ``offset``
        pages by position instead of by cursor; the two cannot be combined.
        """
        groups = parse_filter_groups(filter_groups)
        sort_list = parse_sorts(list(sorts))
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise SearchError("limit", f"{limit!r}: expected a whole number from 1 to {MAX_LIMIT}")
        if offset is not None:
            if isinstance(offset, bool) or not isinstance(offset, int):
                raise SearchError("offset", f"{offset!r}: expected a whole number")
            if not 0 <= offset <= MAX_OFFSET:
                raise SearchError("offset", f"{offset}: expected 0 to {MAX_OFFSET}")
            if after is not None:
                raise SearchError("after", "give either a cursor or an offset, not both")
        words = _query_words(query)
        when = _now(now)

        def work(conn: Any) -> SearchPage:
            obj = load_object(conn, object_name)
            _check_associations(conn, groups)
            dialect = conn.dialect.name
            condition = record_condition(dialect, obj, groups, now=when)
            if words:
                condition = and_(condition, _query_condition(dialect, obj, words, query_properties))
            keys = []
            for i, sort in enumerate(sort_list):
                expr, kind = sort_key(dialect, obj, sort, where=f"sorts[{i}]")
                keys.append(_Key(expr, kind, sort.descending))
            shown = _shown(obj, properties)
            query = select(t.records, *(k.expr.label(f"_k{i}") for i, k in enumerate(keys)))
            query = query.where(condition)
            signature = _signature(obj, sort_list)
            if after is not None:
                values, last_id = _decode(after, signature, keys, dialect)
                query = query.where(_after(keys, values, last_id))
            order = [(k.expr.desc() if k.descending else k.expr.asc()).nulls_last() for k in keys]
            query = query.order_by(*order, t.records.c.id).limit(limit + 1)
            if offset:
                query = query.offset(offset)
            rows = conn.execute(query).mappings().all()
            more = len(rows) > limit
            rows = rows[:limit]
            if more or after is not None or offset:
                total = conn.execute(
                    select(func.count()).select_from(t.records).where(condition)
                ).scalar_one()
            else:  # the whole result is on this first page: no second statement to count it
                total = len(rows)
            records = [_trimmed(record_from_row(obj, row), shown) for row in rows]
            next_after = next_offset = None
            if more and rows and offset is not None:
                next_offset = offset + len(rows)
            elif more and rows:
                last = rows[-1]
                next_after = _encode(
                    signature, [last[f"_k{i}"] for i in range(len(keys))], last["id"]
                )
            return SearchPage(
                records=records, total=total, next_after=next_after, next_offset=next_offset
            )

        return self._read(work)

    def count_records(
        self,
        object_name: str,
        filter_groups: Sequence[FilterGroup] | Sequence[Mapping[str, Any]] = (),
        now: datetime | None = None,
    ) -> int:
        """How many live records match."""
        groups = parse_filter_groups(filter_groups)
        when = _now(now)

        def work(conn: Any) -> int:
            obj = load_object(conn, object_name)
            _check_associations(conn, groups)
            condition = record_condition(conn.dialect.name, obj, groups, now=when)
            count: int = conn.execute(
                select(func.count()).select_from(t.records).where(condition)
            ).scalar_one()
            return count

        return self._read(work)

    def iter_matching_ids(
        self,
        object_name: str,
        filter_groups: Sequence[FilterGroup] | Sequence[Mapping[str, Any]] = (),
        *,
        batch: int = 1000,
        now: datetime | None = None,
    ) -> Iterator[list[int]]:
        """Ids of matching records in id order, ``batch`` at a time, each batch read on its own.

        Streaming by id keyset: a long bulk edit or export neither holds a transaction open
        nor misses or repeats an unchanged record. ``now`` is fixed once for the whole walk.
        """
        groups = parse_filter_groups(filter_groups)
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 100_000:
            raise SearchError("batch", f"{batch!r}: expected a whole number from 1 to 100000")
        when = _now(now)
        last_id = 0
        while True:

            def work(conn: Any, after_id: int = last_id) -> list[int]:
                obj = load_object(conn, object_name)
                _check_associations(conn, groups)
                condition = record_condition(conn.dialect.name, obj, groups, now=when)
                return list(
                    conn.scalars(
                        select(t.records.c.id)
                        .where(condition, t.records.c.id > after_id)
                        .order_by(t.records.c.id)
                        .limit(batch)
                    )
                )

            ids = self._read(work)
            if ids:
                yield ids
            if len(ids) < batch:
                return
            last_id = ids[-1]

    def find_records(
        self,
        object_name: str,
        property_name: str,
        values: Sequence[object],
        *,
        include_archived: bool = False,
    ) -> list[Record | RecordWriteError]:
        """For each value, the live record whose unique property holds it (or why none).

        ``hs_object_id`` looks records up by id. One read for the lot, where ``find_record``
        in a loop would load the object's definition once per value.
        """
        if len(values) > MAX_LOOKUPS:
            raise SearchError("values", f"at most {MAX_LOOKUPS} values, got {len(values)}")

        def work(conn: Any) -> list[Record | RecordWriteError]:
            obj = load_object(conn, object_name)
            ids: list[int | RecordWriteError] = []
            if property_name == "hs_object_id":
                obj.property(property_name)
                for value in values:
                    text = str(value).strip() if isinstance(value, str | int) else ""
                    number = int(text) if text.isdecimal() and len(text) <= 19 else -1
                    ids.append(number if is_record_id(number) else record_not_found(obj, value))
            else:
                for value in values:
                    try:
                        ids.append(find_by_unique(conn, obj, property_name, value))
                    except RecordWriteError as exc:
                        ids.append(exc)
            found = read_records(
                conn,
                obj,
                [i for i in ids if isinstance(i, int)],
                include_archived=include_archived,
            )
            return [
                i if isinstance(i, RecordWriteError) else found.get(i) or record_not_found(obj, i)
                for i in ids
            ]

        return self._read(work)

    def property_histories(
        self, object_name: str, record_ids: Sequence[int], properties: Sequence[str]
    ) -> dict[int, dict[str, list[HistoryEntry]]]:
        """Past values of ``properties`` for each record, newest first (unknown ids: none).

        Every asked property has a list, empty when it never had a value. At most
        ``MAX_HISTORY`` versions per property and record are kept, the newest.
        """
        if len(record_ids) > MAX_LOOKUPS:
            raise SearchError("ids", f"at most {MAX_LOOKUPS} records, got {len(record_ids)}")

        def work(conn: Any) -> dict[int, dict[str, list[HistoryEntry]]]:
            obj = load_object(conn, object_name)
            names = list(dict.fromkeys(properties))
            for name in names:
                obj.property(name)
            wanted = sorted({i for i in record_ids if is_record_id(i)})
            out: dict[int, dict[str, list[HistoryEntry]]] = {}
            h, r = t.property_history, t.records
            for chunk in chunks(wanted, 500):
                ours = conn.scalars(
                    select(r.c.id).where(r.c.id.in_(chunk), r.c.object_type_id == obj.id)
                ).all()
                out.update({i: {name: [] for name in names} for i in ours})
                rows = conn.execute(
                    select(h).where(h.c.record_id.in_(ours)).order_by(h.c.record_id, h.c.id.desc())
                )
                for row in rows:
                    kept = out[row.record_id]
                    for name, value in row.changes.items():
                        versions = kept.get(name)
                        if versions is not None and len(versions) < MAX_HISTORY:
                            versions.append(
                                HistoryEntry(
                                    name,
                                    value,
                                    row.changed_at,
                                    SourceType(row.source_type),
                                    row.source_id,
                                )
                            )
            return out

        return self._read(work)

    def linked_records(
        self, object_name: str, record_ids: Sequence[int], to_object: str
    ) -> dict[int, list[tuple[int, int]]]:
        """For each record, its live ``to_object`` records as (id, association type id).

        One read for a page of records, where ``list_associations`` would be one per record.
        Ordered by other record, then type; records without any are left out.
        """
        if len(record_ids) > MAX_LOOKUPS:
            raise SearchError("ids", f"at most {MAX_LOOKUPS} records, got {len(record_ids)}")

        def work(conn: Any) -> dict[int, list[tuple[int, int]]]:
            obj = load_object(conn, object_name)
            other = load_object(conn, to_object)
            a, r, mine = t.associations, t.records, t.records.alias("mine")
            out: dict[int, list[tuple[int, int]]] = {}
            wanted = sorted({i for i in record_ids if is_record_id(i)})
            for chunk in chunks(wanted, 500):
                rows = conn.execute(
                    select(a.c.from_record_id, a.c.to_record_id, a.c.type_id)
                    .join(r, r.c.id == a.c.to_record_id)
                    .join(mine, mine.c.id == a.c.from_record_id)
                    .where(
                        a.c.from_record_id.in_(chunk),
                        mine.c.object_type_id == obj.id,
                        r.c.object_type_id == other.id,
                        r.c.archived.is_(False),
                    )
                    .order_by(a.c.from_record_id, a.c.to_record_id, a.c.type_id)
                )
                for from_id, to_id, type_id in rows:
                    out.setdefault(from_id, []).append((to_id, type_id))
            return out

        return self._read(work)


def _query_words(query: str | None) -> list[str]:
    """The distinct lower-cased words of a free-text query (none: no query condition)."""
    if query is None:
        return []
    if not isinstance(query, str):
        raise SearchError("query", f"expected text, got {type(query).__name__}")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError("query", f"longer than {MAX_QUERY_CHARS} characters ({len(query)})")
    if "\x00" in query:
        raise SearchError("query", "contains a NUL character")
    words = list(dict.fromkeys(query.lower().split()))
    if len(words) > MAX_QUERY_WORDS:
        raise SearchError("query", f"{len(words)} words; at most {MAX_QUERY_WORDS} allowed")
    return words


def _query_condition(
    dialect: str, obj: LoadedObject, words: Sequence[str], names: Sequence[str] | None
) -> ColumnElement[bool]:
    """Every word appears in one of the query properties (their stored text, any case)."""
    if names is None:
        names = obj.schema.searchable_properties or (
            (obj.schema.primary_display_property,) if obj.schema.primary_display_property else ()
        )
    fields = []
    for i, name in enumerate(names):
        if name not in obj.properties:
            raise SearchError(
                f"query_properties[{i}]",
                f"{obj.name} has no property {name!r}{suggest(name, obj.properties)}",
            )
        if name not in AUTOMATIC_PROPERTIES:
            fields.append(func.lower(_stored_text(dialect, name), type_=String))
    if not fields:
        return false()
    return and_(*(or_(*(f.like(_contains(word), escape="!") for f in fields)) for word in words))


def _stored_text(dialect: str, name: str) -> ColumnElement[Any]:
    """The stored text of property ``name`` (names are the store's: ``[a-z][a-z0-9_]*``)."""
    if not _SAFE_NAME.match(name):  # pragma: no cover - the store only makes such names
        raise SearchError("query_properties", f"{name!r} cannot be searched")
    column = t.records.c.properties
    if dialect == "postgresql":
        return column.op("->>", return_type=String)(literal_column(f"'{name}'", String))
    return func.json_extract(column, literal_column(f"'$.{name}'", String), type_=String)


def _contains(word: str) -> str:
    escaped = word.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def _now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None or now.utcoffset() is None:
        raise SearchError("now", "naive datetime refused: give a time zone")
    return now


def _check_associations(conn: Any, groups: Sequence[FilterGroup]) -> None:
    """``associations.<object>`` must name a live object; say which filter does not."""
    for i, group in enumerate(groups):
        for j, f in enumerate(group.filters):
            if f.property.startswith(ASSOCIATION_PREFIX):
                try:
                    load_object(conn, f.property[len(ASSOCIATION_PREFIX) :])
                except NotFoundError as exc:
                    raise SearchError(
                        f"filterGroups[{i}].filters[{j}].propertyName", str(exc)
                    ) from None


def _shown(obj: LoadedObject, properties: Sequence[str] | None) -> frozenset[str] | None:
    if properties is None:
        return None
    if isinstance(properties, str):
        properties = [p for p in properties.split(",") if p.strip()]
    for i, name in enumerate(properties):
        if name not in obj.properties:
            raise SearchError(
                f"properties[{i}]",
                f"{obj.name} has no property {name!r}{suggest(name, obj.properties)}",
            )
    return frozenset(properties)


def _trimmed(record: Record, shown: frozenset[str] | None) -> Record:
    if shown is None:
        return record
    return Record(
        object=record.object,
        id=record.id,
        properties={k: v for k, v in record.properties.items() if k in shown},
        created_at=record.created_at,
        updated_at=record.updated_at,
        archived=record.archived,
        archived_at=record.archived_at,
        merged_into=record.merged_into,
    )


# ------------------------------------------------------------------ cursors


def _signature(obj: LoadedObject, sorts: Sequence[Sort]) -> str:
    """Ties a cursor to its object and sort order, so one from another search is refused."""
    spec = json.dumps([obj.name, [(s.property, s.descending) for s in sorts]])
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def _encode(signature: str, values: list[Any], last_id: int) -> str:
    shown: list[str | None] = []
    for value in values:
        if value is None:
            shown.append(None)
        elif isinstance(value, datetime):
            shown.append(value.isoformat())
        elif isinstance(value, float):
            shown.append(repr(value))
        else:
            shown.append(str(value))
    body = json.dumps({"s": signature, "k": shown, "id": last_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def _decode(
    cursor: str, signature: str, keys: Sequence[_Key], dialect: str
) -> tuple[list[Any], int]:
    def bad(why: str) -> SearchError:
        return SearchError("after", f"not a cursor of this search ({why}); start without it")

    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR:
        raise bad("empty or too long")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise bad("unreadable") from None
    if not isinstance(body, dict) or body.get("s") != signature:
        raise bad("made for another object or sort order")
    last_id, raw = body.get("id"), body.get("k")
    if isinstance(last_id, bool) or not isinstance(last_id, int) or last_id < 0:
        raise bad("no record id")
    if not isinstance(raw, list) or len(raw) != len(keys):
        raise bad("wrong number of sort values")
    values: list[Any] = []
    for key, value in zip(keys, raw, strict=True):
        if value is None:
            values.append(None)
            continue
        if not isinstance(value, str):
            raise bad("sort value is not text")
        try:
            if key.kind == "number":
                values.append(Decimal(value) if dialect == "postgresql" else float(value))
            elif key.kind == "id":
                values.append(int(value))
            elif key.kind == "instant":
                instant = datetime.fromisoformat(value)
                if instant.tzinfo is None:
                    raise ValueError("naive")
                values.append(instant)
            else:
                values.append(value)
        except (ValueError, InvalidOperation):
            raise bad("sort value does not fit") from None
    return values, last_id


def _after(keys: Sequence[_Key], values: Sequence[Any], last_id: int) -> ColumnElement[bool]:
    """Rows strictly after (values..., last_id) in ORDER BY keys NULLS LAST, id."""
    alternatives: list[ColumnElement[bool]] = []
    ties: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values, strict=True):
        if value is None:
            # Nulls come last: after a null only other nulls (tied at this level) follow.
            ties.append(key.expr.is_(None))
            continue
        beyond = key.expr < value if key.descending else key.expr > value
        alternatives.append(and_(*ties, or_(beyond, key.expr.is_(None))))
        ties.append(key.expr == value)
    alternatives.append(and_(*ties, t.records.c.id > last_id))
    return or_(false(), *alternatives)
