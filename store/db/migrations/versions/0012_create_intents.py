"""Create intents: a create about to be sent outside, kept until its outcome is committed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import JSONType, UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_create_intents",
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("crm_id", sa.BigInteger, nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("request", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sync", "crm_id", name="pk_sync_create_intents"),
    )


def downgrade() -> None:
    op.drop_table("sync_create_intents")
