"""Fixtures for the daemon tests: stores, the shop database, and daemons that die with the test."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from store import Store
from tests.daemon._harness import DaemonProcess, drop_schema, pg_schema_url

POSTGRES_ENV = "SYNCD_TEST_POSTGRES_URL"


@pytest.fixture
def sqlite_store_url(tmp_path: Path, _sqlite_template: Path) -> str:
    path = tmp_path / "store.db"
    shutil.copy(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def pg_base() -> str:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL not configured ({POSTGRES_ENV})")
    return base


@pytest.fixture
def pg_admin(pg_base: str) -> Iterator[Engine]:
    engine = create_engine(pg_base.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


@pytest.fixture
def pg_store_url(pg_base: str, pg_admin: Engine) -> Iterator[str]:
    """A fresh schema per test, migrated, dropped at the end."""
    schema = f"syncd_daemon_{uuid.uuid4().hex[:10]}"
    with pg_admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_schema_url(pg_base, schema)
    try:
        Store.open(url).close()
        yield url
    finally:
        drop_schema(pg_admin, schema)


@pytest.fixture
def sqlite_shop(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = create_engine(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    """Makes daemon processes; any still alive at the end is killed, its files closed."""
    made: list[DaemonProcess] = []

    def make(config: Path, holder: str, **options: Any) -> DaemonProcess:
        daemon = DaemonProcess(config, holder, tmp_path, **options)
        made.append(daemon)
        return daemon

    yield make
    for daemon in made:
        daemon.close()
