"""PostgreSQL: search's expression indexes (migration 0003) only over records with the value.

Each ``ix_records_search_<name>`` becomes partial, ``WHERE <value expression> IS NOT NULL``:
a record holds a few of the ten properties (a contact has no domain, deal stage or
pipeline), and every insert paid an index entry for each missing one. EQ and IN compare the
same expression, which implies it is not NULL, so the planner still uses the index for
them (``tests/integration/test_search_indexes.py``); ranges and sorts compare it under
``COLLATE "C"``, which this index never served. PostgreSQL keeps no statistics for the
expression of a partial index, and without them it guesses an IN of 500 values matches most
of the table and scans it all (the sync's match look-up): ``CREATE STATISTICS`` on each
expression keeps the estimate (and the plan) the full index had.

SQLite is left as it was: there a sort by one of these properties walks the full index, and
a partial one cannot serve it (records without the value sort too). PostgreSQL before 14
has no statistics on expressions, so it keeps the full indexes as well.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import importlib

from alembic import op
from sqlalchemy import text

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# 0003 is frozen: its property list and expressions are the ones the indexes were made with.
_SEARCH = importlib.import_module("store.db.migrations.versions.0003_search_indexes")
INDEXED: dict[str, str] = _SEARCH.INDEXED


def _applies() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    return int(bind.execute(text("SHOW server_version_num")).scalar_one()) >= 140000


def _rebuild(*, partial: bool) -> None:
    for name, kind in INDEXED.items():
        expression = _SEARCH._expression("postgresql", name, kind)
        where = f" WHERE {expression} IS NOT NULL" if partial else ""
        op.execute(f"DROP INDEX ix_records_search_{name}")
        op.execute(
            f"CREATE INDEX ix_records_search_{name} "
            f"ON records (object_type_id, {expression}){where}"
        )
        if partial:
            op.execute(f"CREATE STATISTICS st_records_search_{name} ON ({expression}) FROM records")
        else:
            op.execute(f"DROP STATISTICS st_records_search_{name}")


def upgrade() -> None:
    if _applies():
        _rebuild(partial=True)


def downgrade() -> None:
    if _applies():
        _rebuild(partial=False)
