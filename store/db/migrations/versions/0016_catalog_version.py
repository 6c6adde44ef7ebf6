"""The catalogue version: one row every change to object, property or group definitions bumps.

Every process (API workers, the daemon, the CLI) keeps the definitions it loaded across
transactions under the version it read; a transaction reads the version once (one primary
key lookup instead of three catalogue SELECTs) and loads the definitions again only when it
moved. Measured by ``bench/apply_rate.py`` (statements per batch) and ``bench/api_load.py``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "version": 1}])


def downgrade() -> None:
    op.drop_table("catalog_version")
