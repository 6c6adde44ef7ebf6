"""Batch create, update and upsert: one transaction each, all-or-nothing or write-what-is-valid.

Atomic batches refuse everything when one input fails and list every failing input; non-atomic
batches write the valid inputs and report the failures by input index.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from store import (
    MAX_BATCH,
    BatchError,
    BatchResult,
    DuplicateError,
    NotFoundError,
    RecordWriteError,
    Store,
    ValidationError,
)
from store.records import sql as record_sql
from tests.conftest import API
from tests.integration._store_helpers import contact, snapshot


def emails(store: Store) -> set[str]:
    return {r.properties.get("email", "") for r in store.list_records("contacts")}


def test_atomic_create_writes_every_input_in_one_transaction(store: Store) -> None:
    inputs = [{"email": f"p{i}@example.com", "firstname": f"P{i}"} for i in range(25)]
    result = store.create_records("contacts", inputs, API)

    assert result.ok and result.failures == []
    assert [r.properties["email"] for r in result.records] == [i["email"] for i in inputs]
    assert result.created == frozenset(r.id for r in result.records)
    assert len(result.created) == 25
    journal = store.read_journal()
    assert [e.record_id for e in journal] == [r.id for r in result.records]
    assert len({e.written_at for e in journal}) == 1  # one transaction, one clock reading


def test_atomic_create_lists_every_failing_input_and_writes_nothing(store: Store) -> None:
    taken = contact(store, "taken@example.com")
    before = snapshot(store)
    with pytest.raises(BatchError) as caught:
        store.create_records(
            "contacts",
            [
                {"email": "ok@example.com"},
                {"email": "not an email"},
                {"email": "fine@example.com"},
                {"email": "TAKEN@example.com"},
                {"emial": "typo@example.com"},
            ],
            API,
        )
    failures = dict(caught.value.failures)
    assert sorted(failures) == [1, 3, 4]
    assert isinstance(failures[1], ValidationError)
    assert isinstance(failures[3], DuplicateError) and failures[3].existing_id == taken.id
    assert isinstance(failures[4], NotFoundError)
    assert "nothing written" in str(caught.value) and "and 2 more" in str(caught.value)
    assert snapshot(store) == before


def test_non_atomic_create_writes_the_valid_inputs_and_reports_failures_by_index(
    store: Store,
) -> None:
    contact(store, "taken@example.com")
    result = store.create_records(
        "contacts",
        [
            {"email": "ok@example.com"},
            {"email": "taken@example.com"},
            {"email": "bad"},
            {"email": "fine@example.com"},
        ],
        API,
        atomic=False,
    )
    assert not result.ok
    assert [(f.index, type(f.error)) for f in result.failures] == [
        (1, DuplicateError),
        (2, ValidationError),
    ]
    assert [r.properties["email"] for r in result.records] == [
        "ok@example.com",
        "fine@example.com",
    ]
    assert emails(store) == {"taken@example.com", "ok@example.com", "fine@example.com"}
    assert len(store.read_journal()) == 3  # the first contact and the two valid inputs


def test_non_atomic_batch_where_everything_fails_writes_nothing(store: Store) -> None:
    before = snapshot(store)
    result = store.create_records("contacts", [{"email": "x"}, {"email": "y"}], API, atomic=False)
    assert [f.index for f in result.failures] == [0, 1] and result.records == []
    assert snapshot(store) == before


def test_a_single_input_batch_raises_that_inputs_own_error(store: Store) -> None:
    with pytest.raises(ValidationError):
        store.create_records("contacts", [{"email": "bad"}], API)


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic", "non-atomic"])
def test_the_same_unique_value_twice_in_one_batch_is_refused(store: Store, atomic: bool) -> None:
    before = snapshot(store)
    inputs = [
        {"email": "dup@example.com"},
        {"email": "other@example.com"},
        {"email": "DUP@Example.com"},
    ]
    if atomic:
        with pytest.raises(BatchError) as caught:
            store.create_records("contacts", inputs, API)
        (index, error), *_ = caught.value.failures
        assert snapshot(store) == before
    else:
        result = store.create_records("contacts", inputs, API, atomic=False)
        index, error = result.failures[0].index, result.failures[0].error
        assert emails(store) == {"dup@example.com", "other@example.com"}
    assert index == 2
    assert isinstance(error, ValidationError) and "input 0" in error.rule


def test_atomic_update_applies_every_change_or_none(store: Store) -> None:
    a, b = contact(store, firstname="A"), contact(store, firstname="B")
    result = store.update_records(
        "contacts", [(a.id, {"firstname": "A2"}), (b.id, {"lastname": "Bee"})], API
    )
    assert [r.id for r in result.records] == [a.id, b.id]
    assert result.created == frozenset()
    assert store.get_record("contacts", b.id).properties["lastname"] == "Bee"

    before = snapshot(store)
    with pytest.raises(BatchError) as caught:
        store.update_records(
            "contacts",
            [(a.id, {"firstname": "A3"}), (b.id, {"phone": "nope"}), (b.id + 99, {})],
            API,
        )
    assert [i for i, _ in caught.value.failures] == [1, 2]
    assert isinstance(caught.value.failures[1][1], NotFoundError)
    assert snapshot(store) == before


def test_non_atomic_update_writes_the_valid_changes(store: Store) -> None:
    a, b = contact(store), contact(store)
    result = store.update_records(
        "contacts",
        [(a.id, {"firstname": "A"}), (b.id, {"email": "bad"}), (b.id + 99, {"firstname": "x"})],
        API,
        atomic=False,
    )
    assert [f.index for f in result.failures] == [1, 2]
    assert [r.id for r in result.records] == [a.id]
    assert store.get_record("contacts", a.id).properties["firstname"] == "A"
    assert store.get_record("contacts", b.id) == b


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic", "non-atomic"])
def test_the_same_record_twice_in_one_update_batch_is_refused(store: Store, atomic: bool) -> None:
    a = contact(store, firstname="A")
    updates = [(a.id, {"firstname": "First"}), (a.id, {"firstname": "Second"})]
    if atomic:
        before = snapshot(store)
        with pytest.raises(BatchError) as caught:
            store.update_records("contacts", updates, API)
        assert [i for i, _ in caught.value.failures] == [1]
        assert snapshot(store) == before
    else:
        result = store.update_records("contacts", updates, API, atomic=False)
        assert [f.index for f in result.failures] == [1]
        assert "twice" in str(result.failures[0].error)
        assert store.get_record("contacts", a.id).properties["firstname"] == "First"


def test_upsert_by_email_updates_the_holder_and_creates_the_rest(store: Store) -> None:
    ann = contact(store, "ann@example.com", firstname="Ann")
    result = store.upsert_records(
        "contacts",
        "email",
        [("ANN@Example.com", {"firstname": "Anna"}), ("new@example.com", {"firstname": "New"})],
        API,
    )
    updated, created = result.records
    assert updated.id == ann.id
    assert updated.properties["firstname"] == "Anna"
    assert updated.properties["email"] == "ann@example.com"  # the match does not rewrite it
    assert created.properties == store.get_record("contacts", created.id).properties
    assert created.properties["email"] == "new@example.com"
    assert result.created == frozenset({created.id})


def test_upsert_by_domain_matches_the_normalised_domain(store: Store) -> None:
    acme = store.create_record("companies", {"domain": "acme.com", "name": "Acme"}, API)
    result = store.upsert_records(
        "companies", "domain", [("https://www.ACME.com/about", {"name": "Acme Inc"})], API
    )
    assert [r.id for r in result.records] == [acme.id] and result.created == frozenset()
    assert store.get_record("companies", acme.id).properties["name"] == "Acme Inc"


def test_upsert_by_record_id_updates_and_reports_unknown_ids(store: Store) -> None:
    ann = contact(store, firstname="Ann")
    result = store.upsert_records(
        "contacts",
        "hs_object_id",
        [(str(ann.id), {"firstname": "Anna"}), (ann.id + 500, {"firstname": "X"}), ("abc", {})],
        API,
        atomic=False,
    )
    assert [r.id for r in result.records] == [ann.id]
    assert [(f.index, type(f.error)) for f in result.failures] == [
        (1, NotFoundError),
        (2, NotFoundError),
    ]
    assert store.get_record("contacts", ann.id).properties["firstname"] == "Anna"
    assert len(store.list_records("contacts")) == 1


def test_upsert_with_the_same_id_value_twice_is_refused(store: Store) -> None:
    before = snapshot(store)
    with pytest.raises(BatchError) as caught:
        store.upsert_records(
            "contacts",
            "email",
            [("a@example.com", {"firstname": "1"}), ("A@EXAMPLE.COM", {"firstname": "2"})],
            API,
        )
    assert [i for i, _ in caught.value.failures] == [1]
    assert "repeats input 0" in str(caught.value.failures[0][1])
    assert snapshot(store) == before


def test_atomic_upsert_failing_one_input_creates_and_updates_nothing(store: Store) -> None:
    ann = contact(store, "ann@example.com")
    before = snapshot(store)
    with pytest.raises(BatchError):
        store.upsert_records(
            "contacts",
            "email",
            [
                ("ann@example.com", {"firstname": "Anna"}),
                ("new@example.com", {"firstname": "New"}),
                ("bad@example.com", {"phone": "not a phone"}),
            ],
            API,
        )
    assert snapshot(store) == before
    assert store.get_record("contacts", ann.id) == ann


@pytest.mark.parametrize(
    ("id_property", "error"),
    [("firstname", "unique property"), ("emial", "did you mean 'email'")],
    ids=["not-unique", "unknown"],
)
def test_upsert_needs_a_unique_property(store: Store, id_property: str, error: str) -> None:
    with pytest.raises(RecordWriteError, match=error):
        store.upsert_records("contacts", id_property, [("x", {})], API)


def test_upsert_with_an_empty_id_value_is_refused(store: Store) -> None:
    result = store.upsert_records(
        "contacts", "email", [("", {"firstname": "X"})], API, atomic=False
    )
    assert [f.index for f in result.failures] == [0]
    assert store.list_records("contacts") == []


_OVERSIZED: dict[str, Callable[[Store, int], object]] = {
    "create": lambda s, rid: s.create_records("contacts", [{}] * (MAX_BATCH + 1), API),
    "update": lambda s, rid: s.update_records("contacts", [(rid, {})] * (MAX_BATCH + 1), API),
    "upsert": lambda s, rid: s.upsert_records(
        "contacts", "email", [("a@example.com", {})] * (MAX_BATCH + 1), API
    ),
    "archive": lambda s, rid: s.archive_records("contacts", [rid] * (MAX_BATCH + 1), API),
    "restore": lambda s, rid: s.restore_records("contacts", [rid] * (MAX_BATCH + 1), API),
}


@pytest.mark.parametrize("operation", sorted(_OVERSIZED), ids=sorted(_OVERSIZED))
def test_a_batch_over_the_limit_is_refused_whole(store: Store, operation: str) -> None:
    ann = contact(store)
    before = snapshot(store)
    with pytest.raises(RecordWriteError, match=f"at most {MAX_BATCH}"):
        _OVERSIZED[operation](store, ann.id)
    assert snapshot(store) == before


def test_a_batch_at_the_limit_is_accepted(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_sql, "MAX_BATCH", 7)
    result: BatchResult = store.create_records("contacts", [{"firstname": "x"}] * 7, API)
    assert len(result.records) == 7
    with pytest.raises(RecordWriteError, match="at most 7"):
        store.create_records("contacts", [{"firstname": "x"}] * 8, API)
    assert store.journal_head() == 7


def test_archive_and_restore_many_records_at_once(store: Store) -> None:
    ids = [r.id for r in store.create_records("contacts", [{}] * 30, API).records]
    store.archive_records("contacts", ids, API)
    assert store.list_records("contacts") == []
    restored = store.restore_records("contacts", ids, API)
    assert [r.id for r in restored] == ids
    assert [r.id for r in store.list_records("contacts")] == ids
