"""Activities on records: their types, how a logged one is written, and a record's timeline.

A timeline lists the live activities associated with one record, newest first by
``hs_timestamp`` and then by id, so two activities at the same instant keep a stable order.
Paging is by keyset: ``next_after`` is an opaque cursor naming the last entry's
``(timestamp, id)``; the next page starts strictly after it, so entries logged meanwhile never
shift a page or repeat one. Stored timestamps are canonical UTC text of fixed width
(``2024-05-01T09:30:00.000Z``), so text order is time order on both databases.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from store.db import tables as t
from store.db.catalog import load_object, load_objects
from store.db.chunks import chunks
from store.errors import ValidationError
from store.records.sql import is_record_id, read_records, record_not_found
from store.values import format_datetime

__all__ = [
    "ACTIVITY_TYPES",
    "MAX_TIMELINE_PAGE",
    "ActivityFields",
    "TimelineEntry",
    "TimelinePage",
    "activity_properties",
    "activity_type",
    "read_timeline",
    "require_aware",
]

MAX_TIMELINE_PAGE = 1000
SUMMARY_LENGTH = 100


@dataclass(frozen=True)
class ActivityFields:
    """Where one activity type keeps its body and its subject (title)."""

    object: str
    body: str
    subject: str | None


# Singular name -> the activity object and its fields (HubSpot's property names).
ACTIVITY_TYPES: dict[str, ActivityFields] = {
    "note": ActivityFields("notes", "hs_note_body", None),
    "call": ActivityFields("calls", "hs_call_body", "hs_call_title"),
    "email": ActivityFields("emails", "hs_email_text", "hs_email_subject"),
    "meeting": ActivityFields("meetings", "hs_meeting_body", "hs_meeting_title"),
    "task": ActivityFields("tasks", "hs_task_body", "hs_task_subject"),
}
_BY_OBJECT = {f.object: f for f in ACTIVITY_TYPES.values()}


@dataclass(frozen=True)
class TimelineEntry:
    """One activity as a record's timeline shows it.

    ``also_on`` lists the other live records the activity is associated with, as
    ``(object, id)`` pairs in object then id order.
    """

    type: str
    id: int
    timestamp: datetime
    summary: str
    also_on: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class TimelinePage:
    """A page of a timeline; ``next_after`` is the cursor of the next page, None at the end."""

    entries: list[TimelineEntry]
    next_after: str | None


def activity_type(name: object) -> ActivityFields:
    """The activity type a user named: ``note``/``notes`` (any case); else a refusal listing
    the valid names."""
    key = name.strip().lower() if isinstance(name, str) else ""
    found = ACTIVITY_TYPES.get(key) or _BY_OBJECT.get(key)
    if found is None:
        raise ValidationError(
            "activities",
            "type",
            name,
            f"the activity types are {', '.join(ACTIVITY_TYPES)} (singular or plural)",
        )
    return found


def require_aware(field: str, value: object) -> datetime:
    """``value`` if it is an aware datetime; a naive one (or anything else) is refused."""
    if not isinstance(value, datetime):
        raise ValidationError("activities", field, value, "expected a datetime with a time zone")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            "activities",
            field,
            value.isoformat(),
            "the time has no time zone; give an offset such as +02:00 or Z",
        )
    return value


def activity_properties(
    fields: ActivityFields,
    at: datetime,
    body: str | None,
    subject: str | None,
    extra: Mapping[str, object],
) -> dict[str, object]:
    """The property values of a new activity: ``extra`` plus body, subject and times mapped
    to the type's own properties. Giving one value two ways is refused, not guessed at."""
    values: dict[str, object] = {"hs_timestamp": at}
    if body is not None:
        values[fields.body] = body
    if subject is not None:
        if fields.subject is None:
            raise ValidationError(
                fields.object, "subject", subject, "a note has no subject; put it in the body"
            )
        values[fields.subject] = subject
    if fields.object == "meetings":
        values["hs_meeting_start_time"] = at
        values["hs_meeting_end_time"] = at
    if fields.object == "tasks":
        values["hs_task_status"] = "NOT_STARTED"
    given = {"hs_timestamp", fields.body, fields.subject}
    for name, value in extra.items():
        if name in given and name in values:
            raise ValidationError(
                fields.object, name, value, f"{name} is given twice (as an option and a property)"
            )
        values[name] = value
    return values


# --- the timeline --------------------------------------------------------------------------


_CURSOR = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)~([1-9]\d{0,18})$")
_TAG = re.compile(r"<[^>]*>")


def encode_cursor(timestamp: str, record_id: int) -> str:
    return f"{timestamp}~{record_id}"


