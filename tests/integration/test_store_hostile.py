"""Hostile and broken input on every write path: always a typed error, never a stored trace.

Whatever a caller sends (wrong types, oversized or binary text, SQL, huge numbers, naive
datetimes, impossible dates, unknown names), the store answers with one of its own errors,
and stores nothing of a refused write on either database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from store import (
    MAX_VALUE_LENGTH,
    ChangeSource,
    DuplicateError,
    NotFoundError,
    PropertySpec,
    RecordWriteError,
    SourceType,
    Store,
    ValidationError,
)
from tests.conftest import API
from tests.integration._store_helpers import contact, snapshot

SQL = "'); DROP TABLE records;--"

# ---------------------------------------------------------------- unknown names

_ON_UNKNOWN_OBJECT: dict[str, Callable[[Store, str], object]] = {
    "create": lambda s, name: s.create_record(name, {"email": "a@example.com"}, API),
    "update": lambda s, name: s.update_records(name, [(1, {})], API),
    "upsert": lambda s, name: s.upsert_records(name, "email", [("a@example.com", {})], API),
    "get": lambda s, name: s.get_record(name, 1),
    "associate": lambda s, name: s.associate(name, 1, "companies", 2, API),
    "create-property": lambda s, name: s.create_property(name, PropertySpec("x", "X")),
}


@pytest.mark.parametrize("operation", sorted(_ON_UNKNOWN_OBJECT), ids=sorted(_ON_UNKNOWN_OBJECT))
def test_an_unknown_object_is_refused_with_the_nearest_name(store: Store, operation: str) -> None:
    contact(store, "a@example.com")
    before = snapshot(store)
    with pytest.raises(NotFoundError, match="did you mean 'contacts'") as caught:
        _ON_UNKNOWN_OBJECT[operation](store, "contcts")
    assert "known objects:" in str(caught.value)
    assert snapshot(store) == before


@pytest.mark.parametrize("name", [SQL, "", 42, None], ids=["sql", "empty", "int", "none"])
def test_an_object_name_that_is_no_name_is_not_found(store: Store, name: object) -> None:
    with pytest.raises(NotFoundError):
        store.get_record(name, 1)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        store.create_record(name, {}, API)  # type: ignore[arg-type]
    assert store.journal_head() == 0


_ON_UNKNOWN_PROPERTY: dict[str, Callable[[Store, int], object]] = {
    "create": lambda s, rid: s.create_record("contacts", {"emial": "b@example.com"}, API),
    "update": lambda s, rid: s.update_record("contacts", rid, {"firstnme": "X"}, API),
    "upsert-by": lambda s, rid: s.upsert_records("contacts", "emial", [("a@example.com", {})], API),
    "upsert-values": lambda s, rid: s.upsert_records(
        "contacts", "email", [("a@example.com", {"lastnam": "X"})], API
    ),
    "find": lambda s, rid: s.find_record("contacts", "emial", "a@example.com"),
    "history": lambda s, rid: s.property_history("contacts", rid, "emial"),
}


@pytest.mark.parametrize(
    "operation", sorted(_ON_UNKNOWN_PROPERTY), ids=sorted(_ON_UNKNOWN_PROPERTY)
)
def test_an_unknown_property_is_refused_with_the_nearest_name(store: Store, operation: str) -> None:
    ann = contact(store, "a@example.com")
    before = snapshot(store)
    with pytest.raises(NotFoundError, match=r"did you mean '(email|firstname|lastname)'"):
        _ON_UNKNOWN_PROPERTY[operation](store, ann.id)
    assert snapshot(store) == before


# ---------------------------------------------------------------- wrong shapes and types

WRONG_TYPES = [
    ("int-for-string", "contacts", "firstname", 42),
    ("list-for-string", "contacts", "firstname", ["Ann"]),
    ("dict-for-string", "contacts", "firstname", {"first": "Ann"}),
    ("bytes-for-string", "contacts", "firstname", b"Ann"),
    ("bool-for-number", "deals", "amount", False),
    ("int-for-bool", "companies", "is_public", 1),
]

_VALID = {
    "contacts": {"email": "valid@example.com"},
    "companies": {"name": "Valid"},
    "deals": {"dealname": "Valid", "dealstage": "closedwon"},
}


@pytest.mark.parametrize(
    ("object_name", "prop", "raw"), [c[1:] for c in WRONG_TYPES], ids=[c[0] for c in WRONG_TYPES]
)
def test_a_value_of_the_wrong_type_is_refused(
    store: Store, object_name: str, prop: str, raw: object
) -> None:
    before = snapshot(store)
    with pytest.raises(ValidationError) as caught:
        store.create_record(object_name, {**_VALID[object_name], prop: raw}, API)
    assert (caught.value.property_name, caught.value.value) == (prop, raw)
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "properties",
    [{1: "x"}, {None: "x"}, {("email",): "a@example.com"}, {b"email": "a@example.com"}],
    ids=["int", "none", "tuple", "bytes"],
)
def test_property_names_that_are_not_text_are_refused(
    store: Store, properties: dict[object, object]
) -> None:
    ann = contact(store)
    before = snapshot(store)
    with pytest.raises(ValidationError, match="property names are text"):
        store.create_record("contacts", properties, API)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="property names are text"):
        store.update_record("contacts", ann.id, properties, API)  # type: ignore[arg-type]
    assert snapshot(store) == before


NOT_MAPPINGS = [
    ("list-of-pairs", [("email", "a@example.com")]),
    ("text", "email=a@example.com"),
    ("none", None),
    ("int", 42),
]


@pytest.mark.parametrize(
    "properties", [c[1] for c in NOT_MAPPINGS], ids=[c[0] for c in NOT_MAPPINGS]
)
def test_properties_that_are_not_a_mapping_are_refused_on_every_path(
    store: Store, properties: object
) -> None:
    ann = contact(store, "ann@example.com")
    before = snapshot(store)
    writes: list[Callable[[], object]] = [
        lambda: store.create_record("contacts", properties, API),  # type: ignore[arg-type]
        lambda: store.update_record("contacts", ann.id, properties, API),  # type: ignore[arg-type]
        lambda: store.upsert_records("contacts", "email", [("new@example.com", properties)], API),  # type: ignore[list-item]
        lambda: store.upsert_records("contacts", "email", [("ann@example.com", properties)], API),  # type: ignore[list-item]
    ]
    for write in writes:
        with pytest.raises(ValidationError, match="mapping"):
            write()
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "record_id",
    [-1, 2**63, "1", 1.0, None],
    ids=["negative", "int64-overflow", "text", "float", "none"],
)
def test_a_record_id_that_cannot_exist_is_not_found(store: Store, record_id: object) -> None:
    contact(store)
    before = snapshot(store)
    bad: int = record_id  # type: ignore[assignment]
    for call in (
        lambda: store.get_record("contacts", bad),
        lambda: store.update_record("contacts", bad, {"firstname": "X"}, API),
        lambda: store.archive_records("contacts", [bad], API),
        lambda: store.associate("contacts", bad, "companies", 1, API),
        lambda: store.property_history("contacts", bad),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert snapshot(store) == before


# ---------------------------------------------------------------- text


def test_text_at_the_size_limit_round_trips_and_one_more_character_is_refused(
    store: Store,
) -> None:
    longest = "é" * (MAX_VALUE_LENGTH - 1) + "🚀"
    ann = contact(store, firstname=longest)
    assert store.get_record("contacts", ann.id).properties["firstname"] == longest
    before = snapshot(store)
    with pytest.raises(ValidationError, match="longer than 65536") as caught:
        store.update_record("contacts", ann.id, {"lastname": "x" * (MAX_VALUE_LENGTH + 1)}, API)
    assert len(str(caught.value)) < 300  # the message does not carry the whole value
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "text",
    ["a\x00b", "\x00", "a\ud800b", "\udfff"],
    ids=["nul", "only-nul", "surrogate", "low-surrogate"],
)
def test_text_no_database_can_store_is_refused_on_both(store: Store, text: str) -> None:
    before = snapshot(store)
    with pytest.raises(ValidationError):
        store.create_record("contacts", {"firstname": text}, API)
    assert snapshot(store) == before


UNICODE = [
    ("accents", "Zoë Ñúñez"),
    ("emoji", "🚀🔥 team"),
    ("cjk", "日本語のテキスト"),
    ("rtl", "שלום עולם"),
    ("combining", "e\u0301"),
    ("zero-width", "a\u200bb"),
    ("control-chars", "line1\r\nline2\ttab\x1b[31m"),
]


def test_any_unicode_text_round_trips_exactly(store: Store) -> None:
    """One record per sample, in one batch: what comes back is byte for byte what went in."""
    inputs = [{"firstname": text, "lastname": name} for name, text in UNICODE]
    created = store.create_records("contacts", inputs, API).records
    got = store.get_records("contacts", [r.id for r in created])
    assert [
        (got[r.id].properties["firstname"], got[r.id].properties["lastname"]) for r in created
    ] == [(text, name) for name, text in UNICODE]
    assert [e.changes for e in store.read_journal()] == [
        {"firstname": [None, text], "lastname": [None, name]} for name, text in UNICODE
    ]


def test_unicode_emails_dedupe_case_insensitively(store: Store) -> None:
    zoe = contact(store, "zoë@exämple.com")
    with pytest.raises(DuplicateError) as caught:
        contact(store, "ZOË@EXÄMPLE.COM")
    assert caught.value.existing_id == zoe.id


SQL_SOURCE = ChangeSource(SourceType.INTEGRATION, SQL)


def test_sql_like_text_is_stored_verbatim_and_harmless(store: Store) -> None:
    store.create_property("contacts", PropertySpec(name="code", label="Code", unique=True))
    ann = store.create_record(
        "contacts",
        {"firstname": SQL, "lastname": "Robert'); DELETE FROM journal; --", "code": SQL},
        SQL_SOURCE,
    )
    contact(store)

    got = store.get_record("contacts", ann.id)
    assert got.properties["firstname"] == SQL
    assert got.properties["lastname"] == "Robert'); DELETE FROM journal; --"
    assert len(store.list_records("contacts")) == 2
    assert store.find_record("contacts", "code", SQL).id == ann.id
    with pytest.raises(DuplicateError):
        contact(store, code=SQL.upper())
    with pytest.raises(NotFoundError):
        store.find_record("contacts", "code", "' OR '1'='1")
    history = store.property_history("contacts", ann.id, "firstname")
    assert [(h.value, h.source_id) for h in history] == [(SQL, SQL)]
    assert store.read_journal()[0].source_id == SQL
    with pytest.raises(NotFoundError):
        store.update_record("contacts", ann.id, {SQL: "x"}, API)
    with pytest.raises(NotFoundError):
        store.associate("contacts", ann.id, "companies", ann.id, API, label=SQL)


# ---------------------------------------------------------------- numbers and dates


@pytest.fixture
def birthday(store: Store) -> str:
    store.create_property(
        "contacts", PropertySpec(name="birthday", label="Birthday", type="date", field_type="date")
    )
    return "birthday"


BAD_NUMBERS = [
    ("61-digits", "1" * 61),
    ("googol", 10**100),
    ("nan-float", float("nan")),
    ("infinity-text", "Infinity"),
]


@pytest.mark.parametrize("raw", [n[1] for n in BAD_NUMBERS], ids=[n[0] for n in BAD_NUMBERS])
def test_numbers_that_cannot_be_stored_exactly_are_refused(store: Store, raw: object) -> None:
    before = snapshot(store)
    with pytest.raises(ValidationError):
        store.create_record(
            "deals", {"dealname": "D", "dealstage": "closedwon", "amount": raw}, API
        )
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("1" * 60, "1" * 60), ("-0.000000000000000000000000000001", "-0.000000000000000000000000000001"),
     (2**64, str(2**64))],
    ids=["60-digits", "tiny", "2-to-the-64"],
)  # fmt: skip
def test_large_and_tiny_numbers_are_stored_exactly(store: Store, raw: object, stored: str) -> None:
    big = store.create_record(
        "deals", {"dealname": "D", "dealstage": "closedwon", "amount": raw}, API
    )
    assert store.get_record("deals", big.id).properties["amount"] == stored


BAD_DATES = [
    ("naive-datetime-object", "closedate", datetime(2024, 5, 1, 9, 30)),  # noqa: DTZ001
    ("naive-datetime-text", "closedate", "2024-05-01T09:30:00"),
    ("impossible-date", "birthday", "2023-02-30"),
    ("epoch-ms-not-midnight", "birthday", 1704067200001),
    ("epoch-ms-out-of-range", "birthday", 999_999_999_999_999),
]


@pytest.mark.parametrize(("prop", "raw"), [d[1:] for d in BAD_DATES], ids=[d[0] for d in BAD_DATES])
def test_dates_and_datetimes_that_are_not_real_instants_are_refused(
    store: Store, birthday: str, prop: str, raw: object
) -> None:
    object_name = "deals" if prop == "closedate" else "contacts"
    values = {"dealname": "D", "dealstage": "closedwon"} if object_name == "deals" else {}
    before = snapshot(store)
    with pytest.raises(ValidationError) as caught:
        store.create_record(object_name, {**values, prop: raw}, API)
    assert caught.value.property_name == prop
    assert snapshot(store) == before


def test_epoch_ms_at_midnight_is_a_date(store: Store, birthday: str) -> None:
    ann = contact(store, birthday=1704067200000)
    assert store.get_record("contacts", ann.id).properties[birthday] == "2024-01-01"


# ---------------------------------------------------------------- batches


def test_the_same_record_twice_in_archive_or_restore_counts_once(store: Store) -> None:
    ann = contact(store)
    store.archive_records("contacts", [ann.id, ann.id], API)
    store.restore_records("contacts", [ann.id, ann.id], API)
    assert [e.op for e in store.read_journal()] == ["create", "archive", "restore"]


def test_the_same_record_twice_in_an_upsert_by_id_is_refused(store: Store) -> None:
    ann = contact(store)
    before = snapshot(store)
    with pytest.raises(RecordWriteError):
        store.upsert_records(
            "contacts", "hs_object_id", [(ann.id, {"firstname": "A"}), (str(ann.id), {})], API
        )
    assert snapshot(store) == before


def test_a_batch_mixing_good_and_hostile_inputs_writes_only_the_good_ones(store: Store) -> None:
    result = store.create_records(
        "contacts",
        [
            {"email": "good@example.com"},
            {"email": SQL},
            {"firstname": "\x00"},
            {"firstname": float("nan")},
            "not a mapping",  # type: ignore[list-item]
            {"email": "also.good@example.com", "firstname": "🚀"},
        ],
        API,
        atomic=False,
    )
    assert [f.index for f in result.failures] == [1, 2, 3, 4]
    assert all(isinstance(f.error, ValidationError) for f in result.failures)
    assert [r.properties["email"] for r in result.records] == [
        "good@example.com",
        "also.good@example.com",
    ]


def test_non_text_association_label_is_a_validation_error(store: Store) -> None:
    contact = store.create_record("contacts", {"email": "l@example.com"}, API)
    company = store.create_record("companies", {"domain": "l.example"}, API)
    with pytest.raises(ValidationError, match="label is text"):
        store.associate("contacts", contact.id, "companies", company.id, API, label=7)  # type: ignore[arg-type]
    assert store.list_associations("contacts", contact.id) == []


def test_overlong_source_id_is_refused_before_any_write() -> None:
    with pytest.raises(ValueError, match="at most 200"):
        ChangeSource(SourceType.INTEGRATION, "s" * 201)
