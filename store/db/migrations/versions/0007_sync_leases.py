"""Sync leases with fencing tokens: one process runs a sync at a time.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_leases",
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200)),
        sa.Column("token", sa.BigInteger, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("acquired_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sync", name="pk_sync_leases"),
    )


def downgrade() -> None:
    op.drop_table("sync_leases")
