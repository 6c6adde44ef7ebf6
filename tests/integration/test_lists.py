"""Lists on SQLite and PostgreSQL: static (MANUAL, SNAPSHOT) and DYNAMIC membership.

Dynamic lists must follow every write (create, update, archive, restore, merge, calculated
properties) and, for relative dates, the clock at read time; every membership change is an
event with its time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from store import (
    ChangeSource,
    FilterGroup,
    NotFoundError,
    SearchError,
    SourceType,
    Store,
    StoreError,
    parse_filter_expression,
    utcnow,
)
from tests.conftest import API
from tests.integration._store_helpers import company, contact, deal


def where(*expressions: str) -> tuple[FilterGroup, ...]:
    """One group of all these ``PROP OP VALUE`` filters."""
    return (FilterGroup(tuple(parse_filter_expression(e) for e in expressions)),)


def member_ids(store: Store, name: str, now: datetime | None = None) -> list[int]:
    return [r.id for r in store.list_members(name, limit=10_000, now=now).records]


def events(store: Store, name: str) -> list[tuple[int, str]]:
    """Membership changes, oldest first, without their times."""
    return [(e.record_id, e.change) for e in reversed(store.list_history(name))]


# ------------------------------------------------------------------ static lists


def test_manual_list_adds_and_removes_by_id_with_timed_events(store: Store) -> None:
    a, b = contact(store), contact(store)
    store.create_list("vip", "contacts")
    before = utcnow()
    assert store.add_to_list("vip", [a.id, b.id, a.id]) == 2
    assert store.add_to_list("vip", [a.id]) == 0  # already a member: no event
    after = utcnow()
    assert member_ids(store, "vip") == [a.id, b.id]
    assert store.remove_from_list("vip", [b.id]) == 1
    assert member_ids(store, "vip") == [a.id]
    assert events(store, "vip") == [(a.id, "added"), (b.id, "added"), (b.id, "removed")]
    added = store.list_history("vip")[-1]
    assert before <= added.at <= after
    assert store.get_list("vip").size == 1


def test_manual_list_add_from_filter(store: Store) -> None:
    a = contact(store, lifecyclestage="lead")
    contact(store, lifecyclestage="customer")
    store.create_list("leads", "contacts")
    assert store.add_matching_to_list("leads", where("lifecyclestage EQ lead")) == 1
    assert member_ids(store, "leads") == [a.id]
    b = contact(store, lifecyclestage="lead")
    assert member_ids(store, "leads") == [a.id]  # static: later matches do not join
    assert store.add_matching_to_list("leads", where("lifecyclestage EQ lead")) == 1
    assert member_ids(store, "leads") == [a.id, b.id]


def test_snapshot_is_seeded_once_then_static(store: Store) -> None:
    a = contact(store, lifecyclestage="lead")
    created = store.create_list("snap", "contacts", "SNAPSHOT", where("lifecyclestage EQ lead"))
    assert created.size == 1 and created.processing_type == "SNAPSHOT"
    contact(store, lifecyclestage="lead")
    store.update_record("contacts", a.id, {"lifecyclestage": "customer"}, API)
    assert member_ids(store, "snap") == [a.id]
    assert store.remove_from_list("snap", [a.id]) == 1
    assert member_ids(store, "snap") == []


def test_static_list_hides_archived_members_and_shows_them_again(store: Store) -> None:
    a, b = contact(store), contact(store)
    store.create_list("vip", "contacts")
    store.add_to_list("vip", [a.id, b.id])
    store.archive_records("contacts", [a.id], API)
    assert member_ids(store, "vip") == [b.id]
    assert store.get_list("vip").size == 1
    store.restore_records("contacts", [a.id], API)
    assert member_ids(store, "vip") == [a.id, b.id]
    assert events(store, "vip") == [(a.id, "added"), (b.id, "added")]  # membership kept


# ------------------------------------------------------------------ dynamic lists


@pytest.fixture
def customers(store: Store) -> str:
    store.create_list("customers", "contacts", "DYNAMIC", where("lifecyclestage EQ customer"))
    return "customers"


def test_dynamic_list_follows_creates_and_updates(store: Store, customers: str) -> None:
    before = utcnow()
    a = contact(store, lifecyclestage="customer")
    b = contact(store, lifecyclestage="lead")
    assert member_ids(store, customers) == [a.id]
    store.update_record("contacts", b.id, {"lifecyclestage": "customer"}, API)
    store.update_record("contacts", a.id, {"lifecyclestage": "evangelist"}, API)
    assert member_ids(store, customers) == [b.id]
    assert events(store, customers) == [(a.id, "added"), (b.id, "added"), (a.id, "removed")]
    times = [e.at for e in reversed(store.list_history(customers))]
    assert times == sorted(times) and before <= times[0] <= utcnow()


def test_dynamic_list_follows_batches_and_bulk_edits(store: Store, customers: str) -> None:
    result = store.create_records(
        "contacts", [{"email": f"b{i}@x.com", "lifecyclestage": "customer"} for i in range(3)], API
    )
    ids = [r.id for r in result.records]
    assert member_ids(store, customers) == ids
    store.update_records("contacts", [(i, {"lifecyclestage": "lead"}) for i in ids[:2]], API)
    assert member_ids(store, customers) == ids[2:]


def test_dynamic_list_follows_archive_and_restore(store: Store, customers: str) -> None:
    a = contact(store, lifecyclestage="customer")
    store.archive_records("contacts", [a.id], API)
    assert member_ids(store, customers) == []
    store.restore_records("contacts", [a.id], API)
    assert member_ids(store, customers) == [a.id]
    # Restored but no longer matching: stays out.
    store.archive_records("contacts", [a.id], API)
    store.restore_records("contacts", [a.id], API)
    store.update_record("contacts", a.id, {"lifecyclestage": "lead"}, API)
    store.archive_records("contacts", [a.id], API)
    store.restore_records("contacts", [a.id], API)
    assert member_ids(store, customers) == []
    assert events(store, customers) == [
        (a.id, "added"),
        (a.id, "removed"),
        (a.id, "added"),
        (a.id, "removed"),
        (a.id, "added"),
        (a.id, "removed"),
    ]


def test_dynamic_list_drops_a_merged_away_record(store: Store, customers: str) -> None:
    a = contact(store, lifecyclestage="customer")
    b = contact(store, lifecyclestage="customer")
    store.merge_records("contacts", a.id, b.id, API)
    assert member_ids(store, customers) == [a.id]


def test_dynamic_list_follows_calculated_properties(store: Store) -> None:
    c = contact(store)
    store.create_list("with deals", "contacts", "DYNAMIC", where("num_associated_deals GT 0"))
    assert member_ids(store, "with deals") == []
    d = deal(store)
    store.associate("deals", d.id, "contacts", c.id, API)
    assert member_ids(store, "with deals") == [c.id]
    store.archive_records("deals", [d.id], API)  # the count drops to 0 on the contact
    assert member_ids(store, "with deals") == []


def test_dynamic_list_of_one_object_ignores_others(store: Store, customers: str) -> None:
    company(store, lifecyclestage="customer")
    assert member_ids(store, customers) == []


@pytest.mark.parametrize(
    ("operator", "now_member", "later_member", "later_change"),
    [
        ("MORE_THAN_DAYS_AGO", False, True, "added"),
        ("LESS_THAN_DAYS_AGO", True, False, "removed"),
    ],
    ids=["more-than-joins-later", "less-than-leaves-later"],
)
def test_relative_dates_drift_is_reconciled_on_read(
    store: Store, operator: str, now_member: bool, later_member: bool, later_change: str
) -> None:
    a = contact(store)
    store.create_list("aged", "contacts", "DYNAMIC", where(f"createdate {operator} 30"))
    assert (member_ids(store, "aged") == [a.id]) is now_member
    later = utcnow() + timedelta(days=31)
    assert (member_ids(store, "aged", now=later) == [a.id]) is later_member
    last = store.list_history("aged")[0]
    assert (last.record_id, last.change, last.at) == (a.id, later_change, later)
    assert store.get_list("aged").size == (1 if later_member else 0)
    # Reading again at the same time changes nothing.
    count = len(store.list_history("aged"))
    member_ids(store, "aged", now=later)
    assert len(store.list_history("aged")) == count


def test_dynamic_list_with_or_groups(store: Store) -> None:
    a = contact(store, lifecyclestage="lead")
    b = contact(store, firstname="Zed")
    contact(store, lifecyclestage="customer")
    groups = (*where("lifecyclestage EQ lead"), *where("firstname EQ zed"))
    store.create_list("either", "contacts", "DYNAMIC", groups)
    assert member_ids(store, "either") == [a.id, b.id]


def test_dynamic_list_from_hubspot_json(store: Store) -> None:
    a = contact(store, lifecyclestage="lead")
    raw = {
        "filterGroups": [
            {"filters": [{"propertyName": "lifecyclestage", "operator": "IN", "values": ["lead"]}]}
        ]
    }
    created = store.create_list("json", "contacts", "DYNAMIC", raw)
    assert created.filter_groups == (
        {"filters": [{"propertyName": "lifecyclestage", "operator": "IN", "values": ["lead"]}]},
    )
    assert member_ids(store, "json") == [a.id]


def test_members_page_in_id_order(store: Store) -> None:
    ids = [
        r.id
        for r in store.create_records(
            "contacts", [{"email": f"p{i}@x.com", "lifecyclestage": "lead"} for i in range(5)], API
        ).records
    ]
    store.create_list("leads", "contacts", "DYNAMIC", where("lifecyclestage EQ lead"))
    first = store.list_members("leads", limit=2)
    assert [r.id for r in first.records] == ids[:2] and first.next_after == ids[1]
    rest = store.list_members("leads", limit=3, after=ids[1])
    assert [r.id for r in rest.records] == ids[2:] and rest.next_after is None


def test_list_and_delete(store: Store, customers: str) -> None:
    a = contact(store, lifecyclestage="customer")
    store.create_list("vip", "companies")
    assert [(x.name, x.object, x.processing_type, x.size) for x in store.list_lists()] == [
        ("customers", "contacts", "DYNAMIC", 1),
        ("vip", "companies", "MANUAL", 0),
    ]
    store.delete_list(customers)
    with pytest.raises(NotFoundError, match="no list named 'customers'"):
        store.list_history(customers)
    store.update_record("contacts", a.id, {"lifecyclestage": "lead"}, API)  # no list to keep
    store.create_list(customers, "contacts", "DYNAMIC", where("lifecyclestage EQ lead"))
    assert events(store, customers) == [(a.id, "added")]  # the old history went with it


# ------------------------------------------------------------------ hostile input


@pytest.mark.parametrize(
    ("name", "object_name", "kind", "filters", "error", "message"),
    [
        ("x", "nope", "MANUAL", None, NotFoundError, "nope"),
        ("x", "contacts", "DYNAMIC", None, StoreError, "give a filter"),
        ("x", "contacts", "SNAPSHOT", (), StoreError, "give a filter"),
        ("x", "contacts", "MANUAL", where("firstname EQ a"), StoreError, "manual list takes no"),
        ("x", "contacts", "ACTIVE", None, StoreError, "processing type 'ACTIVE' unknown"),
        ("x", "contacts", "DYNAMIC", where("nope EQ a"), SearchError, "no property 'nope'"),
        ("x", "contacts", "DYNAMIC", [{"filters": "x"}], SearchError, "expected a list"),
        ("x", "contacts", "DYNAMIC", where("createdate EQ soon"), SearchError, "soon"),
        ("", "contacts", "MANUAL", None, StoreError, "not blank"),
        ("   ", "contacts", "MANUAL", None, StoreError, "not blank"),
        ("x" * 201, "contacts", "MANUAL", None, StoreError, "at most 200"),
        ("a\nb", "contacts", "MANUAL", None, StoreError, "control characters"),
    ],
    ids=[
        "unknown-object",
        "dynamic-without-filter",
        "snapshot-empty-filter",
        "manual-with-filter",
        "unknown-kind",
        "unknown-property",
        "malformed-json",
        "bad-value",
        "empty-name",
        "blank-name",
        "long-name",
        "newline-name",
    ],
)
def test_create_list_refusals(
    store: Store,
    name: str,
    object_name: str,
    kind: str,
    filters: object,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        store.create_list(name, object_name, kind, filters)
    assert store.list_lists() == []


def test_duplicate_list_name_is_refused_even_for_another_object(store: Store) -> None:
    store.create_list("vip", "contacts")
    with pytest.raises(StoreError, match="already exists"):
        store.create_list("vip", "companies")
    with pytest.raises(StoreError, match="already exists"):
        store.create_list("  vip ", "contacts")  # names are trimmed


@pytest.mark.parametrize(
    "name",
    ["x'; DROP TABLE lists; --", 'Robert"); DELETE FROM records;--', "%_\\", "名单 ✓"],
    ids=["quote-drop", "double-quote-delete", "like-wildcards", "unicode"],
)
def test_sql_like_names_are_just_names(store: Store, name: str) -> None:
    a = contact(store)
    store.create_list(name, "contacts")
    store.add_to_list(name, [a.id])
    assert member_ids(store, name) == [a.id]
    assert [x.name for x in store.list_lists()] == [name]
    with pytest.raises(NotFoundError):
        store.get_list("%")
    store.delete_list(name)
    assert store.list_lists() == []


@pytest.mark.parametrize(
    ("action", "verb"),
    [("add", "add to"), ("remove", "remove from"), ("add-filter", "add to")],
    ids=["add", "remove", "add-from-filter"],
)
def test_hand_edits_of_a_dynamic_list_are_refused(
    store: Store, customers: str, action: str, verb: str
) -> None:
    a = contact(store, lifecyclestage="customer")
    with pytest.raises(StoreError, match=f"is dynamic.*cannot {verb} it by hand"):
        if action == "add":
            store.add_to_list(customers, [a.id])
        elif action == "remove":
            store.remove_from_list(customers, [a.id])
        else:
            store.add_matching_to_list(customers, where("firstname EQ x"))
    assert member_ids(store, customers) == [a.id]


def test_unknown_ids_are_named_and_nothing_is_added(store: Store) -> None:
    a = contact(store)
    gone = contact(store)
    store.archive_records("contacts", [gone.id], API)
    other = company(store)
    store.create_list("vip", "contacts")
    with pytest.raises(NotFoundError, match=rf"records {gone.id}, {other.id}, 999999;"):
        store.add_to_list("vip", [a.id, other.id, 999999, gone.id])
    assert member_ids(store, "vip") == []
    assert store.list_history("vip") == []


@pytest.mark.parametrize(
    "ids", [[-1], [0], [2**63]], ids=["negative", "zero", "too-big-for-bigint"]
)
def test_impossible_ids_are_refused(store: Store, ids: list[int]) -> None:
    store.create_list("vip", "contacts")
    with pytest.raises(NotFoundError):
        store.add_to_list("vip", ids)


def test_huge_id_lists(store: Store) -> None:
    store.create_list("vip", "contacts")
    with pytest.raises(NotFoundError, match=r"and 4990 more\); nothing added"):
        store.add_to_list("vip", list(range(10**9, 10**9 + 5000)))
    with pytest.raises(StoreError, match="at most 100000 ids"):
        store.add_to_list("vip", list(range(1, 100_002)))
    result = store.create_records("contacts", [{"email": f"h{i}@x.com"} for i in range(1200)], API)
    ids = [r.id for r in result.records]
    assert store.add_to_list("vip", ids) == 1200
    assert len(member_ids(store, "vip")) == 1200
    assert store.remove_from_list("vip", ids[:1100]) == 1100
    assert member_ids(store, "vip") == ids[1100:]


def test_removing_non_members_names_them_and_removes_nothing(store: Store) -> None:
    a, b = contact(store), contact(store)
    store.create_list("vip", "contacts")
    store.add_to_list("vip", [a.id])
    with pytest.raises(NotFoundError, match=rf"not members of list 'vip': {b.id}; nothing removed"):
        store.remove_from_list("vip", [a.id, b.id])
    assert member_ids(store, "vip") == [a.id]


def test_unknown_list_is_not_found(store: Store) -> None:
    for call in (
        lambda: store.get_list("nope"),
        lambda: store.list_members("nope"),
        lambda: store.add_to_list("nope", [1]),
        lambda: store.delete_list("nope"),
    ):
        with pytest.raises(NotFoundError, match="no list named 'nope'"):
            call()


def test_a_bulk_edit_source_keeps_dynamic_lists_too(store: Store, customers: str) -> None:
    a = contact(store, lifecyclestage="lead")
    source = ChangeSource(SourceType.BULK_EDIT, "cli")
    report = store.bulk_update(
        "contacts", where("lifecyclestage EQ lead"), {"lifecyclestage": "customer"}, source
    )
    assert report.updated == 1
    assert member_ids(store, customers) == [a.id]


def test_concurrent_writers_and_readers_keep_a_dynamic_list_exact(store: Store) -> None:
    """Writers adding matches while readers reconcile: no collision, nothing lost."""
    store.create_list("leads", "contacts", "DYNAMIC", where("lifecyclestage EQ lead"))
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer(n: int) -> None:
        for i in range(5):
            contact(store, f"w{n}-{i}@x.com", lifecyclestage="lead")

    def reader() -> None:
        for _ in range(5):
            store.list_members("leads")

    def wrap(work: Callable[..., None], *args: int) -> None:
        try:
            start.wait()
            work(*args)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(writer, n)) for n in range(4)]
    threads += [threading.Thread(target=wrap, args=(reader,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(member_ids(store, "leads")) == 20
    assert len(events(store, "leads")) == 20  # each joined once, none re-added


def test_a_dynamic_list_made_by_another_process_is_kept_by_the_next_write(
    store: Store, db_url: str
) -> None:
    """Writes learn which objects have dynamic lists under the catalogue version: one
    created or deleted elsewhere is followed (or dropped) by this process's next write,
    at the write (its event), not only when someone reads the members."""
    contact(store, lifecyclestage="customer")  # this store now knows: no dynamic list
    other = Store.open(db_url, migrate=False)
    try:
        other.create_list("late", "contacts", "DYNAMIC", where("lifecyclestage EQ customer"))
        joined = contact(store, lifecyclestage="customer")
        assert (joined.id, "added") in events(store, "late")
        other.delete_list("late")
        contact(store, lifecyclestage="customer")
        with pytest.raises(NotFoundError):
            store.list_history("late")
    finally:
        other.close()
