"""Bring a database to this version's schema: Alembic migrations, then the built-in catalogue.

Several processes may start at once against one PostgreSQL; an advisory lock makes the
second wait for the first instead of running the same migration twice.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from store.db.engine import WRITE
from store.db.seed import seed_builtins

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["current_revision", "head_revision", "upgrade"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_UPGRADE_LOCK_KEY = 0x5_9_4E_C_D  # any constant shared by every syncd process
_VERSION_TABLE = "alembic_version"
_REVISION_LINE = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*["']?([^"'\s]+)""", re.M)


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest migration, read from the migration files' ``revision`` lines.

    Every process that opens a store asks for it; Alembic (with Mako and Pygments behind
    it) costs a daemon or CLI start about 0.3 s of CPU to import, and only ``upgrade``
    needs it. tests/integration/test_migrations.py checks that this agrees with Alembic's.
    """
    parents: dict[str, str | None] = {}
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            down = found.get("down_revision")
            parents[found["revision"]] = None if down in (None, "None") else down
    heads = set(parents) - {down for down in parents.values() if down is not None}
    assert len(heads) == 1, f"the store's migrations must have one head, not {sorted(heads)}"
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The revision the database was last migrated to (None: never migrated)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(_VERSION_TABLE):
            return None
        rows = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).all()
    if len(rows) > 1:
        raise RuntimeError(f"{_VERSION_TABLE} names several revisions: {[r[0] for r in rows]}")
    return str(rows[0][0]) if rows else None


def upgrade(engine: Engine) -> None:
    """Apply every pending migration and make sure the built-in objects exist."""
    from alembic import command

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
