"""The sql connector against real SQLite, PostgreSQL and MariaDB tables.

Each test states a behaviour the sync engine (and so a user) relies on: every changed row is
read exactly once per run, late commits are caught on resume, creates are not doubled by a
retry, one bad row fails alone, and nothing a user types reaches the database as SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pydantic
import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.dialects import mysql

from connectors.base import ChangePage, ConnectorError, ExternalRecord, WriteOutcome, WriteRequest
from connectors.registry import connector_class
from connectors.sql import SqlConnector, SqlObjectOptions, SqlOptions
from connectors.sql import reading as sql_reading
from tests.connectors.conftest import SqlDatabase

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)

MakeConnector = Callable[..., SqlConnector]


def _timestamp(timezone: bool = True) -> Any:
    return DateTime(timezone=timezone).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def customers(db: SqlDatabase, *, soft_delete: bool = False, timezone: bool = True) -> Table:
    extra = [Column("is_deleted", Boolean, nullable=True)] if soft_delete else []
    return db.create(
        Table(
            db.name("customers"),
            db.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("email", String(200), unique=True),
            Column("name", String(200), nullable=False, server_default=""),
            Column("amount", Numeric(10, 2)),
            Column("born", Date),
            Column("active", Boolean),
            Column("updated_at", _timestamp(timezone), nullable=False),
            *extra,
        )
    )


def add_rows(db: SqlDatabase, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows as another application would; naive columns get naive UTC values."""
    naive = not getattr(table.c.updated_at.type, "timezone", False) or db.backend != "postgresql"
    prepared = [
        {**r, "updated_at": r["updated_at"].astimezone(UTC).replace(tzinfo=None)}
        if naive and "updated_at" in r
        else r
        for r in rows
    ]
    with db.engine.begin() as conn:
        conn.execute(insert(table), prepared)


def count(db: SqlDatabase, table: Table) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def connect(sql_db: SqlDatabase) -> Iterator[MakeConnector]:
    made: list[SqlConnector] = []

    def make(table: Table, **object_options: Any) -> SqlConnector:
        options = SqlOptions(
            url=sql_db.url,
            objects={"customers": SqlObjectOptions(table=table.name, **object_options)},
        )
        connector = SqlConnector("external", options)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def read_run(
    connector: SqlConnector, cursor: dict[str, Any] | None, *, limit: int, resume: bool
) -> tuple[list[ExternalRecord], dict[str, Any] | None]:
    """Every page of one run, as the engine reads them; fails instead of looping forever."""
    records: list[ExternalRecord] = []
    for page_number in range(1000):
        page: ChangePage = connector.fetch_changes(
            "customers", cursor, limit=limit, resume=resume and page_number == 0
        )
        records.extend(page.records)
        cursor = page.cursor
        if not page.has_more:
            return records, cursor
    raise AssertionError("fetch_changes never reported the last page")


# -- reading changes ---------------------------------------------------------------------


