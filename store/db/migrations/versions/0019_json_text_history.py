"""PostgreSQL: ``property_history.changes`` is json, as the other write-mostly columns (0018).

Every record write adds a history row holding the properties it changed (all of them when a
sync creates the record), and ``json`` only validates the text where ``jsonb`` parses it into
its binary form. Its one query inside, which properties a row names (the ``most_recent``
rule), now reads each row's keys once with ``json_object_keys`` instead of asking
``jsonb_exists`` once per property (``store.sync.records.changed_at``).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _retype(to: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE property_history ALTER COLUMN changes TYPE {to} USING changes::{to}"
        )


def upgrade() -> None:
    _retype("json")


def downgrade() -> None:
    _retype("jsonb")
