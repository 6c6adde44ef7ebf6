"""The webhook inbox: events received and verified, waiting for the worker to apply them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import JSONType, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RecordId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", RecordId, autoincrement=True),
        sa.Column("connector", sa.String(200), nullable=False),
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("external_object", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(400), nullable=False),
        sa.Column("delivery_id", sa.String(400)),
        sa.Column("event", JSONType, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("applied_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_inbox"),
        sa.UniqueConstraint(
            "connector", "delivery_id", "sync", "external_id", name="uq_webhook_inbox_delivery"
        ),
    )
    op.create_index("ix_webhook_inbox_sync_state", "webhook_inbox", ["sync", "state", "id"])


def downgrade() -> None:
    op.drop_table("webhook_inbox")
