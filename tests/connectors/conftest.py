"""Real databases for connector tests: SQLite always, PostgreSQL and MariaDB when reachable.

PostgreSQL is named by ``SYNCD_TEST_POSTGRES_URL`` (skipped without it); MariaDB by
``SYNCD_TEST_MARIADB_URL`` (default: root on 127.0.0.1:3306, database ``test``) and skipped
when unreachable. ``SYNCD_TEST_REQUIRE_POSTGRES=1`` (the CI) turns either skip into a failure,
so a server that went away cannot make the suite pass by testing less.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, Table, create_engine
from sqlalchemy.engine import make_url

POSTGRES_ENV = "SYNCD_TEST_POSTGRES_URL"
MARIADB_ENV = "SYNCD_TEST_MARIADB_URL"
REQUIRE_ENV = "SYNCD_TEST_REQUIRE_POSTGRES"
MARIADB_DEFAULT = "mysql+pymysql://root@127.0.0.1:3306/test"


@dataclass
class SqlDatabase:
    """One test's database: the URL a connector gets, and an engine to set tables up with.

    Tables made through :meth:`table` are dropped at the end of the test, so the server
    databases are shared between tests without leftovers.
    """

    backend: str
    url: str
    engine: Engine
    metadata: MetaData = field(default_factory=MetaData)

    def name(self, prefix: str = "t") -> str:
        return f"{prefix}_{uuid.uuid4().hex[:10]}"

    def create(self, table: Table) -> Table:
        table.create(self.engine)
        return table

    def drop_all(self) -> None:
        self.metadata.drop_all(self.engine)


def _driver_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername in ("mysql", "mariadb"):
        parsed = parsed.set(drivername="mysql+pymysql")
    return parsed.render_as_string(hide_password=False)


def _unavailable(message: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def _mariadb_url() -> str | None:
    """The MariaDB URL when a server answers there, else None (checked once per session)."""
    url = os.environ.get(MARIADB_ENV, MARIADB_DEFAULT)
    engine = create_engine(_driver_url(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except Exception:
        return None
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def sql_db(
    request: pytest.FixtureRequest, tmp_path: Path, _mariadb_url: str | None
) -> Iterator[SqlDatabase]:
    """A database to make external tables in, once per backend."""
    backend: str = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'external.db'}"
    elif backend == "postgresql":
        pg = os.environ.get(POSTGRES_ENV)
        if not pg:
            _unavailable(f"PostgreSQL not configured ({POSTGRES_ENV})")
            raise AssertionError("unreachable")
        url = pg
    else:
        if _mariadb_url is None:
            shown = os.environ.get(MARIADB_ENV, MARIADB_DEFAULT)
            _unavailable(f"MariaDB not reachable at {make_url(shown)!r}")
            raise AssertionError("unreachable")
        url = _mariadb_url
    engine = create_engine(_driver_url(url))
    db = SqlDatabase(backend, url, engine)
    try:
        yield db
    finally:
        db.drop_all()
        engine.dispose()
