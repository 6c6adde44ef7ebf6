"""What the ``memory`` connector does beyond the contract (tests/contract/ proves that part).

Its choices where the contract leaves one (how a lost create answer is recovered, which
record a value finds, tombstones), its options, and the example config users try it with.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from config.load import load_config
from connectors.base import ConnectorError, WriteOutcome, WriteRequest
from connectors.memory import MemoryConnector, MemoryOptions, forget_systems
from store import ChangeSource, SourceType, Store
from syncd.engine import build_connector, build_spec, run_sync

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "memory.yaml"
UI = ChangeSource(SourceType.CRM_UI, "test-user")


@pytest.fixture
def make() -> Iterator[Any]:
    made: list[MemoryConnector] = []

    def build(**options: Any) -> MemoryConnector:
        objects = options.pop("objects", {"customers": {"unique": ["email"]}})
        parsed = MemoryOptions.model_validate({"system": "unit", "objects": objects, **options})
        connector = MemoryConnector("mem", parsed)
        made.append(connector)
        return connector

    yield build
    for connector in made:
        connector.close()
    forget_systems("unit")


def create(email: str | None, key: str = "s:1", match: bool = True) -> WriteRequest:
    fields = {"email": email, "name": "Ada"}
    return WriteRequest(key, None, fields, ("email", email) if match and email else None)


def test_a_lost_answer_is_recovered_by_the_create_key(make: Any) -> None:
    connector = make()
    connector.system.lose_create_answers(1)

    (result,) = connector.write("customers", [create(None)])

    assert result.outcome is WriteOutcome.CREATED, result.error
    assert [r.id for r in connector.system.records("customers")] == [result.external_id]
    assert connector.system.lost_create_answers == 0
    (check,) = connector.find_created("customers", [create(None)])
    assert check.record is not None and check.record.id == result.external_id


def test_without_create_keys_a_lost_answer_is_found_by_its_match_else_reported(
    make: Any,
) -> None:
    connector = make(idempotency_keys=False)
    connector.system.lose_create_answers(2)

    (found,) = connector.write("customers", [create("ada@x.test")])
    (reported,) = connector.write("customers", [create(None, key="s:2")])

    assert found.outcome is WriteOutcome.CREATED
    assert reported.outcome is WriteOutcome.FAILED and reported.maybe_created
    assert reported.error is not None and "syncd errors retry" in reported.error
    assert len(connector.system.records("customers")) == 2
    (check,) = connector.find_created("customers", [create(None, key="s:2")])
    assert check.record is None and not check.safe and check.reason


def test_a_repeated_create_key_answers_the_first_record(make: Any) -> None:
    connector = make()
    (first,) = connector.write("customers", [create(None)])
    (again,) = connector.write("customers", [create(None)])

    assert again.outcome is WriteOutcome.CREATED and again.external_id == first.external_id
    assert len(connector.system.records("customers")) == 1


def test_a_create_with_a_match_value_adopts_the_record_holding_it(make: Any) -> None:
    connector = make(objects={"customers": {}})
    older = connector.system.add("customers", {"email": "ada@x.test", "name": "Old"})
    connector.system.add("customers", {"email": "ada@x.test", "name": "Twin"})

    (result,) = connector.write("customers", [create("ada@x.test")])
    found = connector.find_by("customers", "email", ["ada@x.test", ["a", "list"]])

    assert result.matched and result.external_id == older.id
    assert list(found) == ["ada@x.test"] and found["ada@x.test"].id == older.id
    assert found["ada@x.test"].fields["name"] == "Ada"


def test_tombstones_are_reported_as_changes_and_reads(make: Any) -> None:
    connector = make(objects={"customers": {"tombstones": True}})
    record = connector.system.add("customers", {"email": "ada@x.test"})
    connector.delete("customers", [record.id])

    page = connector.fetch_changes("customers", None, limit=10, resume=False)
    (read,) = connector.fetch_by_ids("customers", [record.id])

    assert [(r.id, r.deleted) for r in page.records] == [(record.id, True)]
    assert read.deleted
    assert list(connector.iter_ids("customers")) == []


def test_declared_fields_are_answered_null_when_never_written(make: Any) -> None:
    """The engine reads an absent field as "not provided": a system with a schema answers
    all of it (the model tests found a CRM edit never pushed while it did not)."""
    connector = make(objects={"customers": {"fields": ["email", "name"]}})
    (made,) = connector.write("customers", [WriteRequest("s:1", None, {"email": "a@x.test"})])
    (read,) = connector.fetch_by_ids("customers", [str(made.external_id)])

    assert made.record is not None and dict(made.record.fields) == {
        "email": "a@x.test",
        "name": None,
    }
    assert dict(read.fields) == {"email": "a@x.test", "name": None}


def test_refused_values_fail_their_request_naming_the_field(make: Any) -> None:
    connector = make(objects={"customers": {"fields": ["email", "name"]}})
    requests = [
        WriteRequest("s:1", None, {"email": "a@x.test", "phone": "1"}),
        WriteRequest("s:2", None, {"email": {1, 2}}),
        WriteRequest("s:3", None, {"email": float("nan")}),
    ]

    results = connector.write("customers", requests)

    assert [r.outcome for r in results] == [WriteOutcome.FAILED] * 3
    assert "'phone'" in (results[0].error or "")
    assert "email" in (results[1].error or "") and "set" in (results[1].error or "")
    assert "finite" in (results[2].error or "")
    assert connector.system.records("customers") == []


def test_options_name_what_is_wrong(make: Any) -> None:
    with pytest.raises(ValidationError, match="phone"):
        MemoryOptions.model_validate({"objects": {"c": {"fields": ["email"], "unique": ["phone"]}}})
    connector = make()
    with pytest.raises(ConnectorError, match="configured objects: customers"):
        connector.fetch_by_ids("contacts", ["1"])
    assert "configured objects: customers" in (connector.check_object("contacts") or "")
    assert connector.check_object("customers") is None


def test_connectors_naming_one_system_share_it_and_calls_are_recorded(make: Any) -> None:
    first, second = make(), make()
    (made,) = first.write("customers", [create("ada@x.test")])

    assert [r.id for r in second.fetch_by_ids("customers", [str(made.external_id)])] == [
        made.external_id
    ]
    assert ("write", "customers", 1) in first.system.calls


@pytest.fixture
def example_store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url, migrate=False)
    yield opened
    opened.close()
    forget_systems("shop")


def test_the_example_config_syncs_both_ways(example_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "memory.yaml"
    shutil.copy(EXAMPLE, path)
    config = load_config(path, env={})
    spec = build_spec(config, config.syncs["shop-customers"])
    connector = build_connector(config, "shop")
    try:
        run_sync(spec, connector, example_store)
        emails = {r.properties["email"] for r in example_store.list_records("contacts", limit=10)}
        assert emails == {"ada@example.com", "grace@example.com", "alan@example.com"}

        example_store.create_record("contacts", {"email": "new@example.com"}, UI)
        run_sync(spec, connector, example_store)
    finally:
        connector.close()
    assert isinstance(connector, MemoryConnector)
    held = {r.fields.get("email") for r in connector.system.records("customers")}
    assert "new@example.com" in held and len(held) == 4
