"""The sync engine's state: links with their agreed base, cursors, runs, log and conflicts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import JSONType, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RecordId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sync_links",
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(400), nullable=False),
        sa.Column("crm_object", sa.String(100), nullable=False),
        sa.Column("crm_id", sa.BigInteger, nullable=False),
        sa.Column("base", JSONType, nullable=False),
        sa.Column("external_updated_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sync", "external_id", name="pk_sync_links"),
        sa.UniqueConstraint("sync", "crm_id", name="uq_sync_links_sync_crm_id"),
    )
    op.create_index("ix_sync_links_crm_id", "sync_links", ["crm_id"])
    op.create_table(
        "sync_states",
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("cursor", JSONType),
        sa.Column("journal_position", sa.BigInteger, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("paused_reason", sa.Text),
        sa.Column("last_run_at", UTCDateTime),
        sa.Column("fields", JSONType),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sync", name="pk_sync_states"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("summary", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )
    op.create_index("ix_sync_runs_sync_id", "sync_runs", ["sync", "id"])
    op.create_table(
        "sync_log",
        sa.Column("id", RecordId, autoincrement=True),
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("run_id", sa.Integer),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("crm_object", sa.String(100), nullable=False),
        sa.Column("crm_id", sa.BigInteger),
        sa.Column("external_id", sa.String(400)),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("changes", JSONType),
        sa.Column("message", sa.Text),
        sa.Column("level", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_log"),
    )
    op.create_index("ix_sync_log_sync_id", "sync_log", ["sync", "id"])
    op.create_index("ix_sync_log_crm", "sync_log", ["crm_object", "crm_id"])
    op.create_index("ix_sync_log_sync_external_id", "sync_log", ["sync", "external_id"])
    op.create_index("ix_sync_log_run_id", "sync_log", ["run_id", "id"])
    op.create_table(
        "sync_conflicts",
        sa.Column("id", RecordId, autoincrement=True),
        sa.Column("sync", sa.String(200), nullable=False),
        sa.Column("run_id", sa.Integer),
        sa.Column("crm_object", sa.String(100), nullable=False),
        sa.Column("crm_id", sa.BigInteger, nullable=False),
        sa.Column("external_id", sa.String(400), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("rule", sa.String(50), nullable=False),
        sa.Column("base", sa.Text),
        sa.Column("has_base", sa.Boolean, nullable=False),
        sa.Column("crm_value", sa.Text),
        sa.Column("external_value", sa.Text),
        sa.Column("winner", sa.String(20)),
        sa.Column("loser_value", sa.Text),
        sa.Column("loser_changed_at", UTCDateTime),
        sa.Column("open", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("resolution", sa.String(50)),
        sa.Column("resolved_value", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_sync_conflicts"),
    )
    op.create_index("ix_sync_conflicts_sync_open", "sync_conflicts", ["sync", "open", "id"])


def downgrade() -> None:
    for table in ("sync_conflicts", "sync_log", "sync_runs", "sync_states", "sync_links"):
        op.drop_table(table)
