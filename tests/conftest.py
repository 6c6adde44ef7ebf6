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
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from store import ChangeSource, SourceType, Store, make_engine, upgrade
from store.db.tables import metadata
from tests._live import LiveServers

POSTGRES_ENV = "SYNCD_TEST_POSTGRES_URL"
REQUIRE_ENV = "SYNCD_TEST_REQUIRE_POSTGRES"

API = ChangeSource(SourceType.API, "test-token")

# A pytest-xdist worker starts with COLUMNS=80 and LINES=24 in its environment, which a run in
# one process does not have; the CLI would then draw its tables 80 columns wide instead of at
# its width for piped output, and tests reading them would see values wrapped. A worker runs
# the tests in the environment one process would give them. Its tmp_path is longer by
# "popen-gwN/", so typer's error panels (80 columns off a terminal) get as many more columns,
# or a path they quote wraps where it did not in one process.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)
    os.environ.setdefault("TERMINAL_WIDTH", str(80 + len("popen-gw0/")))


#: Modules whose tests take seconds to minutes each, longest first. They run before the rest
#: so that the last tests of a run on two workers are short ones: xdist's worksteal hands each
#: worker a contiguous half of the collection and an idle worker steals the tail of the other's
#: queue, so a long test near the end (schemathesis, a model state machine, a daemon killed
#: and restarted) kept one worker busy while the other had nothing left to take. Modules stay
#: whole (module-scoped fixtures) and keep their own order; every test still runs.
LONG_FIRST = (
    "tests/api/test_schemathesis.py",
    "tests/model/test_hubspot_model.py",
    "tests/model/test_carddav_model.py",
    "tests/model/test_sql_model.py",
    "tests/model/test_rest_model.py",
    "tests/model/test_memory_model.py",
    "tests/daemon/",
    "tests/model/",
    "tests/cli/test_demo.py",
    "tests/console/test_console_browser.py",
    "tests/console/test_console_demo.py",
    "tests/api/test_hubspot_node_sdk.py",
    "tests/api/test_concurrency.py",
    "tests/http/test_api_mount.py",
    "tests/connectors/carddav/test_engine_interleavings.py",
    "tests/integration/test_cli.py",
)


def _long_rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return next(
        (rank for rank, prefix in enumerate(LONG_FIRST) if path.startswith(prefix)),
        len(LONG_FIRST),
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long-running modules first (``LONG_FIRST``); a stable sort keeps every other order."""
    items.sort(key=_long_rank)


@pytest.fixture(autouse=True)
def _structlog_config_restored() -> Iterator[None]:
    """A CLI command run in-process configures logging for its process (``syncd demo`` to
    errors only); the next test gets the configuration the one before it had."""
    before = structlog.get_config()
    yield
    structlog.configure(**before)


@pytest.fixture(scope="session")
def live_servers() -> Iterator[LiveServers]:
    """Real uvicorn servers started once for the session and lent to tests (``tests/_live.py``)."""
    servers = LiveServers()
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@dataclass(frozen=True)
class _Postgres:
    """The session's PostgreSQL schema: its URL, an engine on it, and the per-test reset."""

    url: str
    engine: Engine
    reset_sql: str

    def reset(self) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self.reset_sql)


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[_Postgres | None]:
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
    with engine.begin() as conn:
        # The seeded catalogue, copied once so that each test's reset is one round trip.
        conn.execute(text(f'CREATE SCHEMA "{schema}_seed"'))
        for name in _CATALOG:
            conn.execute(text(f'CREATE TABLE "{schema}_seed"."{name}" AS TABLE "{name}"'))
    yield _Postgres(url, engine, _reset_script(f"{schema}_seed"))
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}_seed" CASCADE'))
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


# Tables that hold the built-in catalogue, in foreign-key order.
_CATALOG = ("object_types", "property_groups", "properties", "association_types")


def _reset_script(seed_schema: str) -> str:
    """Empty every table, then put back the catalogue as seeded: one round trip.

    DELETE rather than TRUNCATE: on tables this small it is several times faster.
    """
    tables = [t for t in reversed(metadata.sorted_tables) if t.name != "catalog_version"]
    serials = [t.name for t in tables if t.autoincrement_column is not None]
    return "; ".join(
        [
            *(f'DELETE FROM "{t.name}"' for t in tables),
            *(f"SELECT setval(pg_get_serial_sequence('{n}', 'id'), 1, false)" for n in serials),
            "INSERT INTO journal_head (id, last_seq) VALUES (1, 0)",
            # The catalogue is put back as seeded: a store kept across tests loads it again.
            "UPDATE catalog_version SET version = version + 1 WHERE id = 1",
            *(f'INSERT INTO "{n}" SELECT * FROM "{seed_schema}"."{n}"' for n in _CATALOG),
            *(
                f"SELECT setval(pg_get_serial_sequence('{n}', 'id'), (SELECT max(id) FROM {n}))"
                for n in _CATALOG
                if n in serials
            ),
        ]
    )


def _with_search_path(url: str, schema: str) -> str:
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def fresh_db_url(
    kind: str, directory: Path, sqlite_template: Path, postgres: _Postgres | None
) -> str:
    """A migrated, empty store's URL: a fresh SQLite file in ``directory``, or the session's
    PostgreSQL schema reset (skipped, or failed under ``REQUIRE_ENV``, when there is none).

    ``db_url`` calls it per test; a module-scoped fixture may call it once for its module.
    """
    if kind == "sqlite":
        path = directory / "store.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    if postgres is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {POSTGRES_ENV} is not set")
        pytest.skip(f"PostgreSQL not configured ({POSTGRES_ENV})")
    postgres.reset()
    return postgres.url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _sqlite_template: Path,
    _postgres_schema: _Postgres | None,
) -> str:
    """A migrated, empty store's URL: a fresh SQLite file, or a reset PostgreSQL schema."""
    return fresh_db_url(request.param, tmp_path, _sqlite_template, _postgres_schema)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url, migrate=False)
    yield opened
    opened.close()