def test_paging_through_rows_sharing_one_timestamp_returns_each_row_once(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": f"c{i}@x.test", "updated_at": T0} for i in range(25)])
    connector = connect(table)

    records, cursor = read_run(connector, None, limit=5, resume=False)

    ids = [r.id for r in records]
    assert len(ids) == 25 and len(set(ids)) == 25
    assert all(isinstance(i, str) for i in ids)
    # Integer ids compare as numbers across pages ("10" after "9"), so the order is by id.
    assert ids == sorted(ids, key=int)
    assert cursor == {"updated_at": T0.isoformat(), "id": ids[-1]}
    again = connector.fetch_changes("customers", cursor, limit=5, resume=False)
    assert again.records == [] and not again.has_more and again.cursor == cursor


def test_changes_come_oldest_first_with_aware_utc_timestamps(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(
        sql_db,
        table,
        [
            {"email": "late@x.test", "updated_at": T0 + timedelta(hours=1)},
            {"email": "early@x.test", "updated_at": T0},
        ],
    )
    page = connect(table).fetch_changes("customers", None, limit=10, resume=False)

    assert [r.fields["email"] for r in page.records] == ["early@x.test", "late@x.test"]
    assert [r.updated_at for r in page.records] == [T0, T0 + timedelta(hours=1)]
    assert all(r.updated_at is not None and r.updated_at.tzinfo is UTC for r in page.records)
    assert not page.has_more


@pytest.mark.parametrize("timezone", [True, False], ids=["aware-column", "naive-column"])
def test_resume_reads_back_the_lookback_window_to_catch_late_commits(
    sql_db: SqlDatabase, connect: MakeConnector, timezone: bool
) -> None:
    table = customers(sql_db, timezone=timezone)
    add_rows(
        sql_db,
        table,
        [{"email": f"c{i}@x.test", "updated_at": T0 + timedelta(seconds=i)} for i in range(3)],
    )
    connector = connect(table, lookback_seconds=5)
    _, stored = read_run(connector, None, limit=10, resume=False)
    # A transaction that started earlier commits now, with a timestamp before the cursor.
    add_rows(sql_db, table, [{"email": "late@x.test", "updated_at": T0 + timedelta(seconds=1)}])

    within_run = connector.fetch_changes("customers", stored, limit=10, resume=False)
    resumed, _ = read_run(connector, stored, limit=10, resume=True)

    assert within_run.records == []
    assert "late@x.test" in [r.fields["email"] for r in resumed]


def test_sqlite_text_timestamps_in_mixed_spellings_page_without_loss(
    tmp_path: Any,
) -> None:
    """An application may write one instant as ISO with T and Z, or with a space."""
    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'text.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT, changed TEXT)")
        conn.exec_driver_sql(
            "INSERT INTO notes VALUES ('a', 'x', '2024-03-01T12:00:00Z'), "
            "('b', 'y', '2024-03-01 12:00:00'), ('c', 'z', '2024-03-01 12:00:00.000000+00:00'), "
            "('d', 'w', '2024-03-01 11:59:59.5')"
        )
    engine.dispose()
    connector = SqlConnector(
        "notes",
        SqlOptions(
            url=url, objects={"customers": SqlObjectOptions(table="notes", updated_at="changed")}
        ),
    )
    try:
        records, _ = read_run(connector, None, limit=1, resume=False)
    finally:
        connector.close()
    assert [r.id for r in records] == ["d", "a", "b", "c"]
    assert {r.updated_at for r in records[1:]} == {datetime(2024, 3, 1, 12, tzinfo=UTC)}


def test_values_come_back_as_json_friendly_data(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(
        sql_db,
        table,
        [
            {
                "email": "v@x.test",
                "name": "Ada",
                "amount": Decimal("12.50"),
                "born": date(1815, 12, 10),
                "active": True,
                "updated_at": T0,
            }
        ],
    )
    (record,) = connect(table).fetch_changes("customers", None, limit=5, resume=False).records
    assert record.fields["amount"] == "12.50"
    assert record.fields["born"] == "1815-12-10"
    assert record.fields["active"] in (True, 1)
    assert record.fields["name"] == "Ada"
    assert isinstance(record.fields["updated_at"], str)


def test_columns_option_limits_the_fields(sql_db: SqlDatabase, connect: MakeConnector) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "c@x.test", "name": "C", "updated_at": T0}])
    (record,) = (
        connect(table, columns=["email"])
        .fetch_changes("customers", None, limit=5, resume=False)
        .records
    )
    assert dict(record.fields) == {"email": "c@x.test"}
    assert record.updated_at == T0


# -- reading by id and by value ------------------------------------------------------------


def test_fetch_by_ids_reads_existing_ids_in_chunks(
    sql_db: SqlDatabase, connect: MakeConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_reading, "ID_CHUNK", 3)
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": f"c{i}@x.test", "updated_at": T0} for i in range(8)])
    connector = connect(table)
    ids = [r.id for r in read_run(connector, None, limit=100, resume=False)[0]]

    wanted = [*reversed(ids[:7]), "999999", "not-a-number"]
    found = connector.fetch_by_ids("customers", wanted)

    assert [r.id for r in found] == list(reversed(ids[:7]))


