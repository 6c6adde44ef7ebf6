"""Expression indexes for the properties people search on most.

Each index is ``(object_type_id, <value expression>)`` where the value expression is exactly
what ``store.search.record_condition`` emits for EQ / IN on that property's type (strings
lower-cased, enumerations as stored), written out here so this migration never changes with
the code; ``tests/integration/test_search_indexes.py`` checks that the two agree and that the
planner uses them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# property name -> type of comparison ("string": case-insensitive, "exact": enumerations)
INDEXED = {
    "email": "string",
    "firstname": "string",
    "lastname": "string",
    "domain": "string",
    "name": "string",
    "lifecyclestage": "exact",
    "hs_lead_status": "exact",
    "dealstage": "exact",
    "pipeline": "exact",
    "hs_pipeline_stage": "exact",
}


def _expression(dialect: str, name: str, kind: str) -> str:
    if dialect == "postgresql":
        raw = f"(properties ->> '{name}')"
    else:
        raw = f"json_extract(properties, '$.{name}')"
    return f"lower({raw})" if kind == "string" else raw


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, kind in INDEXED.items():
        op.execute(
            f"CREATE INDEX ix_records_search_{name} "
            f"ON records (object_type_id, {_expression(dialect, name, kind)})"
        )


def downgrade() -> None:
    for name in INDEXED:
        op.execute(f"DROP INDEX ix_records_search_{name}")
