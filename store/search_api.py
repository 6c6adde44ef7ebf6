"""The store facade's part for search: filter groups compiled to SQL on both databases.

Pages are keyset pages: the cursor (``after``) is opaque base64 JSON holding the last record's
sort values and id, so a page starts strictly after the last record shown whatever was
inserted, updated or archived meanwhile, and no offset is ever skipped over. Records whose
sort value changes between pages may of course move; every record that did not change is
shown exactly once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select

from store import tables as t
from store._facade import FacadePart
from store.catalog import LoadedObject, load_object, suggest
from store.errors import NotFoundError
from store.models import Record
from store.record_ops import record_from_row
from store.search import (
    ASSOCIATION_PREFIX,
    FilterGroup,
    SearchError,
    Sort,
    parse_filter_groups,
    parse_sorts,
    record_condition,
    sort_key,
)
from store.types import utcnow

__all__ = ["MAX_LIMIT", "SearchApi", "SearchPage"]

MAX_LIMIT = 10_000
MAX_CURSOR = 4_096


@dataclass(frozen=True)
class SearchPage:
    """One page of matches; ``total`` counts every match, ``next_after`` is None at the end."""

    records: list[Record]
    total: int
    next_after: str | None


@dataclass(frozen=True)
class _Key:
    expr: ColumnElement[Any]
    kind: str
    descending: bool


class SearchApi(FacadePart):
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
    ) -> SearchPage:
        """A page of live records matching any group; sorted (nulls last), then by id."""
        groups = parse_filter_groups(filter_groups)
        sort_list = parse_sorts(list(sorts))
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise SearchError("limit", f"{limit!r}: expected a whole number from 1 to {MAX_LIMIT}")
        when = _now(now)

        def work(conn: Any) -> SearchPage:
            obj = load_object(conn, object_name)
            _check_associations(conn, groups)
            dialect = conn.dialect.name
            condition = record_condition(dialect, obj, groups, now=when)
            keys = []
            for i, sort in enumerate(sort_list):
                expr, kind = sort_key(dialect, obj, sort, where=f"sorts[{i}]")
                keys.append(_Key(expr, kind, sort.descending))
            shown = _shown(obj, properties)
            total = conn.execute(
                select(func.count()).select_from(t.records).where(condition)
            ).scalar_one()
            query = select(t.records, *(k.expr.label(f"_k{i}") for i, k in enumerate(keys)))
            query = query.where(condition)
            signature = _signature(obj, sort_list)
            if after is not None:
                values, last_id = _decode(after, signature, keys, dialect)
                query = query.where(_after(keys, values, last_id))
            order = [(k.expr.desc() if k.descending else k.expr.asc()).nulls_last() for k in keys]
            rows = (
                conn.execute(query.order_by(*order, t.records.c.id).limit(limit + 1))
                .mappings()
                .all()
            )
            more = len(rows) > limit
            rows = rows[:limit]
            records = [_trimmed(record_from_row(obj, row), shown) for row in rows]
            next_after = None
            if more and rows:
                last = rows[-1]
                next_after = _encode(
                    signature, [last[f"_k{i}"] for i in range(len(keys))], last["id"]
                )
            return SearchPage(records=records, total=total, next_after=next_after)

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
