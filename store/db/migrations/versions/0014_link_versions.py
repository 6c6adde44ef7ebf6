"""The external version (a CardDAV ETag) each link last agreed on, kept across restarts.

A delete is made conditional on it (``If-Match``), and an external record whose version
moved since the last sync was edited there, even in fields no sync maps.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_links") as batch:
        batch.add_column(sa.Column("external_version", sa.String(400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_links") as batch:
        batch.drop_column("external_version")
