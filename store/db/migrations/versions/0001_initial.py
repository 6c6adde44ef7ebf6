"""The record store: objects, properties, records, unique values, history, associations, journal.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.db.types import JSONType, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RecordId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "object_types",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("type_id", sa.String(20), nullable=False),
        sa.Column("singular_label", sa.String(200), nullable=False),
        sa.Column("plural_label", sa.String(200), nullable=False),
        sa.Column("primary_display_property", sa.String(100)),
        sa.Column("required_properties", JSONType, nullable=False),
        sa.Column("searchable_properties", JSONType, nullable=False),
        sa.Column("secondary_display_properties", JSONType, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("custom", sa.Boolean, nullable=False),
        sa.Column("activity", sa.Boolean, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_object_types"),
        sa.UniqueConstraint("name", name="uq_object_types_name"),
        sa.UniqueConstraint("type_id", name="uq_object_types_type_id"),
    )
    op.create_table(
        "property_groups",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("object_type_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("display_order", sa.Integer, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_property_groups"),
        sa.ForeignKeyConstraint(
            ["object_type_id"],
            ["object_types.id"],
            name="fk_property_groups_object_type_id_object_types",
        ),
        sa.UniqueConstraint("object_type_id", "name", name="uq_property_groups_object_name"),
    )
    op.create_table(
        "properties",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("object_type_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("field_type", sa.String(20), nullable=False),
        sa.Column("group_name", sa.String(100)),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("options", JSONType, nullable=False),
        sa.Column("unique_value", sa.Boolean, nullable=False),
        sa.Column("read_only", sa.Boolean, nullable=False),
        sa.Column("format", sa.String(20)),
        sa.Column("builtin", sa.Boolean, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.Column("display_order", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_properties"),
        sa.ForeignKeyConstraint(
            ["object_type_id"],
            ["object_types.id"],
            name="fk_properties_object_type_id_object_types",
        ),
        sa.UniqueConstraint("object_type_id", "name", name="uq_properties_object_name"),
    )
    op.create_table(
        "records",
        sa.Column("id", RecordId, autoincrement=True),
        sa.Column("object_type_id", sa.Integer, nullable=False),
        sa.Column("properties", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.Column("archived_at", UTCDateTime),
        sa.Column("merged_into_id", sa.BigInteger),
        sa.PrimaryKeyConstraint("id", name="pk_records"),
        sa.ForeignKeyConstraint(
            ["object_type_id"], ["object_types.id"], name="fk_records_object_type_id_object_types"
        ),
    )
    op.create_index(
        "ix_records_object_archived_id", "records", ["object_type_id", "archived", "id"]
    )
    op.create_table(
        "unique_values",
        sa.Column("object_type_id", sa.Integer, nullable=False),
        sa.Column("property_name", sa.String(100), nullable=False),
        sa.Column("value_key", sa.String(300), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "object_type_id", "property_name", "value_key", name="pk_unique_values"
        ),
        sa.ForeignKeyConstraint(
            ["object_type_id"],
            ["object_types.id"],
            name="fk_unique_values_object_type_id_object_types",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name="fk_unique_values_record_id_records"
        ),
    )
    op.create_index("ix_unique_values_record_id", "unique_values", ["record_id"])
    op.create_table(
        "property_history",
        sa.Column("id", RecordId, autoincrement=True),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("changed_at", UTCDateTime, nullable=False),
        sa.Column("source_type", sa.String(20), nullable=False),
        sa.Column("source_id", sa.String(200)),
        sa.Column("changes", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_property_history"),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name="fk_property_history_record_id_records"
        ),
    )
    op.create_index("ix_property_history_record_id", "property_history", ["record_id", "id"])
    op.create_table(
        "association_types",
        sa.Column("type_id", sa.Integer, autoincrement=False),
        sa.Column("from_object_type_id", sa.Integer, nullable=False),
        sa.Column("to_object_type_id", sa.Integer, nullable=False),
        sa.Column("label", sa.String(100)),
        sa.Column("name", sa.String(100)),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("inverse_type_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("type_id", name="pk_association_types"),
        sa.ForeignKeyConstraint(
            ["from_object_type_id"],
            ["object_types.id"],
            name="fk_association_types_from_object_type_id_object_types",
        ),
        sa.ForeignKeyConstraint(
            ["to_object_type_id"],
            ["object_types.id"],
            name="fk_association_types_to_object_type_id_object_types",
        ),
    )
    op.create_index(
        "ix_association_types_pair",
        "association_types",
        ["from_object_type_id", "to_object_type_id"],
    )
    op.create_table(
        "associations",
        sa.Column("from_record_id", sa.BigInteger, nullable=False),
        sa.Column("to_record_id", sa.BigInteger, nullable=False),
        sa.Column("type_id", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint(
            "from_record_id", "to_record_id", "type_id", name="pk_associations"
        ),
        sa.ForeignKeyConstraint(
            ["from_record_id"], ["records.id"], name="fk_associations_from_record_id_records"
        ),
        sa.ForeignKeyConstraint(
            ["to_record_id"], ["records.id"], name="fk_associations_to_record_id_records"
        ),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["association_types.type_id"],
            name="fk_associations_type_id_association_types",
        ),
    )
    op.create_index("ix_associations_to_record_id", "associations", ["to_record_id"])
    op.create_table(
        "journal",
        sa.Column("seq", sa.BigInteger, autoincrement=False),
        sa.Column("written_at", UTCDateTime, nullable=False),
        sa.Column("object_type", sa.String(100), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("op", sa.String(20), nullable=False),
        sa.Column("changes", JSONType),
        sa.Column("source_type", sa.String(20), nullable=False),
        sa.Column("source_id", sa.String(200)),
        sa.PrimaryKeyConstraint("seq", name="pk_journal"),
    )
    journal_head = op.create_table(
        "journal_head",
        sa.Column("id", sa.Integer, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journal_head"),
    )
    op.bulk_insert(journal_head, [{"id": 1, "last_seq": 0}])


def downgrade() -> None:
    for table in (
        "journal_head",
        "journal",
        "associations",
        "association_types",
        "property_history",
        "unique_values",
        "records",
        "properties",
        "property_groups",
        "object_types",
    ):
        op.drop_table(table)
