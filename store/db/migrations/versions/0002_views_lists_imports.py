"""Saved views, static and dynamic lists with membership history, and imports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import JSONType, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RecordId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _object_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["object_type_id"], ["object_types.id"], name=f"fk_{table}_object_type_id_object_types"
    )


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("object_type_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("filter_groups", JSONType, nullable=False),
        sa.Column("sorts", JSONType, nullable=False),
        sa.Column("columns", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_saved_views"),
        _object_fk("saved_views"),
        sa.UniqueConstraint("object_type_id", "name", name="uq_saved_views_object_name"),
    )
    op.create_table(
        "lists",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("object_type_id", sa.Integer, nullable=False),
        sa.Column("processing_type", sa.String(20), nullable=False),
        sa.Column("filter_groups", JSONType),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lists"),
        _object_fk("lists"),
        sa.UniqueConstraint("name", name="uq_lists_name"),
    )
    op.create_table(
        "list_memberships",
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("list_id", "record_id", name="pk_list_memberships"),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name="fk_list_memberships_list_id_lists"
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name="fk_list_memberships_record_id_records"
        ),
    )
    op.create_index("ix_list_memberships_record_id", "list_memberships", ["record_id"])
    op.create_table(
        "list_membership_events",
        sa.Column("id", RecordId, autoincrement=True),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("change", sa.String(10), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_list_membership_events"),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name="fk_list_membership_events_list_id_lists"
        ),
    )
    op.create_index(
        "ix_list_membership_events_list_id", "list_membership_events", ["list_id", "id"]
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("object_type_id", sa.Integer, nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total_rows", sa.Integer, nullable=False),
        sa.Column("created", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("error_report", sa.String(1000)),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
        _object_fk("imports"),
    )


def downgrade() -> None:
    for table in ("imports", "list_membership_events", "list_memberships", "lists", "saved_views"):
        op.drop_table(table)
