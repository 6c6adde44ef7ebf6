"""The sync engine's queues: outbound records to (re)try, associations waiting for a link.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_outbox",
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("crm_id", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("parked", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sync", "crm_id", name="pk_sync_outbox"),
    )
    op.create_index("ix_sync_outbox_sync", "sync_outbox", ["sync", "next_attempt_at"])
    op.create_table(
        "sync_pending_associations",
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("crm_id", sa.BigInteger, nullable=False),
        sa.Column("field", sa.String(400), nullable=False),
        sa.Column("target_sync", sa.String(200), nullable=False),
        sa.Column("target_external_id", sa.String(400), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sync", "crm_id", "field", name="pk_sync_pending_associations"),
    )
    op.create_index(
        "ix_sync_pending_associations_target_sync",
        "sync_pending_associations",
        ["target_sync", "target_external_id"],
    )


def downgrade() -> None:
    op.drop_table("sync_pending_associations")
    op.drop_table("sync_outbox")
