"""CRM records a sync unlinked because their external record was deleted (rule ignore).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_unlinked",
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("crm_id", sa.BigInteger, nullable=False),
        sa.Column("external_id", sa.String(400), nullable=False),
        sa.Column("unlinked_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sync", "crm_id", name="pk_sync_unlinked"),
    )


def downgrade() -> None:
    op.drop_table("sync_unlinked")
