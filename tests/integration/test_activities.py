"""``Store.log_activity`` and ``Store.associate_activity`` on SQLite and PostgreSQL.

Logging writes the activity and its associations in one transaction (a refused association
stores nothing), maps body and subject to each type's own properties, refuses naive times,
and keeps Last Contacted (calls, emails, meetings) and Last Activity Date (any activity) of
every record it lands on current: when logged, linked later, archived, or re-dated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from store import (
    MAX_VALUE_LENGTH,
    NotFoundError,
    Record,
    RecordWriteError,
    Store,
    ValidationError,
    utcnow,
)
from tests.conftest import API
from tests.integration._store_helpers import company, contact, deal, linked_ids, snapshot

LAST_CONTACTED, LAST_ACTIVITY = "notes_last_contacted", "notes_last_updated"
MAY_1 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
MAY_2 = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
MAY_3 = datetime(2024, 5, 3, 9, 30, tzinfo=UTC)


def text(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dates(store: Store, object_name: str, record_id: int) -> tuple[str | None, str | None]:
    props = store.get_record(object_name, record_id).properties
    return props.get(LAST_CONTACTED), props.get(LAST_ACTIVITY)


# (type as named, object, body property, subject property, contacting?)
TYPES = [
    ("note", "notes", "hs_note_body", None, False),
    ("call", "calls", "hs_call_body", "hs_call_title", True),
    ("email", "emails", "hs_email_text", "hs_email_subject", True),
    ("meeting", "meetings", "hs_meeting_body", "hs_meeting_title", True),
    ("task", "tasks", "hs_task_body", "hs_task_subject", False),
]
TYPE_IDS = [t[0] for t in TYPES]


@pytest.mark.parametrize(
    ("kind", "object_name", "body_prop", "subject_prop", "_c"), TYPES, ids=TYPE_IDS
)
def test_body_and_subject_go_to_each_types_own_properties(
    store: Store,
    kind: str,
    object_name: str,
    body_prop: str,
    subject_prop: str | None,
    _c: bool,
) -> None:
    ann = contact(store)
    logged = store.log_activity(
        kind,
        "contacts",
        ann.id,
        body="Talked about pricing",
        subject="Pricing" if subject_prop else None,
        at=MAY_1,
        source=API,
    )
    assert logged.object == object_name
    assert logged.properties[body_prop] == "Talked about pricing"
    assert logged.properties["hs_timestamp"] == text(MAY_1)
    if subject_prop:
        assert logged.properties[subject_prop] == "Pricing"
    assert linked_ids(store, object_name, logged.id, "contacts") == {ann.id}


@pytest.mark.parametrize(
    "name", ["note", "notes", "NOTE", " Notes "], ids=["singular", "plural", "upper", "padded"]
)
def test_a_type_is_named_singular_or_plural(store: Store, name: str) -> None:
    ann = contact(store)
    assert store.log_activity(name, "contacts", ann.id, body="x", source=API).object == "notes"


def test_a_meeting_starts_and_ends_at_its_time_unless_told(store: Store) -> None:
    ann = contact(store)
    plain = store.log_activity("meeting", "contacts", ann.id, at=MAY_1, source=API)
    assert plain.properties["hs_meeting_start_time"] == text(MAY_1)
    assert plain.properties["hs_meeting_end_time"] == text(MAY_1)
    longer = store.log_activity(
        "meeting",
        "contacts",
        ann.id,
        at=MAY_1,
        properties={"hs_meeting_end_time": text(MAY_1 + timedelta(hours=1))},
        source=API,
    )
    assert longer.properties["hs_meeting_end_time"] == "2024-05-01T10:30:00.000Z"


def test_a_task_is_due_at_its_time_and_not_started(store: Store) -> None:
    ann = contact(store)
    task = store.log_activity("task", "contacts", ann.id, subject="Follow up", at=MAY_3, source=API)
    assert (task.properties["hs_timestamp"], task.properties["hs_task_status"]) == (
        text(MAY_3),
        "NOT_STARTED",
    )
    done = store.log_activity(
        "task", "contacts", ann.id, at=MAY_3, properties={"hs_task_status": "COMPLETED"}, source=API
    )
    assert done.properties["hs_task_status"] == "COMPLETED"


def test_the_time_defaults_to_now(store: Store) -> None:
    ann = contact(store)
    before = utcnow()
    note = store.log_activity("note", "contacts", ann.id, body="hi", source=API)
    stamp = datetime.fromisoformat(note.properties["hs_timestamp"])
    assert before - timedelta(seconds=1) <= stamp <= utcnow() + timedelta(seconds=1)


def test_an_offset_time_is_stored_in_utc(store: Store) -> None:
    ann = contact(store)
    at = datetime(2024, 5, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    note = store.log_activity("note", "contacts", ann.id, at=at, source=API)
    assert note.properties["hs_timestamp"] == "2024-05-01T09:30:00.000Z"


def test_more_records_and_extra_properties_in_one_write(store: Store) -> None:
    ann, bob, acme, big = contact(store), contact(store), company(store), deal(store)
    call = store.log_activity(
        "calls",
        "contacts",
        ann.id,
        at=MAY_1,
        properties={"hs_call_direction": "OUTBOUND", "hs_call_duration": 60000},
        associate=[
            ("contacts", bob.id),
            ("companies", acme.id),
            ("deals", big.id),
            ("contacts", ann.id),
        ],
        source=API,
    )
    assert call.properties["hs_call_direction"] == "OUTBOUND"
    assert linked_ids(store, "calls", call.id, "contacts") == {ann.id, bob.id}
    assert linked_ids(store, "calls", call.id, "companies") == {acme.id}
    assert linked_ids(store, "calls", call.id, "deals") == {big.id}
    for object_name, rid in [("contacts", bob.id), ("companies", acme.id), ("deals", big.id)]:
        assert dates(store, object_name, rid) == (text(MAY_1), text(MAY_1))


def test_logging_on_a_contact_logs_on_its_primary_company(store: Store) -> None:
    acme, other, ann = company(store), company(store), contact(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    store.associate("contacts", ann.id, "companies", other.id, API)
    email = store.log_activity("email", "contacts", ann.id, subject="Hi", at=MAY_2, source=API)
    assert linked_ids(store, "emails", email.id, "companies") == {acme.id}
    assert dates(store, "companies", acme.id) == (text(MAY_2), text(MAY_2))
    assert dates(store, "companies", other.id) == (None, None)


# ---------------------------------------------------------------- refusals store nothing

HOSTILE = [
    ("unknown-type", {"kind": "fax"}, ValidationError, "note, call, email, meeting, task"),
    ("empty-type", {"kind": ""}, ValidationError, "activity types"),
    ("type-not-text", {"kind": 7}, ValidationError, "activity types"),
    ("unknown-record", {"on_id": 10**12}, NotFoundError, "no contacts record"),
    ("negative-record", {"on_id": -1}, NotFoundError, "no contacts record"),
    ("unknown-object", {"on_object": "spaceships"}, NotFoundError, "spaceships"),
    ("unknown-associate", {"associate": [("deals", 424242)]}, NotFoundError, "no deals record"),
    (
        "activity-on-activity",
        {"associate": [("notes", 1)]},
        RecordWriteError,
        "no notes record 1|cannot be associated",
    ),
    ("naive-time", {"at": datetime(2024, 5, 1, 9, 30)}, ValidationError, "no time zone"),  # noqa: DTZ001
    ("time-as-text", {"at": "2024-05-01T09:30:00Z"}, ValidationError, "datetime"),
    ("too-long-body", {"body": "x" * (MAX_VALUE_LENGTH + 1)}, ValidationError, "longer than 65536"),
    ("nul-in-body", {"body": "a\x00b"}, ValidationError, "NUL"),
    ("subject-on-note", {"subject": "Hello"}, ValidationError, "no subject"),
    (
        "time-twice",
        {"properties": {"hs_timestamp": "2024-01-01T00:00:00Z"}},
        ValidationError,
        "twice",
    ),
    ("read-only-extra", {"properties": {"hs_body_preview": "x"}}, ValidationError, "read-only"),
    ("unknown-extra", {"properties": {"no_such": "x"}}, NotFoundError, "no_such"),
    (
        "time-out-of-range",
        {"at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))},
        ValidationError,
        "range",
    ),
]


@pytest.mark.parametrize(
    ("override", "error", "message"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_a_refused_log_stores_nothing(
    store: Store, override: dict[str, object], error: type[Exception], message: str
) -> None:
    ann = contact(store)
    args: dict[str, object] = {"kind": "note", "on_object": "contacts", "on_id": ann.id}
    args.update(override)
    kind, on_object, on_id = args.pop("kind"), args.pop("on_object"), args.pop("on_id")
    before = snapshot(store)
    with pytest.raises(error, match=message):
        store.log_activity(kind, on_object, on_id, source=API, **args)  # type: ignore[arg-type]
    assert snapshot(store) == before


def test_an_archived_record_cannot_be_logged_on(store: Store) -> None:
    ann, bob = contact(store), contact(store)
    store.archive_records("contacts", [bob.id], API)
    before = snapshot(store)
    for on, extra in [(bob.id, ()), (ann.id, (("contacts", bob.id),))]:
        with pytest.raises(NotFoundError, match=f"no contacts record {bob.id}"):
            store.log_activity("call", "contacts", on, associate=extra, source=API)
    assert snapshot(store) == before


BODIES = [
    ("longest", "x" * MAX_VALUE_LENGTH),
    ("sql", "'); DROP TABLE records; --"),
    ("json-path", "$.\"hs_timestamp\" ->> 'x'"),
    ("unicode", "Grüße 👋 naïve\u200b"),
    ("markup", "[red]<b>bold</b>[/red]"),
]


@pytest.mark.parametrize("body", [b[1] for b in BODIES], ids=[b[0] for b in BODIES])
def test_hostile_bodies_are_stored_as_given(store: Store, body: str) -> None:
    ann = contact(store)
    note = store.log_activity("note", "contacts", ann.id, body=body, at=MAY_1, source=API)
    assert store.get_record("notes", note.id).properties["hs_note_body"] == body
    assert store.list_records("contacts")[0].id == ann.id  # the table is still there


TIMES = [
    ("far-past", datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
    ("epoch", datetime(1970, 1, 1, tzinfo=UTC), "1970-01-01T00:00:00.000Z"),
    (
        "far-future",
        datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        "9999-12-31T23:59:59.999Z",
    ),
]


@pytest.mark.parametrize(("at", "stored"), [x[1:] for x in TIMES], ids=[x[0] for x in TIMES])
def test_far_times_are_stored_and_dated(store: Store, at: datetime, stored: str) -> None:
    ann = contact(store)
    call = store.log_activity("call", "contacts", ann.id, at=at, source=API)
    assert call.properties["hs_timestamp"] == stored
    assert dates(store, "contacts", ann.id) == (stored, stored)


# ---------------------------------------------------------------- the dates follow


@pytest.mark.parametrize(("kind", "contacting"), [(t[0], t[4]) for t in TYPES], ids=TYPE_IDS)
@pytest.mark.parametrize("object_name", ["contacts", "companies", "deals"])
def test_logging_sets_last_activity_and_contacting_types_set_last_contacted(
    store: Store, kind: str, contacting: bool, object_name: str
) -> None:
    makers: dict[str, Callable[[Store], Record]] = {
        "contacts": contact,
        "companies": company,
        "deals": deal,
    }
    target = makers[object_name](store)
    store.log_activity(kind, object_name, target.id, at=MAY_1, source=API)
    assert dates(store, object_name, target.id) == (
        text(MAY_1) if contacting else None,
        text(MAY_1),
    )


def test_associating_an_existing_activity_later_moves_the_dates(store: Store) -> None:
    ann, bob, acme = contact(store), contact(store), company(store)
    store.associate("contacts", bob.id, "companies", acme.id, API, label="Primary")
    meeting = store.log_activity("meeting", "contacts", ann.id, at=MAY_2, source=API)
    assert dates(store, "contacts", bob.id) == (None, None)

    found = store.associate_activity("meetings", meeting.id, [("contacts", bob.id)], API)

    assert {(a.to_object, a.to_id) for a in found} == {
        ("contacts", ann.id),
        ("contacts", bob.id),
        ("companies", acme.id),  # bob's primary company
    }
    for object_name, rid in [("contacts", bob.id), ("companies", acme.id)]:
        assert dates(store, object_name, rid) == (text(MAY_2), text(MAY_2))


def test_associating_twice_changes_nothing(store: Store) -> None:
    ann, big = contact(store), deal(store)
    note = store.log_activity("note", "contacts", ann.id, at=MAY_1, source=API)
    store.associate_activity("note", note.id, [("deals", big.id)], API)
    head = store.journal_head()
    store.associate_activity("note", note.id, [("deals", big.id), ("deals", big.id)], API)
    assert store.journal_head() == head
    assert dates(store, "deals", big.id) == (None, text(MAY_1))


ASSOCIATE_REFUSED = [
    ("unknown-type", "fax", None, [("deals", "deal")], ValidationError, "activity types"),
    ("unknown-activity", "note", 10**12, [("deals", "deal")], NotFoundError, "no notes record"),
    ("wrong-type", "call", None, [("deals", "deal")], NotFoundError, "no calls record"),
    (
        "unknown-target",
        "note",
        None,
        [("deals", "deal"), ("deals", 10**12)],
        NotFoundError,
        "no deals",
    ),
    ("no-targets", "note", None, [], ValidationError, "at least one"),
    ("archived-target", "note", None, [("deals", "archived")], NotFoundError, "no deals record"),
]


@pytest.mark.parametrize(
    ("kind", "activity_id", "targets", "error", "message"),
    [x[1:] for x in ASSOCIATE_REFUSED],
    ids=[x[0] for x in ASSOCIATE_REFUSED],
)
def test_a_refused_associate_stores_nothing(
    store: Store,
    kind: str,
    activity_id: int | None,
    targets: list[tuple[str, object]],
    error: type[Exception],
    message: str,
) -> None:
    ann, big, old = contact(store), deal(store), deal(store)
    store.archive_records("deals", [old.id], API)
    note = store.log_activity("note", "contacts", ann.id, at=MAY_1, source=API)
    ids = {"deal": big.id, "archived": old.id}
    resolved = [(o, ids[r] if isinstance(r, str) else r) for o, r in targets]
    before = snapshot(store)
    with pytest.raises(error, match=message):
        store.associate_activity(kind, activity_id or note.id, resolved, API)  # type: ignore[arg-type]
    assert snapshot(store) == before


def test_an_archived_activity_cannot_be_associated(store: Store) -> None:
    ann, big = contact(store), deal(store)
    note = store.log_activity("note", "contacts", ann.id, at=MAY_1, source=API)
    store.archive_records("notes", [note.id], API)
    with pytest.raises(NotFoundError, match=f"no notes record {note.id}"):
        store.associate_activity("note", note.id, [("deals", big.id)], API)


def test_archiving_an_activity_falls_back_and_restoring_returns(store: Store) -> None:
    ann, acme = contact(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    first = store.log_activity("call", "contacts", ann.id, at=MAY_1, source=API)
    latest = store.log_activity("email", "contacts", ann.id, at=MAY_3, source=API)
    store.log_activity("note", "contacts", ann.id, at=MAY_2, source=API)

    store.archive_records("emails", [latest.id], API)
    for object_name, rid in [("contacts", ann.id), ("companies", acme.id)]:
        assert dates(store, object_name, rid) == (text(MAY_1), text(MAY_2))
    store.archive_records("calls", [first.id], API)
    assert dates(store, "contacts", ann.id) == (None, text(MAY_2))
    store.restore_records("emails", [latest.id], API)
    assert dates(store, "companies", acme.id) == (text(MAY_3), text(MAY_3))


@pytest.mark.parametrize(
    ("new", "expected"), [(MAY_3, MAY_3), (MAY_1, MAY_1)], ids=["later", "earlier"]
)
def test_re_dating_an_activity_moves_the_dates(
    store: Store, new: datetime, expected: datetime
) -> None:
    ann, acme = contact(store), company(store)
    store.associate("contacts", ann.id, "companies", acme.id, API, label="Primary")
    call = store.log_activity("call", "contacts", ann.id, at=MAY_2, source=API)
    store.update_record("calls", call.id, {"hs_timestamp": new}, API)
    for object_name, rid in [("contacts", ann.id), ("companies", acme.id)]:
        assert dates(store, object_name, rid) == (text(expected), text(expected))


def test_not_contacted_in_90_days_reads_the_maintained_date(store: Store) -> None:
    now = utcnow()
    stale, fresh, never = contact(store), contact(store), contact(store)
    store.log_activity("call", "contacts", stale.id, at=now - timedelta(days=120), source=API)
    store.log_activity("note", "contacts", fresh.id, at=now - timedelta(days=1), source=API)
    store.log_activity("meeting", "contacts", fresh.id, at=now - timedelta(days=10), source=API)
    cutoff = text(now - timedelta(days=90))
    not_contacted = {
        r.id
        for r in store.list_records("contacts")
        if (r.properties.get(LAST_CONTACTED) or "") < cutoff
    }
    assert not_contacted == {stale.id, never.id}
