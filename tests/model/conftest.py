"""Fixtures of the model-based tests: a fresh store per Hypothesis example.

A state machine runs many examples inside one pytest test, so the function-scoped ``store``
fixture (one store per test) is not enough: ``store_factory`` hands out an empty, migrated
store each time it is called, on the test's database (SQLite or PostgreSQL, as ``db_url``).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog

from store import Store
from tests.conftest import _Postgres
from tests.connectors.carddav.conftest import radicale
from tests.connectors.conftest import _mariadb_url, sql_db

__all__ = ["_mariadb_url", "radicale", "sql_db", "store_factory"]


@pytest.fixture
def store_factory(
    db_url: str,
    tmp_path: Path,
    _sqlite_template: Path,
    _postgres_schema: _Postgres | None,
) -> Iterator[Callable[[], Store]]:
    """Call it for an empty store; the one it returned before must be closed already."""
    made: list[Store] = []

    def make() -> Store:
        if made:  # one example at a time: the last one's store is done with
            made[-1].close()
            if db_url.startswith("sqlite"):
                for old in tmp_path.glob(f"store-{len(made) - 1}.db*"):
                    old.unlink()
        if db_url.startswith("sqlite"):
            path = tmp_path / f"store-{len(made)}.db"
            shutil.copy(_sqlite_template, path)
            url = f"sqlite:///{path}"
        else:
            assert _postgres_schema is not None
            _postgres_schema.reset()
            url = db_url
        opened = Store.open(url, migrate=False)
        made.append(opened)
        return opened

    yield make
    for opened in made:
        opened.close()


@pytest.fixture(autouse=True)
def _engine_log_errors_only() -> Iterator[None]:
    """Thousands of passes: only the engine's errors are worth printing with a failure."""
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    yield
    structlog.configure(**before)
