"""Indexes for the console: the log by action, the activity counts read from the index, and
a record's conflicts.

``ix_sync_log_sync_action`` (sync, action, id) pages a sync's log filtered by action
(``error``, ``conflict``) newest first without walking every row of the sync. The (sync, at)
index becomes (sync, at, direction, action): the counts of the last hour and day (``syncd
status``, the console's overview and its chart) are then read from the index alone instead
of one table lookup per row. ``ix_sync_conflicts_record`` (crm_object, crm_id) finds one
record's conflicts (``syncd trace``, the console's record page) without reading them all.
Measured by ``bench/console.py``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sync_log_sync_action", "sync_log", ["sync", "action", "id"])
    op.create_index("ix_sync_log_sync_at_kind", "sync_log", ["sync", "at", "direction", "action"])
    op.drop_index("ix_sync_log_sync_at", "sync_log")
    op.create_index("ix_sync_conflicts_record", "sync_conflicts", ["crm_object", "crm_id"])


def downgrade() -> None:
    op.drop_index("ix_sync_conflicts_record", "sync_conflicts")
    op.create_index("ix_sync_log_sync_at", "sync_log", ["sync", "at"])
    op.drop_index("ix_sync_log_sync_at_kind", "sync_log")
    op.drop_index("ix_sync_log_sync_action", "sync_log")