def _decode_cursor(after: object) -> tuple[str, int]:
    match = _CURSOR.fullmatch(after) if isinstance(after, str) else None
    if match is None or not is_record_id(int(match.group(2))):
        raise ValidationError(
            "timeline",
            "after",
            after,
            "not a timeline cursor; pass back the next_after of the previous page",
        )
    return match.group(1), int(match.group(2))


def summary(object_name: str, props: Mapping[str, str]) -> str:
    """Subject or title when there is one, else the first non-blank line of the body
    (tags stripped), whitespace collapsed, cut to ``SUMMARY_LENGTH`` characters."""
    fields = _BY_OBJECT.get(object_name)
    if fields is None:
        return ""
    text = props.get(fields.subject, "") if fields.subject else ""
    if not text.strip():
        body = _TAG.sub(" ", props.get(fields.body, ""))
        text = next((line for line in body.splitlines() if line.strip()), "")
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


def read_timeline(
    conn: Connection,
    object_name: str,
    record_id: int,
    *,
    types: Iterable[str] | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    after: str | None,
) -> TimelinePage:
    """One page of a live record's timeline (see the module docstring for the order)."""
    obj = load_object(conn, object_name)
    if obj.schema.activity:
        raise ValidationError(
            obj.name, "timeline", record_id, "activities have no timeline; name a record"
        )
    found = read_records(conn, obj, [record_id]) if is_record_id(record_id) else {}
    if record_id not in found:
        raise record_not_found(obj, record_id)
    owner_id = found[record_id].id  # a merged-away id reads its winner's timeline
    wanted = {activity_type(x).object for x in types} if types is not None else set(_BY_OBJECT)
    objects = {o.id: o for o in load_objects(conn) if o.name in wanted and o.schema.activity}
    limit = max(1, min(int(limit), MAX_TIMELINE_PAGE))
    r, a = t.records, t.associations
    stamp = func.coalesce(r.c.properties["hs_timestamp"].as_string(), "")
    query = (
        select(r.c.id, r.c.object_type_id, r.c.properties, r.c.created_at, stamp.label("stamp"))
        .where(
            r.c.id.in_(select(a.c.to_record_id).where(a.c.from_record_id == owner_id)),
            r.c.object_type_id.in_(list(objects)),
            r.c.archived.is_(False),
        )
        .order_by(stamp.desc(), r.c.id.desc())
        .limit(limit + 1)
    )
    if since is not None:
        query = query.where(stamp >= format_datetime(require_aware("since", since)))
    if until is not None:
        query = query.where(stamp <= format_datetime(require_aware("until", until)))
    if after is not None:
        at, last_id = _decode_cursor(after)
        query = query.where(or_(stamp < at, and_(stamp == at, r.c.id < last_id)))
    rows = conn.execute(query).all() if objects else []
    more = len(rows) > limit
    rows = rows[:limit]
    also = _also_on(conn, [row.id for row in rows], owner_id)
    entries = [
        TimelineEntry(
            type=objects[row.object_type_id].name,
            id=row.id,
            timestamp=_instant(row.stamp, row.created_at),
            summary=summary(objects[row.object_type_id].name, row.properties),
            also_on=also.get(row.id, ()),
        )
        for row in rows
    ]
    next_after = encode_cursor(rows[-1].stamp, rows[-1].id) if more and rows else None
    return TimelinePage(entries, next_after)


def _instant(stamp: str, fallback: datetime) -> datetime:
    """The stored ``hs_timestamp`` as an aware instant (the record's creation if it has none)."""
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return fallback


def _also_on(
    conn: Connection, activity_ids: Sequence[int], owner_id: int
) -> dict[int, tuple[tuple[str, int], ...]]:
    """For each activity, the other live records it is associated with."""
    names = {object_id: name for object_id, name in conn.execute(
        select(t.object_types.c.id, t.object_types.c.name)
    )}  # fmt: skip
    a, r = t.associations, t.records
    linked: dict[int, set[tuple[str, int]]] = defaultdict(set)
    for chunk in chunks(list(activity_ids), 1000):
        rows: Any = conn.execute(
            select(a.c.from_record_id, a.c.to_record_id, r.c.object_type_id)
            .join(r, r.c.id == a.c.to_record_id)
            .where(
                a.c.from_record_id.in_(chunk),
                a.c.to_record_id != owner_id,
                r.c.archived.is_(False),
            )
        )
        for src, dst, type_id in rows:
            linked[src].add((names[type_id], dst))
    return {k: tuple(sorted(v)) for k, v in linked.items()}
