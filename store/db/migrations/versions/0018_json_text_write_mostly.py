"""PostgreSQL: the JSON columns written with every synced change and read back whole are json.

``journal.changes``, ``sync_log.changes`` and ``sync_links.base`` are written once per record
a sync or an API write touches, and only ever read back whole (no query looks inside them):
``json`` validates and keeps the text, ``jsonb`` parses it into its binary form, which took
twice the server time per insert. ``property_history.changes`` stays ``jsonb``: the engine
asks which properties a history row names (``jsonb_exists``). SQLite stores JSON as text
either way. The trade (key order and spacing as written) is in docs/engine.md.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

COLUMNS = (("journal", "changes"), ("sync_log", "changes"), ("sync_links", "base"))


def _retype(to: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {to} USING {column}::{to}")


def upgrade() -> None:
    _retype("json")


def downgrade() -> None:
    _retype("jsonb")
