"""Lease hand-over to a waiting CLI pass, daemon heartbeats, and each sync's reconcile due time.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Who waits for a held lease (a `syncd sync` beside the daemon) and since when: the holder
    # hands it over between passes, and nobody else may take it while the request is fresh.
    with op.batch_alter_table("sync_leases") as batch:
        batch.add_column(sa.Column("wanted_by", sa.String(200)))
        batch.add_column(sa.Column("wanted_at", UTCDateTime))
    # When delete reconciliation is next due: kept across daemon restarts.
    with op.batch_alter_table("sync_states") as batch:
        batch.add_column(sa.Column("reconcile_due_at", UTCDateTime))
    op.create_table(
        "daemon_heartbeats",
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
        sa.Column("stopped_at", UTCDateTime),
        sa.PrimaryKeyConstraint("holder", name="pk_daemon_heartbeats"),
    )
    op.create_index("ix_daemon_heartbeats_seen_at", "daemon_heartbeats", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_daemon_heartbeats_seen_at", "daemon_heartbeats")
    op.drop_table("daemon_heartbeats")
    with op.batch_alter_table("sync_states") as batch:
        batch.drop_column("reconcile_due_at")
    with op.batch_alter_table("sync_leases") as batch:
        batch.drop_column("wanted_at")
        batch.drop_column("wanted_by")
