"""External records a sync could not apply, kept for an operator; the sync log by time.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_inbound_errors",
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(400), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("retry_requested", sa.Boolean, nullable=False),
        sa.Column("first_failed_at", UTCDateTime, nullable=False),
        sa.Column("last_failed_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sync", "external_id", name="pk_sync_inbound_errors"),
    )
    # `syncd status` counts a sync's log rows of the last hour and day; retention deletes by age.
    op.create_index("ix_sync_log_sync_at", "sync_log", ["sync", "at"])


def downgrade() -> None:
    op.drop_index("ix_sync_log_sync_at", "sync_log")
    op.drop_table("sync_inbound_errors")