def test_find_by_is_keyed_by_the_value_as_given(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(
        sql_db,
        table,
        [
            {"email": "a@x.test", "name": "Same", "updated_at": T0},
            {"email": "b@x.test", "name": "Same", "updated_at": T0},
            {"email": "c@x.test", "name": "Other", "updated_at": T0},
        ],
    )
    connector = connect(table)

    by_email = connector.find_by("customers", "email", ["a@x.test", "c@x.test", "nobody@x.test"])
    by_name = connector.find_by("customers", "name", ["Same", "Same", None])

    assert set(by_email) == {"a@x.test", "c@x.test"}
    assert by_email["c@x.test"].fields["email"] == "c@x.test"
    # Two rows share the value: the same one (lowest id) every time.
    assert by_name["Same"].fields["email"] == "a@x.test"


def test_find_by_an_unknown_field_names_it(sql_db: SqlDatabase, connect: MakeConnector) -> None:
    connector = connect(customers(sql_db))
    with pytest.raises(ConnectorError, match="'phone'"):
        connector.find_by("customers", "phone", ["1"])


def test_iter_ids_yields_every_live_id(
    sql_db: SqlDatabase, connect: MakeConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_reading, "ITER_CHUNK", 7)
    table = customers(sql_db, soft_delete=True)
    add_rows(
        sql_db,
        table,
        [{"email": f"c{i}@x.test", "updated_at": T0, "is_deleted": i == 3} for i in range(30)],
    )
    connector = connect(table, deleted="is_deleted")

    ids = list(connector.iter_ids("customers"))

    assert len(ids) == 29 and len(set(ids)) == 29
    with sql_db.engine.connect() as conn:
        gone = conn.execute(select(table.c.id).where(table.c.email == "c3@x.test")).scalar_one()
    assert str(gone) not in ids


# -- writing ---------------------------------------------------------------------------------


def test_create_returns_the_database_generated_id(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "first@x.test", "updated_at": T0}])
    connector = connect(table)
    before = datetime.now(UTC) - timedelta(seconds=1)

    (result,) = connector.write(
        "customers",
        [WriteRequest("k1", None, {"email": "new@x.test", "name": "New", "amount": "3.5"})],
    )

    assert result.outcome is WriteOutcome.CREATED, result.error
    with sql_db.engine.connect() as conn:
        row_id = conn.execute(select(table.c.id).where(table.c.email == "new@x.test")).scalar_one()
    assert result.external_id == str(row_id)
    assert result.record is not None
    assert result.record.id == str(row_id)
    assert result.record.fields["amount"] == "3.50"
    assert result.record.updated_at is not None and result.record.updated_at >= before


def test_create_with_a_match_that_exists_updates_instead_of_doubling(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "ada@x.test", "name": "Old", "updated_at": T0}])
    connector = connect(table)
    request = WriteRequest(
        "k1", None, {"email": "ada@x.test", "name": "Ada"}, match=("email", "ada@x.test")
    )

    (first,) = connector.write("customers", [request])
    (retry,) = connector.write("customers", [request])

    assert first.outcome is retry.outcome is WriteOutcome.CREATED
    assert first.external_id == retry.external_id
    assert count(sql_db, table) == 1
    assert first.record is not None and first.record.fields["name"] == "Ada"
    assert first.record.updated_at is not None and first.record.updated_at > T0


