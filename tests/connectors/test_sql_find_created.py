"""The SQL connector finds the row a create made when its outcome never got home.

``find_created`` is what the engine asks after a crash between the external write and its
own commit: by the ``create_key_field`` column the create filled with the engine's key,
else by the match value, else by the values the create wrote. Against SQLite, PostgreSQL
and MariaDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, DateTime, Integer, String, Table, select
from sqlalchemy.dialects import mysql

from connectors.base import WriteOutcome, WriteRequest
from connectors.sql import SqlConnector, SqlObjectOptions, SqlOptions
from tests.connectors.conftest import SqlDatabase


def people(db: SqlDatabase) -> Table:
    stamp = DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    return db.create(
        Table(
            db.name("people"),
            db.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("email", String(200)),
            Column("first_name", String(100)),
            Column("syncd_id", String(400)),
            Column("updated_at", stamp, nullable=False),
        )
    )


@pytest.fixture
def table(sql_db: SqlDatabase) -> Table:
    return people(sql_db)


@pytest.fixture
def make(sql_db: SqlDatabase, table: Table) -> Iterator[Any]:
    made: list[SqlConnector] = []

    def build(**options: Any) -> SqlConnector:
        connector = SqlConnector(
            "shop",
            SqlOptions(
                url=sql_db.url,
                objects={"people": SqlObjectOptions(table=table.name, **options)},
            ),
        )
        made.append(connector)
        return connector

    yield build
    for connector in made:
        connector.close()


def create(name: str, key: str) -> WriteRequest:
    return WriteRequest(key, None, {"first_name": name})


def test_a_create_writes_its_key_and_is_found_by_it(
    make: Any, sql_db: SqlDatabase, table: Table
) -> None:
    connector = make(create_key_field="syncd_id")
    (made,) = connector.write("people", [create("Ann", "s:1")])
    assert made.outcome is WriteOutcome.CREATED
    with sql_db.engine.connect() as conn:
        assert conn.execute(select(table.c.syncd_id)).scalars().all() == ["s:1"]

    found, absent = connector.find_created("people", [create("Ann", "s:1"), create("Ann", "s:2")])

    assert found.record is not None and found.record.id == made.external_id
    assert absent.record is None and absent.safe  # the same values, but not its key


def test_without_a_key_or_match_the_values_it_wrote_find_it(make: Any) -> None:
    connector = make()
    (made,) = connector.write("people", [create("Bo", "s:1")])

    found, absent = connector.find_created("people", [create("Bo", "s:1"), create("Cy", "s:2")])

    assert found.record is not None and found.record.id == made.external_id
    assert absent.record is None and absent.safe


def test_two_rows_with_the_values_it_wrote_cannot_be_told_apart(make: Any) -> None:
    connector = make()
    connector.write("people", [create("Di", "s:1")])
    connector.write("people", [create("Di", "s:2")])

    (check,) = connector.find_created("people", [create("Di", "s:1")])

    assert check.record is None and not check.safe
    assert check.reason is not None and "hold the values it wrote" in check.reason


def test_a_match_value_finds_the_row(make: Any) -> None:
    connector = make()
    (made,) = connector.write(
        "people", [WriteRequest("s:1", None, {"email": "e@x.io"}, ("email", "e@x.io"))]
    )
    request = WriteRequest("s:1", None, {"email": "e@x.io", "first_name": "Changed"})
    matched = WriteRequest(request.key, None, request.fields, ("email", "e@x.io"))

    (check,) = connector.find_created("people", [matched])

    assert check.record is not None and check.record.id == made.external_id


def test_a_key_column_the_table_lacks_is_named(make: Any) -> None:
    connector = make(create_key_field="nope")
    problem = connector.check_object("people")
    assert problem is not None and "'nope'" in problem
