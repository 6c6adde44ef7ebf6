"""The store's search additions the API stands on: offsets, free-text query, bulk look-ups.

On SQLite and PostgreSQL, through ``Store`` directly (the HTTP side is in ``test_search``).
"""

from __future__ import annotations

import pytest

from store import (
    NotFoundError,
    Record,
    RecordWriteError,
    SearchError,
    Store,
    ValidationError,
)
from store.search import part as search_module
from tests.conftest import API


@pytest.fixture
def people(store: Store) -> list[Record]:
    rows = [
        {"email": "ann@example.com", "firstname": "Ann", "lastname": "Smith"},
        {"email": "bob@example.com", "firstname": "Bob", "lastname": "Smithers",
         "company": "100%_Pure"},
        {"email": "cat@example.org", "firstname": "Cat", "lastname": "Jones"},
        {"firstname": "Dan", "phone": "+14155550100"},
    ]  # fmt: skip
    return store.create_records("contacts", rows, API).records


def test_offset_pages_follow_the_sort_and_end(store: Store, people: list[Record]) -> None:
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = store.search_records("contacts", sorts=["-firstname"], limit=3, offset=offset)
        assert page.total == 4 and page.next_after is None
        seen.extend(r.id for r in page.records)
        offset = page.next_offset
    assert seen == [people[i].id for i in (3, 2, 1, 0)]
    beyond = store.search_records("contacts", limit=3, offset=50)
    assert (beyond.records, beyond.next_offset, beyond.total) == ([], None, 4)
    keyset = store.search_records("contacts", limit=3)
    assert keyset.next_offset is None and keyset.next_after is not None


@pytest.mark.parametrize(
    ("offset", "after", "message"),
    [
        (-1, None, "offset"),
        (True, None, "offset"),
        ("5", None, "offset"),
        (search_module.MAX_OFFSET + 1, None, "offset"),
        (0, "cursor", "either a cursor or an offset"),
    ],
    ids=["negative", "bool", "text", "huge", "both"],
)
def test_bad_offsets_are_refused(
    store: Store, offset: object, after: str | None, message: str
) -> None:
    with pytest.raises(SearchError, match=message):
        store.search_records("contacts", offset=offset, after=after)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("smith", [0, 1]),
        ("SMITH ann", [0]),
        ("ann smith ann", [0]),
        ("example.org", [2]),
        ("100%_", [1]),
        ("%", [1]),
        ("_", [1]),
        ("4155550100", [3]),
        ("nobody", []),
        ("", [0, 1, 2, 3]),
        ("  \t ", [0, 1, 2, 3]),
    ],
    ids=[
        "word",
        "words-and-ed",
        "repeated-word",
        "in-email",
        "like-metacharacters",
        "percent",
        "underscore",
        "phone",
        "none",
        "empty",
        "blank",
    ],
)
def test_query_words_must_each_appear(
    store: Store, people: list[Record], query: str, expected: list[int]
) -> None:
    page = store.search_records("contacts", query=query)
    assert [r.id for r in page.records] == [people[i].id for i in expected]
    assert page.total == len(expected)