def test_created_at_is_read_filled_by_creates_and_kept_by_updates(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """``created_at`` tells a row that got a deleted row's id back from an edit of that row:
    the engine compares it with the link's last change, so it must be the row's own."""
    table = sql_db.create(
        Table(
            sql_db.name("born"),
            sql_db.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("email", String(200), unique=True),
            Column("updated_at", _timestamp(False), nullable=False),
            Column("created_at", _timestamp(False), nullable=True),
        )
    )
    made_outside = T0.replace(tzinfo=None)
    with sql_db.engine.begin() as conn:
        conn.execute(
            insert(table),
            [{"email": "old@x.test", "updated_at": made_outside, "created_at": made_outside}],
        )
    connector = connect(table, created_at="created_at")

    (old,) = connector.fetch_by_ids("customers", ["1"])
    assert old.created_at == T0
    assert "created_at" in old.fields  # still an ordinary column to map, if one wants
    before = datetime.now(UTC) - timedelta(seconds=1)
    made = WriteRequest("k1", None, {"email": "new@x.test"}, match=("email", "new@x.test"))
    (created,) = connector.write("customers", [made])
    assert created.record is not None and created.record.created_at is not None
    assert created.record.created_at >= before
    # A create finding its row already there (a retry after a lost answer) and an update
    # leave the creation time alone.
    (retried,) = connector.write("customers", [made])
    (edited,) = connector.write("customers", [WriteRequest("k2", "1", {"email": "o@x.test"})])
    assert retried.record is not None and edited.record is not None
    assert retried.record.created_at == created.record.created_at
    assert edited.record.created_at == T0
    assert edited.record.updated_at is not None and edited.record.updated_at > T0


def test_a_created_at_value_that_is_no_timestamp_names_the_column(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    if sql_db.backend != "sqlite":
        pytest.skip("only SQLite keeps any text in a timestamp column")
    table = sql_db.create(
        Table(
            sql_db.name("born_bad"),
            sql_db.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("updated_at", _timestamp(False), nullable=False),
            Column("made", String(40)),
        )
    )
    with sql_db.engine.begin() as conn:
        conn.execute(insert(table), [{"updated_at": T0.replace(tzinfo=None), "made": "soon"}])
    connector = connect(table, created_at="made")

    with pytest.raises(ConnectorError, match="made value 'soon' is not a timestamp"):
        connector.fetch_by_ids("customers", ["1"])


def test_a_created_at_column_that_is_missing_is_named(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    connector = connect(customers(sql_db), created_at="made_at")

    assert "no column 'made_at'" in (connector.check_object("customers") or "")


def test_update_writes_only_the_given_fields_and_bumps_updated_at(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "u@x.test", "name": "Before", "updated_at": T0}])
    connector = connect(table)
    (record,) = connector.fetch_changes("customers", None, limit=5, resume=False).records

    (result,) = connector.write(
        "customers", [WriteRequest("k", record.id, {"name": "After", "active": "true"})]
    )

    assert result.outcome is WriteOutcome.UPDATED, result.error
    assert result.record is not None
    assert result.record.fields["name"] == "After"
    assert result.record.fields["email"] == "u@x.test"
    assert result.record.fields["active"] in (True, 1)
    assert result.record.updated_at is not None and result.record.updated_at > T0
    changed = connector.fetch_changes(
        "customers", {"updated_at": T0.isoformat(), "id": record.id}, limit=5, resume=False
    )
    assert [r.id for r in changed.records] == [record.id]


def test_one_bad_request_in_a_batch_fails_alone(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "taken@x.test", "name": "T", "updated_at": T0}])
    connector = connect(table)
    (existing,) = connector.fetch_changes("customers", None, limit=5, resume=False).records

    results = connector.write(
        "customers",
        [
            WriteRequest("ok1", None, {"email": "one@x.test"}),
            WriteRequest("dup", None, {"email": "taken@x.test"}),
            WriteRequest("col", None, {"email": "two@x.test", "nickname": "x"}),
            WriteRequest("val", None, {"email": "three@x.test", "amount": "lots"}),
            WriteRequest("null", None, {"email": "four@x.test", "name": None}),
            WriteRequest("gone", "987654", {"name": "Nobody"}),
            WriteRequest("ok2", existing.id, {"name": "Renamed"}),
        ],
    )

    outcomes = [r.outcome for r in results]
    assert outcomes == [
        WriteOutcome.CREATED,
        WriteOutcome.FAILED,
        WriteOutcome.FAILED,
        WriteOutcome.FAILED,
        WriteOutcome.FAILED,
        WriteOutcome.FAILED,
        WriteOutcome.UPDATED,
    ]
    assert all(not r.retriable for r in results)
    assert results[2].error is not None and "'nickname'" in results[2].error
    assert results[3].error is not None and "'amount'" in results[3].error
    assert results[5].error is not None and "987654" in results[5].error
    with sql_db.engine.connect() as conn:
        rows = {e: n for e, n in conn.execute(select(table.c.email, table.c.name))}
    assert rows == {"taken@x.test": "Renamed", "one@x.test": ""}


def test_a_hostile_field_name_is_an_unknown_column_not_sql(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    connector = connect(table)
    hostile = f"name = 'x'; DROP TABLE {table.name}; --"

    results = connector.write(
        "customers",
        [
            WriteRequest("h", None, {hostile: "x", "email": "h@x.test"}),
            WriteRequest("v", None, {"email": "v@x.test", "name": "'); DROP TABLE x; --"}),
        ],
    )

    assert results[0].outcome is WriteOutcome.FAILED
    assert results[0].error is not None and "unknown column" in results[0].error
    assert hostile in results[0].error
    assert results[1].outcome is WriteOutcome.CREATED
    assert results[1].record is not None
    assert results[1].record.fields["name"] == "'); DROP TABLE x; --"
    with pytest.raises(ConnectorError, match="unknown column"):
        connector.find_by("customers", hostile, ["x"])
    assert inspect(sql_db.engine).has_table(table.name)
    assert count(sql_db, table) == 1


def test_delete_removes_rows_and_counts_missing_ids_as_deleted(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "d@x.test", "updated_at": T0}])
    connector = connect(table)
    (record,) = connector.fetch_changes("customers", None, limit=5, resume=False).records

    results = connector.delete("customers", [record.id, "424242", "not-an-id"])

    assert [r.outcome for r in results] == [WriteOutcome.DELETED] * 3
    assert [r.external_id for r in results] == [record.id, "424242", "not-an-id"]
    assert count(sql_db, table) == 0


