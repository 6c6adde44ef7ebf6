"""Fixtures shared by every test ring.

Every test that touches the store takes ``store`` (or ``db_url``) and so runs twice: on
SQLite and on PostgreSQL. PostgreSQL runs when ``SYNCD_TEST_POSTGRES_URL`` names a server;
without it those runs are skipped, unless ``SYNCD_TEST_REQUIRE_POSTGRES=1`` (set by
``.ci/run``) turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from store import ChangeSource, SourceType, Store
from store.engine import make_engine
from store.migrate import upgrade
from store.seed import seed_builtins
from store.tables import metadata

POSTGRES_ENV = "SYNCD_TEST_POSTGRES_URL"
REQUIRE_ENV = "SYNCD_TEST_REQUIRE_POSTGRES"

API = ChangeSource(SourceType.API, "test-token")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[str | None]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        yield None
        return
    schema = f"syncd_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the CI must fail loudly when PostgreSQL is gone
        pytest.fail(f"PostgreSQL at {base} is not usable: {exc}")
    url = _with_search_path(base, schema)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _with_search_path(url: str, schema: str) -> str:
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def _reset_postgres(engine: Engine) -> None:
    names = ", ".join(f'"{table.name}"' for table in reversed(metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO journal_head (id, last_seq) VALUES (1, 0)"))
        seed_builtins(conn)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _sqlite_template: Path,
    _postgres_schema: str | None,
) -> str:
    """A migrated, empty store's URL: a fresh SQLite file, or a reset PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copy(_sqlite_template, path)
        return f"sqlite:///{path}"
    if _postgres_schema is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {POSTGRES_ENV} is not set")
        pytest.skip(f"PostgreSQL not configured ({POSTGRES_ENV})")
    engine = make_engine(_postgres_schema)
    _reset_postgres(engine)
    engine.dispose()
    return _postgres_schema


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url, migrate=False)
    yield opened
    opened.close()