def test_query_properties_narrow_and_combine_with_filters(
    store: Store, people: list[Record]
) -> None:
    only_names = store.search_records("contacts", query="example", query_properties=["firstname"])
    assert only_names.total == 0
    groups = [{"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "bob"}]}]
    page = store.search_records("contacts", groups, query="smith")
    assert [r.id for r in page.records] == [people[1].id]
    none = store.search_records("contacts", query="smith", query_properties=["hs_object_id"])
    assert none.total == 0


@pytest.mark.parametrize(
    ("query", "properties", "message"),
    [
        ("x" * 3_001, None, "query: longer than 3000"),
        (" ".join(f"w{i}" for i in range(33)), None, "33 words"),
        ("a\x00b", None, "NUL"),
        (5, None, "expected text"),
        ("x", ["nosuch"], "query_properties"),
    ],
    ids=["long", "many-words", "nul", "not-text", "unknown-property"],
)
def test_bad_queries_are_refused(
    store: Store, query: object, properties: list[str] | None, message: str
) -> None:
    with pytest.raises(SearchError, match=message):
        store.search_records(
            "contacts",
            query=query,  # type: ignore[arg-type]
            query_properties=properties,
        )


def test_find_records_by_unique_value_and_by_id(store: Store, people: list[Record]) -> None:
    found = store.find_records("contacts", "email", ["BOB@example.com", "nobody@example.com", ""])
    assert isinstance(found[0], Record) and found[0].id == people[1].id
    assert isinstance(found[1], NotFoundError)
    assert isinstance(found[2], ValidationError)
    by_id = store.find_records(
        "contacts", "hs_object_id", [str(people[0].id), people[2].id, "x", "-1", "9" * 40, 0]
    )
    assert [r.id for r in by_id[:2] if isinstance(r, Record)] == [people[0].id, people[2].id]
    assert all(isinstance(r, NotFoundError) for r in by_id[2:])
    not_unique = store.find_records("contacts", "firstname", ["Ann"])
    assert isinstance(not_unique[0], ValidationError)
    unknown = store.find_records("contacts", "nosuch", ["x"])
    assert isinstance(unknown[0], RecordWriteError)


def test_find_records_skips_archived_unless_asked(store: Store, people: list[Record]) -> None:
    store.archive_records("contacts", [people[0].id], API)
    (gone,) = store.find_records("contacts", "hs_object_id", [str(people[0].id)])
    assert isinstance(gone, NotFoundError)
    (kept,) = store.find_records(
        "contacts", "hs_object_id", [str(people[0].id)], include_archived=True
    )
    assert isinstance(kept, Record) and kept.archived


def test_property_histories_newest_first_per_record(store: Store, people: list[Record]) -> None:
    ann, bob = people[0].id, people[1].id
    store.update_record("contacts", ann, {"firstname": "Anne"}, API)
    store.update_record("contacts", ann, {"firstname": "Annie", "lastname": "S"}, API)
    company = store.create_record("companies", {"name": "Acme"}, API)
    found = store.property_histories(
        "contacts", [ann, bob, company.id, -5], ["firstname", "lastname", "firstname"]
    )
    assert set(found) == {ann, bob}
    assert [v.value for v in found[ann]["firstname"]] == ["Annie", "Anne", "Ann"]
    assert [v.value for v in found[ann]["lastname"]] == ["S", "Smith"]
    assert [v.value for v in found[bob]["firstname"]] == ["Bob"]
    assert {(v.source_type.value, v.source_id) for v in found[ann]["firstname"]} == {
        ("API", "test-token")
    }
    with pytest.raises(NotFoundError, match="nosuch"):
        store.property_histories("contacts", [ann], ["nosuch"])


def test_property_histories_keep_the_newest_versions(
    store: Store, people: list[Record], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "MAX_HISTORY", 2)
    ann = people[0].id
    for name in ("B", "C", "D"):
        store.update_record("contacts", ann, {"firstname": name}, API)
    found = store.property_histories("contacts", [ann], ["firstname"])
    assert [v.value for v in found[ann]["firstname"]] == ["D", "C"]


def test_bulk_reads_are_bounded(store: Store) -> None:
    too_many = search_module.MAX_LOOKUPS + 1
    with pytest.raises(SearchError, match="at most"):
        store.find_records("contacts", "email", ["a@example.com"] * too_many)
    with pytest.raises(SearchError, match="at most"):
        store.property_histories("contacts", list(range(1, too_many + 1)), ["email"])


def test_linked_records_per_record_live_only(store: Store, people: list[Record]) -> None:
    acme = store.create_record("companies", {"name": "Acme"}, API)
    gone = store.create_record("companies", {"name": "Gone"}, API)
    ann, bob = people[0].id, people[1].id
    store.associate("contacts", ann, "companies", acme.id, API, label="Primary")
    store.associate("contacts", ann, "companies", gone.id, API)
    store.associate("contacts", bob, "companies", acme.id, API)
    store.associate("contacts", bob, "contacts", ann, API)
    store.archive_records("companies", [gone.id], API)
    linked = store.linked_records("contacts", [ann, bob, people[2].id, acme.id, -1], "companies")
    assert linked == {ann: [(acme.id, 1), (acme.id, 279)], bob: [(acme.id, 279)]}
    back = store.linked_records("companies", [acme.id, ann], "contacts")
    assert back == {acme.id: [(ann, 2), (ann, 280), (bob, 280)]}
    with pytest.raises(NotFoundError):
        store.linked_records("contacts", [ann], "nosuch")
