"""Parked inbound refusals that a CRM change can clear are retried on their own.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # When the next pass retries the record by itself (a duplicate or an already-linked
    # match: the CRM may have freed the value since); None when only an operator or a
    # change outside brings it back.
    with op.batch_alter_table("sync_inbound_errors") as batch:
        batch.add_column(sa.Column("retry_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_inbound_errors") as batch:
        batch.drop_column("retry_at")
