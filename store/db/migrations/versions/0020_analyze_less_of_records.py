"""PostgreSQL: ANALYZE of ``records`` no longer computes statistics no plan reads.

A large sync runs ``ANALYZE records`` as its tables grow (``refresh_planner_statistics``),
and autovacuum does between syncs. Two of its costs served no plan:

- ``records.properties`` as a whole: no query compares the whole document (searches and
  look-ups read single properties), yet ANALYZE sorted every sampled 1 KB document for a
  histogram;
- the expression columns of migration 0017's partial search indexes: PostgreSQL does not
  use a partial index's statistics for estimates (the statistics objects of 0017 give them),
  so they were computed twice.

At 30,000 records, ``ANALYZE records`` took 580 ms of server CPU after 0017 (320 ms with the
full indexes before it) and takes 340 ms with both off.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import importlib

from alembic import op
from sqlalchemy import text

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_PARTIAL = importlib.import_module("store.db.migrations.versions.0017_partial_search_indexes")


def _targets(value: int) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE records ALTER COLUMN properties SET STATISTICS {value}")
    if int(bind.execute(text("SHOW server_version_num")).scalar_one()) < 140000:
        return  # 0017 left the full indexes, whose statistics the planner does use
    for name in _PARTIAL.INDEXED:
        # Column 2 is the expression (column 1 is object_type_id).
        op.execute(f"ALTER INDEX ix_records_search_{name} ALTER COLUMN 2 SET STATISTICS {value}")


def upgrade() -> None:
    _targets(0)


def downgrade() -> None:
    _targets(-1)  # the server's default_statistics_target again
