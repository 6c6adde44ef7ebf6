"""``Store.timeline`` on SQLite and PostgreSQL: a record's live activities, newest first by
``hs_timestamp`` then id, filtered by type and date range, paged by an opaque keyset cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from store import (
    MAX_TIMELINE_PAGE,
    SUMMARY_LENGTH,
    NotFoundError,
    ObjectSpec,
    PropertySpec,
    Store,
    TimelineEntry,
    ValidationError,
)
from tests.conftest import API
from tests.integration._store_helpers import company, contact, deal

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
NAIVE = datetime(2024, 1, 1)  # noqa: DTZ001


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def ids(entries: list[TimelineEntry]) -> list[int]:
    return [e.id for e in entries]


def log(store: Store, kind: str, on: tuple[str, int], n: int, **kw: object) -> int:
    return store.log_activity(kind, on[0], on[1], at=day(n), source=API, **kw).id  # type: ignore[arg-type]


def test_newest_first_and_ties_by_id(store: Store) -> None:
    ann = contact(store)
    on = ("contacts", ann.id)
    old = log(store, "note", on, 0)
    tie_a = log(store, "call", on, 2)
    new = log(store, "email", on, 3)
    tie_b = log(store, "meeting", on, 2)
    page = store.timeline("contacts", ann.id)
    assert ids(page.entries) == [new, tie_b, tie_a, old]
    assert [e.type for e in page.entries] == ["emails", "meetings", "calls", "notes"]
    assert page.entries[0].timestamp == day(3)
    assert page.next_after is None


def test_an_empty_timeline(store: Store) -> None:
    acme = company(store)
    assert store.timeline("companies", acme.id).entries == []


FILTERS = [
    ("one-type", ["call"], None, None, ["c1"]),
    ("plural-and-mixed-case", ["Notes", "EMAIL"], None, None, ["e3", "n0"]),
    ("no-types", [], None, None, []),
    ("one-type-as-text", "tasks", None, None, ["t2"]),
    ("since-inclusive", None, 2, None, ["e3", "t2"]),
    ("until-inclusive", None, None, 1, ["c1", "n0"]),
    ("range", None, 1, 2, ["t2", "c1"]),
    ("type-and-range", ["task", "note"], 0, 2, ["t2", "n0"]),
    ("empty-range", None, 3, 0, []),
]


@pytest.mark.parametrize(
    ("types", "since", "until", "expected"),
    [f[1:] for f in FILTERS],
    ids=[f[0] for f in FILTERS],
)
def test_filter_by_type_and_date_range(
    store: Store,
    types: list[str] | str | None,
    since: int | None,
    until: int | None,
    expected: list[str],
) -> None:
    ann = contact(store)
    on = ("contacts", ann.id)
    made = {
        "n0": log(store, "note", on, 0),
        "c1": log(store, "call", on, 1),
        "t2": log(store, "task", on, 2),
        "e3": log(store, "email", on, 3),
    }
    page = store.timeline(
        "contacts",
        ann.id,
        types=types,
        since=None if since is None else day(since),
        until=None if until is None else day(until),
    )
    assert ids(page.entries) == [made[k] for k in expected]


def test_an_offset_range_means_the_same_instants(store: Store) -> None:
    ann = contact(store)
    call = log(store, "call", ("contacts", ann.id), 0)
    plus2 = T0.astimezone(timezone(timedelta(hours=2)))
    assert ids(store.timeline("contacts", ann.id, since=plus2, until=plus2).entries) == [call]


def test_archived_activities_leave_the_timeline_and_come_back(store: Store) -> None:
    ann = contact(store)
    keep = log(store, "note", ("contacts", ann.id), 0)
    gone = log(store, "call", ("contacts", ann.id), 1)
    store.archive_records("calls", [gone], API)
    assert ids(store.timeline("contacts", ann.id).entries) == [keep]
    store.restore_records("calls", [gone], API)
    assert ids(store.timeline("contacts", ann.id).entries) == [gone, keep]


def test_a_company_shows_activities_logged_on_its_contacts(store: Store) -> None:
    acme, ann, bob, stranger = company(store), contact(store), contact(store), contact(store)
    for person in (ann, bob):
        store.associate("contacts", person.id, "companies", acme.id, API, label="Primary")
    own = log(store, "note", ("companies", acme.id), 0)
    anns = log(store, "call", ("contacts", ann.id), 1, subject="Intro")
    bobs = log(store, "meeting", ("contacts", bob.id), 2)
    log(store, "note", ("contacts", stranger.id), 3)
    page = store.timeline("companies", acme.id)
    assert ids(page.entries) == [bobs, anns, own]
    assert page.entries[1].also_on == (("contacts", ann.id),)
    assert page.entries[2].also_on == ()


def test_entries_list_the_other_live_records_they_are_on(store: Store) -> None:
    ann, bob, big, old = contact(store), contact(store), deal(store), deal(store)
    call = store.log_activity(
        "call",
        "contacts",
        ann.id,
        at=T0,
        associate=[("deals", big.id), ("contacts", bob.id), ("deals", old.id)],
        source=API,
    )
    store.archive_records("deals", [old.id], API)
    (entry,) = store.timeline("contacts", ann.id).entries
    assert (entry.id, entry.also_on) == (call.id, (("contacts", bob.id), ("deals", big.id)))
    (from_deal,) = store.timeline("deals", big.id).entries
    assert from_deal.also_on == (("contacts", ann.id), ("contacts", bob.id))


SUMMARIES = [
    ("subject-first", "email", {"subject": "Renewal", "body": "Dear Ann"}, "Renewal"),
    ("body-first-line", "note", {"body": "\n\n  First line  \nsecond"}, "First line"),
    (
        "blank-subject-uses-body",
        "call",
        {"subject": "  ", "body": "Left a voicemail"},
        "Left a voicemail",
    ),
    ("tags-stripped", "note", {"body": "<p>Hello <b>there</b></p>"}, "Hello there"),
    ("nothing", "task", {}, ""),
    ("sql", "note", {"body": "x' OR '1'='1"}, "x' OR '1'='1"),
]


@pytest.mark.parametrize(
    ("kind", "given", "expected"), [s[1:] for s in SUMMARIES], ids=[s[0] for s in SUMMARIES]
)
def test_summary(store: Store, kind: str, given: dict[str, str], expected: str) -> None:
    ann = contact(store)
    log(store, kind, ("contacts", ann.id), 0, **given)
    assert store.timeline("contacts", ann.id).entries[0].summary == expected


def test_a_long_body_is_summarised_short(store: Store) -> None:
    ann = contact(store)
    log(store, "note", ("contacts", ann.id), 0, body="word " * 13_000)
    summary = store.timeline("contacts", ann.id).entries[0].summary
    assert len(summary) == SUMMARY_LENGTH
    assert summary.endswith("…")


def test_far_past_and_future_sort_at_the_ends(store: Store) -> None:
    ann = contact(store)
    on = ("contacts", ann.id)
    mid = log(store, "note", on, 0)
    past = store.log_activity("note", *on, at=datetime(1, 1, 1, tzinfo=UTC), source=API).id
    future = store.log_activity(
        "task", *on, at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC), source=API
    ).id
    page = store.timeline("contacts", ann.id)
    assert ids(page.entries) == [future, mid, past]
    assert page.entries[-1].timestamp == datetime(1, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- paging


def test_pages_are_stable_and_cover_everything_once(store: Store) -> None:
    ann = contact(store)
    on = ("contacts", ann.id)
    made = {log(store, "note", on, n // 3): day(n // 3) for n in range(10)}  # ties of three
    expected = sorted(made, key=lambda i: (made[i], i), reverse=True)
    assert ids(store.timeline("contacts", ann.id).entries) == expected

    seen: list[int] = []
    after: str | None = None
    for _ in range(10):
        page = store.timeline("contacts", ann.id, limit=3, after=after)
        seen += ids(page.entries)
        if (after := page.next_after) is None:
            break
        # Something newer logged between pages does not shift or repeat what follows.
        log(store, "call", on, 100)
    assert seen == expected


def test_a_full_last_page_says_there_is_no_more(store: Store) -> None:
    ann = contact(store)
    for n in range(4):
        log(store, "note", ("contacts", ann.id), n)
    first = store.timeline("contacts", ann.id, limit=2)
    second = store.timeline("contacts", ann.id, limit=2, after=first.next_after)
    assert (len(second.entries), second.next_after) == (2, None)


@pytest.mark.parametrize(
    ("limit", "expected", "more"),
    [(0, 1, True), (-5, 1, True), (10**12, 5, False), (MAX_TIMELINE_PAGE + 1, 5, False)],
    ids=["zero", "negative", "huge", "over-max"],
)
def test_the_limit_is_kept_within_bounds(
    store: Store, limit: int, expected: int, more: bool
) -> None:
    ann = contact(store)
    for n in range(5):
        log(store, "note", ("contacts", ann.id), n)
    page = store.timeline("contacts", ann.id, limit=limit)
    assert (len(page.entries), page.next_after is not None) == (expected, more)


BAD_CURSORS = [
    ("garbage", "not-a-cursor"),
    ("empty", ""),
    ("sql", "2024-05-01T09:30:00.000Z~1 OR 1=1"),
    ("no-id", "2024-05-01T09:30:00.000Z~"),
    ("zero-id", "2024-05-01T09:30:00.000Z~0"),
    ("huge-id", "2024-05-01T09:30:00.000Z~99999999999999999999"),
    ("naive-time", "2024-05-01T09:30:00~5"),
    ("nul", "2024-05-01T09:30:00.000Z~5\x00"),
    ("newline", "2024-05-01T09:30:00.000Z~5\n"),
    ("not-text", 5),
]


@pytest.mark.parametrize("cursor", [c[1] for c in BAD_CURSORS], ids=[c[0] for c in BAD_CURSORS])
def test_a_bad_cursor_is_refused(store: Store, cursor: object) -> None:
    ann = contact(store)
    log(store, "note", ("contacts", ann.id), 0)
    with pytest.raises(ValidationError, match="not a timeline cursor"):
        store.timeline("contacts", ann.id, after=cursor)  # type: ignore[arg-type]


# ---------------------------------------------------------------- refusals


def test_a_merged_away_record_reads_its_winners_timeline(store: Store) -> None:
    ann, dup = contact(store), contact(store)
    note = log(store, "note", ("contacts", dup.id), 0)
    store.merge_records("contacts", ann.id, dup.id, API)
    assert ids(store.timeline("contacts", dup.id).entries) == [note]


REFUSED = [
    ("unknown-record", "contacts", 10**12, {}, NotFoundError, "no contacts record"),
    ("record-id-too-big", "contacts", 2**70, {}, NotFoundError, "no contacts record"),
    ("negative-id", "contacts", -3, {}, NotFoundError, "no contacts record"),
    ("wrong-object", "deals", None, {}, NotFoundError, "no deals record"),
    ("unknown-object", "spaceships", None, {}, NotFoundError, "spaceships"),
    ("an-activity", "notes", "note", {}, ValidationError, "no timeline"),
    ("unknown-type", "contacts", None, {"types": ["fax"]}, ValidationError, "activity types"),
    (
        "naive-since",
        "contacts",
        None,
        {"since": NAIVE},
        ValidationError,
        "time zone",
    ),
    (
        "naive-until",
        "contacts",
        None,
        {"until": NAIVE},
        ValidationError,
        "time zone",
    ),
    ("since-as-text", "contacts", None, {"since": "2024-01-01"}, ValidationError, "datetime"),
]


@pytest.mark.parametrize(
    ("object_name", "record_id", "kwargs", "error", "message"),
    [r[1:] for r in REFUSED],
    ids=[r[0] for r in REFUSED],
)
def test_refused(
    store: Store,
    object_name: str,
    record_id: object,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    ann = contact(store)
    note = log(store, "note", ("contacts", ann.id), 0)
    rid = {None: ann.id, "note": note}.get(record_id, record_id)  # type: ignore[call-overload]
    with pytest.raises(error, match=message):
        store.timeline(object_name, rid, **kwargs)  # type: ignore[arg-type]


def test_an_archived_record_has_no_timeline(store: Store) -> None:
    ann = contact(store)
    log(store, "note", ("contacts", ann.id), 0)
    store.archive_records("contacts", [ann.id], API)
    with pytest.raises(NotFoundError, match=f"no contacts record {ann.id}"):
        store.timeline("contacts", ann.id)


def test_activities_on_a_custom_object_show_on_its_timeline_and_the_contacts(store: Store) -> None:
    store.create_object(
        ObjectSpec(
            name="vehicles",
            singular_label="Vehicle",
            plural_label="Vehicles",
            primary_display_property="model",
            properties=(PropertySpec(name="model", label="Model"),),
            associated_objects=("contacts",),
        )
    )
    van = store.create_record("vehicles", {"model": "Transit"}, API)
    owner = contact(store)
    note = store.log_activity(
        "note",
        "vehicles",
        van.id,
        body="Serviced",
        at=T0,
        associate=[("contacts", owner.id)],
        source=API,
    )
    (on_van,) = store.timeline("vehicles", van.id).entries
    assert (on_van.id, on_van.type, on_van.also_on) == (note.id, "notes", (("contacts", owner.id),))
    assert [e.id for e in store.timeline("contacts", owner.id).entries] == [note.id]
