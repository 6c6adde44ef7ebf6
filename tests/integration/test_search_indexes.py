"""Migration 0003's expression indexes: present, equal to what search emits, and used."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, func, select, text

from store import Store
from store.db import tables as t
from store.db.catalog import load_object
from store.search.filters import (
    INDEXED_PROPERTIES,
    FilterGroup,
    index_expression,
    parse_filter_expression,
    record_condition,
)
from tests.conftest import API

NOW = datetime(2025, 1, 1, tzinfo=UTC)
migration = importlib.import_module("store.db.migrations.versions.0003_search_indexes")


def test_migration_indexes_what_search_declares() -> None:
    assert migration.INDEXED == INDEXED_PROPERTIES
    for dialect in ("sqlite", "postgresql"):
        for name, kind in INDEXED_PROPERTIES.items():
            prop_type = "string" if kind == "string" else "enumeration"
            assert migration._expression(dialect, name, kind) == index_expression(
                dialect, prop_type, name
            )


def _explain(conn: Connection, query: object) -> str:
    compiled = query.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
    if conn.dialect.name == "sqlite":
        params = tuple(compiled.params[k] for k in compiled.positiontup)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params)
        return "\n".join(str(r[-1]) for r in rows)
    # With a handful of rows a sequential scan is cheaper; forbid it to see the index fits.
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
    return "\n".join(str(r[0]) for r in rows)


@pytest.mark.parametrize(
    ("object_name", "expression", "index"),
    [
        ("contacts", "email EQ Someone@Example.com", "ix_records_search_email"),
        ("contacts", "email IN a@example.com,b@example.com", "ix_records_search_email"),
        ("contacts", "lifecyclestage EQ lead", "ix_records_search_lifecyclestage"),
        ("companies", "domain EQ example.com", "ix_records_search_domain"),
        ("deals", "dealstage IN closedwon,closedlost", "ix_records_search_dealstage"),
    ],
    ids=["email-eq", "email-in", "lifecyclestage-eq", "domain-eq", "dealstage-in"],
)
def test_search_uses_the_expression_index(
    store: Store, object_name: str, expression: str, index: str
) -> None:
    # Enough rows, with the searched values rare, and fresh statistics: the planner's choice
    # then does not depend on what earlier tests left in the statistics.
    n = 300
    store.create_records(
        "contacts",
        [{"email": f"p{i}@example.com", "lifecyclestage": "customer"} for i in range(n)],
        API,
    )
    store.create_records(
        "companies", [{"name": f"c{i}", "domain": f"c{i}.example.com"} for i in range(n)], API
    )
    store.create_records(
        "deals", [{"dealname": f"d{i}", "dealstage": "appointmentscheduled"} for i in range(n)], API
    )
    if store.dialect == "postgresql":  # SQLite's store runs without statistics
        with store._engine.begin() as conn:
            conn.execute(text("ANALYZE records"))
    groups = [FilterGroup((parse_filter_expression(expression),))]
    with store._engine.connect() as conn, conn.begin():
        obj = load_object(conn, object_name)
        condition = record_condition(conn.dialect.name, obj, groups, now=NOW)
        # The count every search runs for its total: with ORDER BY id LIMIT, PostgreSQL may
        # fairly prefer walking the primary key, depending on statistics other tests left.
        total = select(func.count()).select_from(t.records).where(condition)
        plan = _explain(conn, total)
    assert index in plan, plan


def test_non_indexed_property_is_still_searchable(store: Store) -> None:
    store.create_record("contacts", {"email": "a@example.com", "city": "Oslo"}, API)
    groups = [FilterGroup((parse_filter_expression("city EQ OSLO"),))]
    assert store.count_records("contacts", groups) == 1


def test_postgresql_indexes_are_partial_with_statistics(store: Store) -> None:
    # Migration 0017: on PostgreSQL each index holds only records with the value, and a
    # statistics object keeps the planner's estimate for its expression (a partial index's
    # own is not used), so a look-up of many values still takes the index.
    with store._engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql: dict[str, str] = dict(
                conn.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master WHERE name LIKE 'ix_records_search_%'"
                    )
                ).all()
            )
            # SQLite keeps them whole: a sort by the property walks the index.
            assert sorted(sql) == sorted(f"ix_records_search_{n}" for n in INDEXED_PROPERTIES)
            assert not any("WHERE" in s for s in sql.values()), sql
            return
        defs: dict[str, str] = dict(
            conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = current_schema() AND indexname LIKE 'ix_records_search_%'"
                )
            ).all()
        )
        stats = set(
            conn.scalars(
                text(
                    "SELECT stxname FROM pg_statistic_ext "
                    "WHERE stxnamespace = current_schema()::regnamespace"
                )
            )
        )
    for name, kind in INDEXED_PROPERTIES.items():
        # PostgreSQL spells the expression back with casts: (properties ->> 'email'::text).
        indexed, predicate = defs[f"ix_records_search_{name}"].split(" WHERE ")
        assert predicate.endswith(" IS NOT NULL)"), predicate
        assert predicate.removesuffix(" IS NOT NULL)").removeprefix("(") in indexed
        assert f"'{name}'" in predicate
        assert predicate.startswith("(lower(") == (kind == "string")
        assert f"st_records_search_{name}" in stats
