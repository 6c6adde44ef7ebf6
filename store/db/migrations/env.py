"""Alembic environment: runs migrations on the connection ``store.db.migrate`` hands over.

syncd never runs Alembic from an ini file; ``store.db.migrate.upgrade`` builds the config and
passes an open connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from store.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running alembic by hand
    raise RuntimeError("run migrations through `syncd db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
