"""The SQL peer: a customers table in a real database (SQLite, PostgreSQL, MariaDB).

A plain table, as most shops have: no tombstones (a delete shows only by the id's absence,
so the sync finds it by reconciliation), a unique email and an ``updated_at`` the shop's
own writes bump.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.mysql import DATETIME as MYSQL_DATETIME
from sqlalchemy.dialects.mysql import VARCHAR as MYSQL_VARCHAR
from sqlalchemy.exc import IntegrityError

from tests.connectors.conftest import SqlDatabase
from tests.model.machine import Values, known_defects

# Case-sensitive on MariaDB as on the others; microseconds so two edits keep their order.
EMAIL_TYPE = String(200).with_variant(MYSQL_VARCHAR(200, collation="utf8mb4_bin"), "mysql")
TIMESTAMP_6 = DateTime(timezone=False).with_variant(MYSQL_DATETIME(fsp=6), "mysql")
COLUMNS = {"email": "email", "firstname": "first_name", "lastname": "last_name"}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class SqlPeer:
    """One table for the whole test; emptied for each example."""

    external_object = "customers"
    external_fields = COLUMNS

    def __init__(self, db: SqlDatabase, *, reuse_ids: bool | None = None) -> None:
        self.db = db
        if reuse_ids is None:
            # SQLite hands a new row the id of a deleted last row (INTEGER PRIMARY KEY);
            # while issue 13 #4 is open the model uses AUTOINCREMENT, which never does.
            reuse_ids = "4" not in known_defects()
        self.table = db.create(
            Table(
                db.name("model"),
                db.metadata,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("email", EMAIL_TYPE, unique=True),
                Column("first_name", String(100)),
                Column("last_name", String(100)),
                Column("updated_at", TIMESTAMP_6, nullable=False),
                Column("created_at", TIMESTAMP_6, nullable=True),
                sqlite_autoincrement=not reuse_ids,
            )
        )
        self.env = {"PEER_URL": db.url}
        self.connector_yaml = (
            'type: sql\nurl: "${PEER_URL}"\nobjects:\n'
            f"  customers: {{table: {self.table.name}, id: id, updated_at: updated_at,"
            " created_at: created_at, lookback_seconds: 1}\n"
        )

    def reset(self) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(delete(self.table))

    def _columns(self, values: Values) -> dict[str, Any]:
        return {COLUMNS[k]: v for k, v in values.items()} | {"updated_at": _now()}

    def create(self, values: Values) -> str | None:
        try:
            with self.db.engine.begin() as conn:
                made = self._columns(values)
                key = conn.execute(
                    insert(self.table).values(**made, created_at=made["updated_at"])
                ).inserted_primary_key
        except IntegrityError:
            return None
        assert key is not None
        return str(key[0])

    def edit(self, external_id: str, values: Values) -> bool:
        try:
            with self.db.engine.begin() as conn:
                conn.execute(
                    update(self.table)
                    .where(self.table.c.id == int(external_id))
                    .values(**self._columns(values))
                )
        except IntegrityError:
            return False
        return True

    def delete(self, external_id: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.id == int(external_id)))

    def _all(self) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            return [
                dict(r._mapping) for r in conn.execute(select(self.table).order_by(self.table.c.id))
            ]

    def rows(self) -> dict[str, Values]:
        return {
            str(r["id"]): {prop: r[column] for prop, column in COLUMNS.items()} for r in self._all()
        }

    def snapshot(self) -> object:
        return self._all()

    def version(self, external_id: str) -> str | None:
        return None  # the connector reports no version: edits show in the values only
