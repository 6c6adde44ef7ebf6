"""Definitions kept across transactions under the catalogue version (``store.db.catalog``).

Two ``Store`` objects on one database stand for two processes (API workers, the daemon, the
CLI): a definition created, changed or archived through one is what the other's very next
transaction sees; and a write after the first reads the version, not the catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from store import (
    ChangeSource,
    GroupSpec,
    NotFoundError,
    ObjectSpec,
    OptionSpec,
    PropertySpec,
    Store,
    ValidationError,
)
from store.db.tx import Tx
from store.records import sql as record_sql
from store.schema import sql as schema_sql
from tests.conftest import API

_CATALOGUE_READ = re.compile(r"\bFROM\s+\"?(object_types|properties|property_groups)\b", re.I)


@pytest.fixture
def other(db_url: str) -> Iterator[Store]:
    """A second store on the same database: another process, as far as caching goes."""
    opened = Store.open(db_url, migrate=False)
    yield opened
    opened.close()


def _statements(store: Store, call: Callable[[], Any]) -> list[str]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store._engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(store._engine, "before_cursor_execute", count)
    return seen


def _tiers(*values: str) -> tuple[OptionSpec, ...]:
    return tuple(OptionSpec(v, v.title(), i) for i, v in enumerate(values))


def test_a_second_write_reads_the_version_not_the_catalogue(store: Store) -> None:
    store.create_record("contacts", {"email": "first@example.com"}, API)
    second = _statements(
        store, lambda: store.create_record("contacts", {"email": "second@example.com"}, API)
    )
    assert [s for s in second if _CATALOGUE_READ.search(s)] == []
    assert sum("catalog_version" in s for s in second) == 1
    read = _statements(store, lambda: store.get_object("contacts"))
    version_read = [s for s in read if s != "BEGIN"]
    assert len(version_read) == 1 and "catalog_version" in version_read[0]
    checked = [s for s in second if "catalog_version" in s]
    if store.dialect == "sqlite":
        # Holding the write lock throughout, the write checks the version in its journal
        # append instead of a SELECT of its own.
        assert checked[0].startswith("INSERT INTO journal")
        assert len(second) == len([s for s in second if "catalog_version" not in s]) + 1
    else:
        assert checked == version_read


def test_a_write_that_took_definitions_the_catalogue_has_moved_from_runs_again(
    store: Store, other: Store
) -> None:
    """A SQLite write takes cached definitions unchecked and checks the version at its end:
    if another process changed the catalogue meanwhile, it runs again with the new
    definitions (whether it failed on the old ones, journalled or wrote no journal)."""
    other.create_record("contacts", {"email": "warm@example.com"}, API)  # caches contacts
    store.create_property(
        "contacts", PropertySpec(name="level", label="Level", type="number", field_type="number")
    )
    runs: list[int] = []

    def create(tx: Tx) -> None:
        runs.append(1)
        made = record_sql.create_records(
            tx, tx.object("contacts"), [{"email": "x@example.com", "level": "3"}], API
        )
        if isinstance(made[0], Exception):
            raise made[0]  # no property "level" in the definitions it took

    other._write(API, create)
    assert other.find_record("contacts", "email", "x@example.com").properties["level"] == "3"
    deferred = store.dialect == "sqlite"
    assert len(runs) == (2 if deferred else 1)

    store.create_property("contacts", PropertySpec(name="rank", label="Rank"))
    seen: list[bool] = []
    other._write(API, lambda tx: seen.append("rank" in tx.object("contacts").properties))
    assert seen == ([False, True] if deferred else [True])

    # Its own change: the next write reads the new version, and runs once.
    other.create_property("contacts", PropertySpec(name="grade", label="Grade"))
    seen.clear()
    other._write(API, lambda tx: seen.append("grade" in tx.object("contacts").properties))
    assert seen == [True]


def test_a_property_created_changed_and_archived_through_one_store_is_seen_by_the_other(
    store: Store, other: Store
) -> None:
    other.create_record("contacts", {"email": "warm@example.com"}, API)  # caches contacts
    with pytest.raises(NotFoundError):
        other.get_property("contacts", "tier")

    store.create_property(
        "contacts",
        PropertySpec(
            name="tier", label="Tier", type="enumeration", field_type="select", options=_tiers("a")
        ),
    )
    made = other.create_record("contacts", {"email": "a@example.com", "tier": "a"}, API)
    assert made.properties["tier"] == "a"
    with pytest.raises(ValidationError):
        other.create_record("contacts", {"email": "b@example.com", "tier": "b"}, API)

    store.update_property("contacts", "tier", {"label": "Level", "options": _tiers("a", "b")})
    assert other.get_property("contacts", "tier").label == "Level"
    other.create_record("contacts", {"email": "b@example.com", "tier": "b"}, API)

    store.archive_property("contacts", "tier")
    with pytest.raises(NotFoundError, match="archived"):
        other.create_record("contacts", {"email": "c@example.com", "tier": "a"}, API)
    assert "tier" not in other.get_object("contacts").properties

    store.restore_property("contacts", "tier")
    assert other.get_property("contacts", "tier").label == "Level"


def test_objects_and_groups_changed_through_one_store_are_seen_by_the_other(
    store: Store, other: Store
) -> None:
    assert [o.name for o in other.list_objects()] == [o.name for o in store.list_objects()]
    store.create_object(
        ObjectSpec(
            name="cars",
            singular_label="Car",
            plural_label="Cars",
            primary_display_property="model",
            properties=(PropertySpec(name="model", label="Model"),),
        )
    )
    assert other.get_object("cars").singular_label == "Car"
    assert "cars" in [o.name for o in other.list_objects()]
    store.update_object("cars", {"singular_label": "Automobile"})
    assert other.get_object("cars").singular_label == "Automobile"

    store.create_group("contacts", GroupSpec("loyalty", "Loyalty", 9))
    assert other.get_group("contacts", "loyalty").label == "Loyalty"
    store.update_group("contacts", "loyalty", {"label": "Fidelity"})
    assert other.get_group("contacts", "loyalty").label == "Fidelity"
    store.archive_group("contacts", "loyalty")
    with pytest.raises(NotFoundError):
        other.get_group("contacts", "loyalty")

    store.archive_object("cars")
    with pytest.raises(NotFoundError):
        other.get_object("cars")


def test_a_transaction_sees_its_own_definition_changes_and_a_rollback_leaves_none(
    store: Store, other: Store
) -> None:
    store.get_object("contacts")  # cached before the change
    spec = PropertySpec(name="draft", label="Draft")

    def change_then_fail(tx: Tx) -> None:
        schema_sql.create_property(tx, "contacts", spec)
        assert "draft" in tx.object("contacts").properties  # its own change, uncommitted
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        store._write(ChangeSource.cli(), change_then_fail)
    for each in (store, other):
        with pytest.raises(NotFoundError):
            each.get_property("contacts", "draft")
    store.create_property("contacts", spec)
    assert other.get_property("contacts", "draft").label == "Draft"
