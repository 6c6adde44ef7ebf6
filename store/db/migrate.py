"""Bring a database to this version's schema: Alembic migrations, then the built-in catalogue.

Several processes may start at once against one PostgreSQL; an advisory lock makes the
second wait for the first instead of running the same migration twice.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from store.db.engine import WRITE
from store.db.seed import seed_builtins

__all__ = ["current_revision", "head_revision", "upgrade"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_UPGRADE_LOCK_KEY = 0x5_9_4E_C_D  # any constant shared by every syncd process


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the store ships at least one migration"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Apply every pending migration and make sure the built-in objects exist."""
    with engine.connect().execution_options(**{WRITE: True}) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
            connection.commit()
        try:
            command.upgrade(_config(connection), "head")
            connection.commit()
            with connection.begin():
                seed_builtins(connection)
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _UPGRADE_LOCK_KEY}
                )
                connection.commit()
