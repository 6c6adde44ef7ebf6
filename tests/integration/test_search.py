"""Search on both databases: every operator per property type, groups, associations,
relative dates, sorting, keyset paging under concurrent change, limits, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from store import (
    ChangeSource,
    Filter,
    FilterGroup,
    OptionSpec,
    PropertySpec,
    SearchError,
    Sort,
    SourceType,
    Store,
    parse_filter_expression,
)
from tests.conftest import API

CALCULATED = ChangeSource(SourceType.CALCULATED, "test")
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _options(*values: str) -> tuple[OptionSpec, ...]:
    return tuple(OptionSpec(v, v.title(), i) for i, v in enumerate(values))


@pytest.fixture
def people(store: Store) -> dict[str, int]:
    """Five contacts with a custom property of every type; name -> id."""
    for spec in (
        PropertySpec("score", "Score", type="number", field_type="number"),
        PropertySpec("birthday", "Birthday", type="date", field_type="date"),
        PropertySpec("seen_at", "Seen at", type="datetime", field_type="date"),
        PropertySpec(
            "tier",
            "Tier",
            type="enumeration",
            field_type="select",
            options=_options("gold", "silver"),
        ),
        PropertySpec(
            "tags",
            "Tags",
            type="enumeration",
            field_type="checkbox",
            options=_options("a", "b", "c"),
        ),
        PropertySpec("vip", "VIP", type="bool", field_type="booleancheckbox"),
    ):
        store.create_property("contacts", spec)
    rows = {
        "ann": {
            "email": "Ann@Example.com",
            "firstname": "Ann",
            "score": "10",
            "birthday": "1990-01-01",
            "seen_at": "2025-05-31T12:00:00Z",
            "tier": "gold",
            "tags": "a;b",
            "vip": "true",
        },
        "bob": {
            "email": "bob@hubspot.com",
            "firstname": "Bob",
            "score": "9",
            "birthday": "1985-06-15",
            "seen_at": "2025-01-01T00:00:00+02:00",
            "tier": "silver",
            "tags": "b",
            "vip": "false",
        },
        "cat": {
            "email": "cat@hubspot.com",
            "firstname": "cat",
            "score": "100.5",
            "birthday": "2000-12-31",
            "tags": "c",
        },
        "dan": {"email": "dan@other.org", "firstname": "Dan", "score": "-3"},
        "eve": {"firstname": "Eve"},
    }
    ids = {name: store.create_record("contacts", props, API).id for name, props in rows.items()}
    # Read-only, kept by the store from activities; written here as the store would.
    for name, when in (("ann", "2025-05-25T00:00:00Z"), ("bob", "2024-01-01T00:00:00Z")):
        store.update_record("contacts", ids[name], {"notes_last_contacted": when}, CALCULATED)
    return ids


def _names(store: Store, people: dict[str, int], *filters: str, now: datetime = NOW) -> set[str]:
    groups = [FilterGroup(tuple(parse_filter_expression(f) for f in filters))] if filters else []
    ids = {r.id for r in store.search_records("contacts", groups, now=now, limit=1000).records}
    assert store.count_records("contacts", groups, now=now) == len(ids)
    return {name for name, i in people.items() if i in ids}


OPERATOR_CASES = [
    # string: case-insensitive on both sides
    ("email EQ ann@example.COM", {"ann"}),
    ("email NEQ ann@example.com", {"bob", "cat", "dan", "eve"}),
    ("firstname IN ANN,cat", {"ann", "cat"}),
    ("firstname NOT_IN ann,cat", {"bob", "dan", "eve"}),
    ("firstname LT c", {"ann", "bob"}),
    ("firstname GTE dan", {"dan", "eve"}),
    ("firstname BETWEEN b d", {"bob", "cat"}),
    ("email CONTAINS_TOKEN *@hubspot.com", {"bob", "cat"}),
    ("email CONTAINS_TOKEN HUBSPOT", {"bob", "cat"}),
    ("email NOT_CONTAINS_TOKEN *@hubspot.com", {"ann", "dan", "eve"}),
    ("email HAS_PROPERTY", {"ann", "bob", "cat", "dan"}),
    ("email NOT_HAS_PROPERTY", {"eve"}),
    # number: numerically, not as text
    ("score GT 9", {"ann", "cat"}),
    ("score LTE 9", {"bob", "dan"}),
    ("score EQ 10.0", {"ann"}),
    ("score BETWEEN -5 9.5", {"bob", "dan"}),
    ("score IN 9,100.5", {"bob", "cat"}),
    ("score NEQ 9", {"ann", "cat", "dan", "eve"}),
    # date: YYYY-MM-DD, epoch ms at midnight, or ISO
    ("birthday LT 1990-01-01", {"bob"}),
    ("birthday GTE 631152000000", {"ann", "cat"}),
    ("birthday EQ 2000-12-31T00:00:00Z", {"cat"}),
    # datetime: instants, whatever the offset written
    ("seen_at EQ 2024-12-31T22:00:00Z", {"bob"}),
    ("seen_at GT 2025-01-01", {"ann"}),
    ("seen_at LTE 1735682400000", {"bob"}),
    ("seen_at BETWEEN 2024-12-31T23:00:00+01:00 2025-06-01", {"ann", "bob"}),
    # enumeration select: exact
    ("tier EQ gold", {"ann"}),
    ("tier NOT_IN gold", {"bob", "cat", "dan", "eve"}),
    ("tier IN gold,silver", {"ann", "bob"}),
    # checkbox: membership
    ("tags EQ b", {"ann", "bob"}),
    ("tags EQ a;b", {"ann"}),
    ("tags IN a,c", {"ann", "cat"}),
    ("tags NEQ b", {"cat", "dan", "eve"}),
    ("tags NOT_IN a,c", {"bob", "dan", "eve"}),
    # bool
    ("vip EQ true", {"ann"}),
    ("vip EQ FALSE", {"bob"}),
    ("vip NEQ true", {"bob", "cat", "dan", "eve"}),
    # automatic properties read the columns
    ("createdate LTE 2999-01-01", {"ann", "bob", "cat", "dan", "eve"}),
    ("lastmodifieddate GT 2999-01-01", set()),
]


@pytest.mark.parametrize(
    ("expression", "expected"), OPERATOR_CASES, ids=[c[0] for c in OPERATOR_CASES]
)
def test_each_operator_compares_as_the_property_type(
    store: Store, people: dict[str, int], expression: str, expected: set[str]
) -> None:
    assert _names(store, people, expression) == expected


def test_hs_object_id_filters_the_id_column(store: Store, people: dict[str, int]) -> None:
    assert _names(store, people, f"hs_object_id EQ {people['bob']}") == {"bob"}
    assert _names(store, people, f"hs_object_id GT {people['cat']}") == {"dan", "eve"}


def test_groups_are_or_and_filters_inside_are_and(store: Store, people: dict[str, int]) -> None:
    groups = [
        {
            "filters": [
                {"propertyName": "tier", "operator": "EQ", "value": "gold"},
                {"propertyName": "score", "operator": "GT", "value": "5"},
            ]
        },
        {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "dan"}]},
    ]
    page = store.search_records("contacts", groups, now=NOW)
    assert {r.id for r in page.records} == {people["ann"], people["dan"]}
    assert page.total == 2


RELATIVE_CASES = [
    ("notes_last_contacted LESS_THAN_DAYS_AGO 30", {"ann"}),
    ("notes_last_contacted MORE_THAN_DAYS_AGO 90", {"bob"}),
    ("seen_at LESS_THAN_DAYS_AGO 1", {"ann"}),
    ("birthday MORE_THAN_DAYS_AGO 10000", {"bob", "ann"}),
]


@pytest.mark.parametrize(
    ("expression", "expected"), RELATIVE_CASES, ids=[c[0] for c in RELATIVE_CASES]
)
def test_relative_dates_count_from_now(
    store: Store, people: dict[str, int], expression: str, expected: set[str]
) -> None:
    assert _names(store, people, expression) == expected


def test_not_contacted_in_90_days_includes_never_contacted(
    store: Store, people: dict[str, int]
) -> None:
    groups = [
        FilterGroup((parse_filter_expression("notes_last_contacted MORE_THAN_DAYS_AGO 90"),)),
        FilterGroup((parse_filter_expression("notes_last_contacted NOT_HAS_PROPERTY"),)),
    ]
    found = {r.id for r in store.search_records("contacts", groups, now=NOW).records}
    assert found == {people[n] for n in ("bob", "cat", "dan", "eve")}


def test_association_filters(store: Store) -> None:
    alone = store.create_record(
        "deals", {"dealname": "alone", "dealstage": "appointmentscheduled"}, API
    )
    linked = store.create_record(
        "deals", {"dealname": "linked", "dealstage": "appointmentscheduled"}, API
    )
    gone = store.create_record(
        "deals", {"dealname": "gone", "dealstage": "appointmentscheduled"}, API
    )
    person = store.create_record("contacts", {"email": "p@example.com"}, API)
    archived = store.create_record("contacts", {"email": "q@example.com"}, API)
    store.associate("deals", linked.id, "contacts", person.id, API)
    store.associate("deals", gone.id, "contacts", archived.id, API)
    store.archive_records("contacts", [archived.id], API)

    def ids(expression: str) -> set[int]:
        groups = [FilterGroup((parse_filter_expression(expression),))]
        return {r.id for r in store.search_records("deals", groups).records}

    assert ids("associations.contact NOT_HAS_PROPERTY") == {alone.id, gone.id}
    assert ids("associations.contacts HAS_PROPERTY") == {linked.id}
    assert ids(f"associations.contact EQ {person.id}") == {linked.id}
    assert ids(f"associations.0-1 NEQ {person.id}") == {alone.id, gone.id}
    with pytest.raises(SearchError, match=r"filters\[0\]\.propertyName: no object 'contactz'"):
        ids("associations.contactz HAS_PROPERTY")
    with pytest.raises(SearchError, match="LT does not apply"):
        ids("associations.contact LT 3")


SORT_CASES = [
    (Sort("score"), ["dan", "bob", "ann", "cat", "eve"]),
    (Sort("score", descending=True), ["cat", "ann", "bob", "dan", "eve"]),
    (Sort("firstname"), ["ann", "bob", "cat", "dan", "eve"]),
    (Sort("seen_at", descending=True), ["ann", "bob", "cat", "dan", "eve"]),
    (Sort("tier"), ["ann", "bob", "cat", "dan", "eve"]),
    (Sort("hs_object_id", descending=True), ["eve", "dan", "cat", "bob", "ann"]),
]


@pytest.mark.parametrize(
    ("sort", "expected"),
    SORT_CASES,
    ids=[f"{s.property}{'-desc' if s.descending else ''}" for s, _ in SORT_CASES],
)
@pytest.mark.parametrize("page_size", [1, 2, 100], ids=["pages-of-1", "pages-of-2", "one-page"])
def test_sorting_is_typed_nulls_last_and_pages_through(
    store: Store, people: dict[str, int], sort: Sort, expected: list[str], page_size: int
) -> None:
    by_id = {i: n for n, i in people.items()}
    seen: list[str] = []
    after = None
    while True:
        page = store.search_records("contacts", sorts=[sort], limit=page_size, after=after)
        assert page.total == 5
        seen += [by_id[r.id] for r in page.records]
        after = page.next_after
        if after is None:
            break
    assert seen == expected


def test_paging_stays_stable_while_records_change(store: Store) -> None:
    ids = [
        store.create_record(
            "contacts", {"email": f"c{i}@example.com", "city": f"city{i:03}"}, API
        ).id
        for i in range(30)
    ]
    groups = [FilterGroup((Filter("city", "HAS_PROPERTY"),))]
    sorts = [Sort("city", descending=True)]
    page = store.search_records("contacts", groups, sorts, limit=7)
    seen = [r.id for r in page.records]
    changed: set[int] = set()
    while page.next_after is not None:
        # Between pages: new records sort before and after the cursor, one is updated.
        store.create_record(
            "contacts", {"email": f"new{len(seen)}@example.com", "city": "zzz"}, API
        )
        store.create_record(
            "contacts", {"email": f"old{len(seen)}@example.com", "city": "aaa"}, API
        )
        victim = ids[len(seen) % 30]
        store.update_record("contacts", victim, {"city": "mmm"}, API)
        changed.add(victim)
        page = store.search_records("contacts", groups, sorts, limit=7, after=page.next_after)
        seen += [r.id for r in page.records]
    assert len(seen) == len(set(seen)), "a record was shown twice"
    assert set(ids) - changed <= set(seen), "an unchanged record was skipped"


def test_properties_limit_what_is_returned(store: Store, people: dict[str, int]) -> None:
    page = store.search_records("contacts", properties=["email", "score"], sorts=["hs_object_id"])
    assert page.records[0].properties == {"email": "Ann@Example.com", "score": "10"}
    full = store.search_records("contacts", limit=1).records[0].properties
    assert {"email", "firstname", "score", "hs_object_id", "createdate"} <= set(full)


def test_archived_records_never_match(store: Store, people: dict[str, int]) -> None:
    store.archive_records("contacts", [people["ann"]], API)
    assert _names(store, people) == {"bob", "cat", "dan", "eve"}


def test_iter_matching_ids_streams_in_batches(store: Store, people: dict[str, int]) -> None:
    groups = [FilterGroup((Filter("email", "HAS_PROPERTY"),))]
    batches = list(store.iter_matching_ids("contacts", groups, batch=3))
    assert batches == [sorted(people[n] for n in ("ann", "bob", "cat")), [people["dan"]]]


def _group(n: int) -> dict[str, object]:
    return {"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * n}


REFUSED = [
    (
        "unknown-operator",
        [{"filters": [{"propertyName": "email", "operator": "EQQ", "value": "x"}]}],
        r"filterGroups\[0\]\.filters\[0\]\.operator: 'EQQ' unknown; did you mean 'EQ'",
    ),
    (
        "unknown-property",
        [{"filters": [{"propertyName": "emial", "operator": "EQ", "value": "x"}]}],
        r"filterGroups\[0\]\.filters\[0\]\.propertyName: contacts has no property 'emial'.*'email'",
    ),
    (
        "number-not-a-number",
        [{"filters": [{"propertyName": "score", "operator": "GT", "value": "ten"}]}],
        r"filterGroups\[0\]\.filters\[0\]\.value: 'ten' does not fit score",
    ),
    (
        "date-not-a-date",
        [{"filters": [{"propertyName": "birthday", "operator": "EQ", "value": "2024-02-30"}]}],
        r"filters\[0\]\.value: .*calendar date",
    ),
    (
        "datetime-garbage",
        [{"filters": [{"propertyName": "seen_at", "operator": "LT", "value": "yesterday"}]}],
        r"filters\[0\]\.value: 'yesterday' does not fit seen_at",
    ),
    (
        "bool-not-bool",
        [{"filters": [{"propertyName": "vip", "operator": "EQ", "value": "yes"}]}],
        r"filters\[0\]\.value: 'yes' does not fit vip",
    ),
    (
        "enum-not-option",
        [{"filters": [{"propertyName": "tier", "operator": "EQ", "value": "Gold"}]}],
        r"not an option; did you mean 'gold'",
    ),
    (
        "checkbox-not-option",
        [{"filters": [{"propertyName": "tags", "operator": "IN", "values": ["a", "z"]}]}],
        r"'z' is not an option of tags",
    ),
    (
        "between-without-high",
        [{"filters": [{"propertyName": "score", "operator": "BETWEEN", "value": "1"}]}],
        r"filters\[0\]\.highValue: BETWEEN needs",
    ),
    (
        "in-without-values",
        [{"filters": [{"propertyName": "score", "operator": "IN"}]}],
        r"filters\[0\]\.values: IN needs a list",
    ),
    (
        "days-not-a-number",
        [
            {
                "filters": [
                    {
                        "propertyName": "seen_at",
                        "operator": "MORE_THAN_DAYS_AGO",
                        "value": "1; DROP TABLE records",
                    }
                ]
            }
        ],
        r"expected a number of days",
    ),
    (
        "relative-on-text",
        [{"filters": [{"propertyName": "email", "operator": "LESS_THAN_DAYS_AGO", "value": "3"}]}],
        r"applies to dates",
    ),
    (
        "token-on-number",
        [{"filters": [{"propertyName": "score", "operator": "CONTAINS_TOKEN", "value": "3"}]}],
        r"applies to text",
    ),
    ("six-groups", [_group(1)] * 6, r"filterGroups: 6 filter groups; at most 5"),
    ("seven-in-a-group", [_group(7)], r"filterGroups\[0\]\.filters: 7 filters; at most 6"),
    (
        "nineteen-in-all",
        [_group(6), _group(6), _group(6), _group(1)],
        r"19 filters in all; at most 18",
    ),
    ("empty-group", [{"filters": []}], r"at least one filter"),
    ("not-a-list", {"filters": "x"}, r"filterGroups: expected a list"),
    (
        "unknown-key",
        [{"filters": [{"propertyName": "email", "operator": "EQ", "valeu": "x"}]}],
        r"filters\[0\]\.valeu: unknown field; did you mean 'value'",
    ),
    (
        "value-an-object",
        [{"filters": [{"propertyName": "email", "operator": "EQ", "value": {"$ne": 1}}]}],
        r"filters\[0\]\.value: expected text or a number, got an object",
    ),
]


@pytest.mark.parametrize(
    ("raw", "message"), [(r, m) for _, r, m in REFUSED], ids=[i for i, _, _ in REFUSED]
)
def test_bad_requests_are_refused_naming_the_path(
    store: Store, people: dict[str, int], raw: object, message: str
) -> None:
    with pytest.raises(SearchError, match=message):
        store.search_records("contacts", raw, now=NOW)  # type: ignore[arg-type]


HOSTILE_VALUES = [
    "x' OR '1'='1",
    "'); DELETE FROM records; --",
    "%",
    "_",
    "a\\b",
    "ü" * 10_000,
    "x" * 10_000,
]


@pytest.mark.parametrize(
    "value",
    HOSTILE_VALUES,
    ids=["or-1-1", "delete", "percent", "underscore", "backslash", "10k-unicode", "10k"],
)
@pytest.mark.parametrize("operator", ["EQ", "NEQ", "CONTAINS_TOKEN", "LT"])
def test_hostile_values_are_only_values(
    store: Store, people: dict[str, int], value: str, operator: str
) -> None:
    groups = [{"filters": [{"propertyName": "firstname", "operator": operator, "value": value}]}]
    page = store.search_records("contacts", groups, now=NOW)
    if operator in ("EQ", "CONTAINS_TOKEN"):
        assert page.total == 0
    if operator == "NEQ":
        assert page.total == 5
    assert store.count_records("contacts") == 5


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "", "eyJzIjoiYWJjIn0", "!!!!", "x" * 5000, "eyJzIjogMX0="],
    ids=["garbage", "empty", "other-signature", "not-base64", "too-long", "wrong-shape"],
)
def test_bad_cursor_is_refused(store: Store, people: dict[str, int], cursor: str) -> None:
    with pytest.raises(SearchError, match="after: not a cursor of this search"):
        store.search_records("contacts", after=cursor)


def test_cursor_of_another_sort_is_refused(store: Store, people: dict[str, int]) -> None:
    cursor = store.search_records("contacts", sorts=["score"], limit=1).next_after
    with pytest.raises(SearchError, match="another object or sort order"):
        store.search_records("contacts", sorts=["score:desc"], limit=1, after=cursor)


@pytest.mark.parametrize("limit", [0, -1, 10_001], ids=["zero", "negative", "too-many"])
def test_limit_out_of_range_is_refused(store: Store, limit: int) -> None:
    with pytest.raises(SearchError, match="limit:"):
        store.search_records("contacts", limit=limit)