def test_soft_deleted_rows_are_reported_as_tombstones(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db, soft_delete=True)
    add_rows(
        sql_db,
        table,
        [
            {"email": "live@x.test", "updated_at": T0, "is_deleted": False},
            {"email": "gone@x.test", "updated_at": T0, "is_deleted": True},
            {"email": "kept@x.test", "updated_at": T0, "is_deleted": None},
        ],
    )
    connector = connect(table, deleted="is_deleted")
    records, cursor = read_run(connector, None, limit=10, resume=False)
    flags = {r.fields["email"]: r.deleted for r in records}
    assert flags == {"live@x.test": False, "gone@x.test": True, "kept@x.test": False}
    live = next(r for r in records if r.fields["email"] == "live@x.test")

    (result,) = connector.delete("customers", [live.id])
    after, _ = read_run(connector, cursor, limit=10, resume=False)

    assert result.outcome is WriteOutcome.DELETED
    assert [(r.id, r.deleted) for r in after] == [(live.id, True)]
    assert count(sql_db, table) == 3
    assert "live@x.test" not in connector.find_by("customers", "email", ["live@x.test"])


# -- configuration problems and secrets ----------------------------------------------------------


def test_check_object_names_what_is_missing(sql_db: SqlDatabase) -> None:
    table = customers(sql_db)
    options = SqlOptions(
        url=sql_db.url,
        objects={
            "good": SqlObjectOptions(table=table.name),
            "no_table": SqlObjectOptions(table="no_such_table_here"),
            "no_column": SqlObjectOptions(table=table.name, columns=["email", "phone"]),
            "no_stamp": SqlObjectOptions(table=table.name, updated_at="modified"),
        },
    )
    connector = SqlConnector("external", options)
    try:
        assert connector.check_object("good") is None
        assert "no_such_table_here" in (connector.check_object("no_table") or "")
        assert "'phone'" in (connector.check_object("no_column") or "")
        assert "'modified'" in (connector.check_object("no_stamp") or "")
        unknown = connector.check_object("invoices") or ""
        assert "invoices" in unknown and "good" in unknown and "no_table" in unknown
        with pytest.raises(ConnectorError, match="invoices"):
            connector.fetch_changes("invoices", None, limit=5, resume=False)
        with pytest.raises(ConnectorError, match="'phone'"):
            connector.iter_ids("no_column").__next__()
    finally:
        connector.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://syncd:s3cret-Pa55@127.0.0.1:1/nothing",
        "mysql+pymysql://syncd:s3cret-Pa55@127.0.0.1:1/nothing",
    ],
)
def test_an_unreachable_database_is_retriable_and_never_shows_the_password(url: str) -> None:
    connector = SqlConnector(
        "external", SqlOptions(url=url, objects={"customers": SqlObjectOptions(table="c")})
    )
    try:
        with pytest.raises(ConnectorError) as caught:
            connector.fetch_changes("customers", None, limit=5, resume=False)
        with pytest.raises(ConnectorError) as checked:
            connector.check_object("customers")
    finally:
        connector.close()
    assert caught.value.retriable
    for error in (caught.value, checked.value):
        assert "s3cret-Pa55" not in str(error)
        assert "s3cret-Pa55" not in repr(error.data)
        assert "127.0.0.1" in str(error)


def test_invalid_options_never_echo_the_url() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        SqlOptions.model_validate(
            {"url": "postgresql://u:s3cret-Pa55@h/db", "objects": {"c": {"tabel": "c"}}}
        )
    assert "s3cret-Pa55" not in str(caught.value)
    with pytest.raises(pydantic.ValidationError):
        SqlOptions.model_validate({"url": "sqlite:///x.db", "objects": {}, "pool": 3})


def test_the_registry_finds_the_sql_connector() -> None:
    assert connector_class("sql") is SqlConnector


def test_the_engine_is_made_lazily(tmp_path: Any) -> None:
    """Building connectors from a config must not touch a database that may be down."""
    path = tmp_path / "never.db"
    connector = SqlConnector(
        "external",
        SqlOptions(url=f"sqlite:///{path}", objects={"customers": SqlObjectOptions(table="c")}),
    )
    connector.close()
    assert not path.exists()


def test_text_ids_are_taken_from_the_fields_on_create(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """A table whose ids are given (text), not generated: create takes the id from fields."""
    table = sql_db.create(
        Table(
            sql_db.name("codes"),
            sql_db.metadata,
            Column("code", String(50), primary_key=True),
            Column("label", String(100)),
            Column("updated_at", _timestamp(), nullable=False),
        )
    )
    connector = connect(table, id="code")
    (created,) = connector.write(
        "customers", [WriteRequest("k", None, {"code": "AB-1", "label": "x"})]
    )
    assert created.outcome is WriteOutcome.CREATED, created.error
    assert created.external_id == "AB-1"
    assert [r.id for r in connector.fetch_by_ids("customers", ["AB-1", "ZZ"])] == ["AB-1"]
    assert list(connector.iter_ids("customers")) == ["AB-1"]
