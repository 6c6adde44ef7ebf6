"""The schema comes only from the migrations, and they match what the code queries."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from store import NotMigratedError, Store, current_revision, head_revision, upgrade
from store.db.tables import metadata
from tests.conftest import API

SEARCH_INDEX_PREFIX = "ix_records_search_"


def _not_a_search_index(obj: object, name: str | None, kind: str, *_: object) -> bool:
    # Search's expression indexes (migration 0003) differ by dialect, so they are not in
    # store.db.tables; test_search_indexes checks them, and that nothing else is left out.
    return not (kind == "index" and (name or "").startswith(SEARCH_INDEX_PREFIX))


def test_migrated_database_matches_the_table_definitions(db_url: str) -> None:
    store = Store.open(db_url, migrate=False)
    try:
        with store._engine.connect() as conn, warnings.catch_warnings():
            # SQLite cannot reflect expression indexes; it says so and skips them.
            warnings.filterwarnings(
                "ignore",
                "Skipped unsupported reflection of expression-based index ix_records_search_",
            )
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _not_a_search_index}
            )
            diff = compare_metadata(context, metadata)
        assert diff == []
    finally:
        store.close()


def test_upgrade_is_idempotent_and_keeps_data(db_url: str) -> None:
    store = Store.open(db_url, migrate=False)
    try:
        created = store.create_record("contacts", {"email": "kept@example.com"}, API)
        objects_before = [o.name for o in store.list_objects()]
        upgrade(store._engine)
        upgrade(store._engine)
        assert current_revision(store._engine) == head_revision()
        assert store.get_record("contacts", created.id).properties["email"] == "kept@example.com"
        assert [o.name for o in store.list_objects()] == objects_before
        with store._engine.connect() as conn:
            assert "journal" in inspect(conn).get_table_names()
    finally:
        store.close()


def test_fresh_sqlite_file_is_migrated_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with Store.open(url) as store:
        assert current_revision(store._engine) == head_revision()
        names = {o.name for o in store.list_objects()}
    assert {
        "contacts",
        "companies",
        "deals",
        "tickets",
        "notes",
        "calls",
        "emails",
        "meetings",
        "tasks",
    } <= names


def test_open_without_migrating_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    with pytest.raises(NotMigratedError, match="syncd db upgrade"):
        Store.open(f"sqlite:///{tmp_path / 'empty.db'}", migrate=False)


def test_the_head_and_current_revision_read_without_alembic_agree_with_alembic(
    db_url: str,
) -> None:
    """A store open reads both revisions itself (importing Alembic costs each process
    start about 0.3 s); they must be the ones Alembic would give."""
    from alembic.script import ScriptDirectory

    from store.db.migrate import _config

    assert head_revision() == ScriptDirectory.from_config(_config()).get_current_head()
    store = Store.open(db_url, migrate=False)
    try:
        with store._engine.connect() as conn:
            alembic_says = MigrationContext.configure(conn).get_current_revision()
        assert current_revision(store._engine) == alembic_says == head_revision()
    finally:
        store.close()


def test_a_database_never_migrated_has_no_revision(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()
