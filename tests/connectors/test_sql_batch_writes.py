"""The sql connector writes a batch in a handful of statements, on SQLite, PostgreSQL, MariaDB.

Statements are counted with a listener on the connector's own engine, so the count is what
the external database really ran. Each test also states what must survive the batching: one
refused row fails alone, ids are never swapped between records, a repeated match value
finds the row the first request made, and later requests for one row land after earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    event,
    select,
)

from connectors.base import WriteOutcome, WriteRequest, WriteResult
from connectors.sql import SqlConnector, SqlObjectOptions, SqlOptions
from tests.connectors.conftest import SqlDatabase
from tests.connectors.test_sql_connector import (
    T0,
    MakeConnector,
    _timestamp,
    add_rows,
    count,
    customers,
)

#: The issue's ceiling for one batch of 500 records.
TARGET = 10


@pytest.fixture
def connect(sql_db: SqlDatabase) -> Iterator[MakeConnector]:
    made: list[SqlConnector] = []

    def make(table: Table, **object_options: Any) -> SqlConnector:
        options = SqlOptions(
            url=sql_db.url,
            objects={"customers": SqlObjectOptions(table=table.name, **object_options)},
        )
        made.append(SqlConnector("external", options))
        return made[-1]

    yield make
    for connector in made:
        connector.close()


@contextmanager
def statements(connector: SqlConnector) -> Iterator[list[str]]:
    """Every statement the connector's engine runs inside the block, as SQL text."""
    seen: list[str] = []
    engine = connector._get_engine()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split())[:60])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def kinds(seen: list[str]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for text in seen:
        word = text.split()[0].upper()
        counted[word] = counted.get(word, 0) + 1
    return counted


def batch_of(db: SqlDatabase, **counts: int) -> dict[str, int]:
    """A batch's statements by kind: only SQLite's BEGIN IMMEDIATE is a statement of its own.

    No SAVEPOINT and no RELEASE: a batch that goes through runs straight in its transaction.
    """
    return {"BEGIN": 1, **counts} if db.backend == "sqlite" else counts


def creates(n: int, *, start: int = 0, match: bool = True) -> list[WriteRequest]:
    return [
        WriteRequest(
            f"k{i}",
            None,
            {"email": f"c{i}@x.test", "name": f"N{i}", "amount": str(i)},
            ("email", f"c{i}@x.test") if match else None,
        )
        for i in range(start, start + n)
    ]


def by_email(db: SqlDatabase, table: Table) -> dict[str, dict[str, Any]]:
    with db.engine.connect() as conn:
        return {r.email: dict(r._mapping) for r in conn.execute(select(table))}


def assert_faithful(requests: list[WriteRequest], results: list[WriteResult]) -> None:
    """Each result is its own request's row: no id was handed to another record."""
    assert len(results) == len(requests)
    for request, result in zip(requests, results, strict=True):
        assert result.ok, result.error
        assert result.record is not None and result.record.id == result.external_id
        for name, value in request.fields.items():
            if name != "amount":
                assert result.record.fields[name] == value


# -- how many statements -----------------------------------------------------------------------


def test_500_creates_take_a_handful_of_statements_whatever_the_batch_size(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    # A tenth already exists: a retry after a lost answer finishes them instead.
    add_rows(
        sql_db, table, [{"email": f"c{i}@x.test", "updated_at": T0} for i in range(0, 500, 10)]
    )
    connector = connect(table)
    connector.fetch_by_ids("customers", ["1"])  # reflect the table outside the count
    small = creates(50, start=1000)
    with statements(connector) as seen_small:
        connector.write("customers", small)
    requests = creates(500)

    with statements(connector) as seen:
        results = connector.write("customers", requests)

    assert_faithful(requests, results)
    assert all(r.outcome is WriteOutcome.CREATED for r in results)
    assert count(sql_db, table) == 550
    # The match values, the INSERT, the UPDATE of those found, the rows read back. SQLite
    # joins the match values with the rows that hold them (a WITH, one pass over the table).
    search = {"WITH": 1, "SELECT": 1} if sql_db.backend == "sqlite" else {"SELECT": 2}
    assert kinds(seen) == batch_of(sql_db, **search, INSERT=1, UPDATE=1), seen
    assert len(seen) <= 5 < TARGET, seen
    assert len(seen) == len(seen_small) + 1  # + the UPDATE of those found: no per-row cost
    if sql_db.backend == "sqlite":
        assert seen[0] == "BEGIN IMMEDIATE"  # a writer waits for the file, never deadlocks
    stored = by_email(sql_db, table)
    assert stored["c10@x.test"]["name"] == "N10"
    assert sum(1 for e in stored if e.startswith("c10@")) == 1  # found, not doubled


def test_500_updates_take_a_handful_of_statements(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": f"u{i}@x.test", "updated_at": T0} for i in range(500)])
    connector = connect(table)
    ids = list(connector.iter_ids("customers"))
    # Two shapes of update (name only, name and amount): one UPDATE statement each.
    requests = [
        WriteRequest(f"k{n}", i, {"name": f"R{n}", **({"amount": "2.50"} if n % 2 else {})})
        for n, i in enumerate(ids)
    ]

    with statements(connector) as seen:
        results = connector.write("customers", requests)

    assert [r.outcome for r in results] == [WriteOutcome.UPDATED] * 500
    assert [r.external_id for r in results] == ids
    assert all(
        r.record is not None and r.record.fields["name"] == f"R{n}" for n, r in enumerate(results)
    )
    assert results[1].record is not None and results[1].record.fields["amount"] == "2.50"
    assert kinds(seen) == batch_of(sql_db, UPDATE=2, SELECT=1), seen
    assert len(seen) <= 4 < TARGET, seen
    assert results[0].record is not None and results[0].record.updated_at is not None
    assert results[0].record.updated_at > T0


def test_500_deletes_take_one_statement(sql_db: SqlDatabase, connect: MakeConnector) -> None:
    table = customers(sql_db, soft_delete=True)
    add_rows(sql_db, table, [{"email": f"d{i}@x.test", "updated_at": T0} for i in range(500)])
    connector = connect(table, deleted="is_deleted")
    ids = list(connector.iter_ids("customers"))

    with statements(connector) as seen:
        results = connector.delete("customers", [*ids[:499], "999999", "not-an-id"])

    assert [r.outcome for r in results] == [WriteOutcome.DELETED] * 501
    assert kinds(seen) == batch_of(sql_db, UPDATE=1), seen
    assert list(connector.iter_ids("customers")) == [ids[499]]


# -- one refused row, and what must not change ----------------------------------------------


def test_a_refused_row_fails_alone_and_the_other_499_are_written(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "taken@x.test", "updated_at": T0}])
    connector = connect(table)
    requests = creates(500, match=False)
    requests[250] = WriteRequest("dup", None, {"email": "taken@x.test"})  # unique email
    requests[400] = WriteRequest("null", None, {"email": "n@x.test", "name": None})  # NOT NULL

    with statements(connector) as seen:
        results = connector.write("customers", requests)

    failed = [i for i, r in enumerate(results) if not r.ok]
    assert failed == [250, 400]
    assert results[250].error and results[400].error
    assert not results[250].retriable
    assert count(sql_db, table) == 1 + 498
    ok = [(q, r) for q, r in zip(requests, results, strict=True) if r.ok]
    assert_faithful([q for q, _ in ok], [r for _, r in ok])
    # The batch's transaction went back whole, and a fresh one went row by row.
    words = [text.split()[0].upper() for text in seen]
    assert words.index("INSERT") < words.index("SAVEPOINT"), seen  # the batch had none
    assert kinds(seen)["SAVEPOINT"] == 500, seen  # then one per request


def test_a_refused_batch_leaves_nothing_half_written_before_its_redo(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """The first INSERT goes through, the second is refused: the redo must not meet its rows.

    Had the first INSERT survived the rollback, the redo's creates would hit the unique email
    and fail, or their rows would be there twice.
    """
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "taken@x.test", "updated_at": T0}])
    connector = connect(table)
    (taken_id,) = connector.iter_ids("customers")
    requests = [
        WriteRequest("u", taken_id, {"name": "Updated"}),
        *creates(3, match=False),
        WriteRequest("dup", None, {"email": "taken@x.test"}),  # another set of columns
    ]

    with statements(connector) as seen:
        results = connector.write("customers", requests)

    assert [r.outcome for r in results] == [
        WriteOutcome.UPDATED,
        *[WriteOutcome.CREATED] * 3,
        WriteOutcome.FAILED,
    ]
    assert_faithful(requests[1:4], results[1:4])
    assert count(sql_db, table) == 1 + 3
    assert by_email(sql_db, table)["taken@x.test"]["name"] == "Updated"
    assert kinds(seen)["SAVEPOINT"] == 5  # the redo: one per request
    if sql_db.backend == "sqlite":
        assert seen.count("BEGIN IMMEDIATE") == 2  # the redo's fresh transaction waits too


def test_a_batch_that_cannot_be_settled_exactly_is_redone_in_request_order(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """An update and a create whose match finds the same row: row by row, in request order."""
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "same@x.test", "updated_at": T0}])
    connector = connect(table)
    (row_id,) = connector.iter_ids("customers")
    requests = [
        WriteRequest("a", row_id, {"name": "Update"}),
        WriteRequest(
            "b", None, {"email": "same@x.test", "name": "Create"}, ("email", "same@x.test")
        ),
        WriteRequest("c", None, {"email": "new@x.test"}, ("email", "new@x.test")),
    ]

    with statements(connector) as seen:
        results = connector.write("customers", requests)

    assert [r.outcome for r in results] == [
        WriteOutcome.UPDATED,
        WriteOutcome.CREATED,
        WriteOutcome.CREATED,
    ]
    assert results[0].external_id == results[1].external_id == row_id
    assert by_email(sql_db, table)["same@x.test"]["name"] == "Create"
    assert count(sql_db, table) == 2
    assert kinds(seen)["SAVEPOINT"] == 3


def test_a_refused_row_beside_a_repeated_match_value_loses_neither(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """The repeat waits for the batch; the batch's redo must write the repeat too, in order."""
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "taken@x.test", "updated_at": T0}])
    connector = connect(table)
    first = WriteRequest("k1", None, {"email": "r@x.test", "name": "One"}, ("email", "r@x.test"))
    again = WriteRequest("k1", None, {"email": "r@x.test", "name": "Two"}, ("email", "r@x.test"))
    refused = WriteRequest("dup", None, {"email": "taken@x.test", "name": "D"})

    results = connector.write("customers", [first, refused, again])

    assert [r.outcome for r in results] == [
        WriteOutcome.CREATED,
        WriteOutcome.FAILED,
        WriteOutcome.CREATED,
    ]
    assert results[0].external_id == results[2].external_id
    assert by_email(sql_db, table)["r@x.test"]["name"] == "Two"
    assert count(sql_db, table) == 2


def test_an_update_of_a_missing_id_fails_without_undoing_the_batch(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "a@x.test", "updated_at": T0}])
    connector = connect(table)
    (row_id,) = connector.iter_ids("customers")

    with statements(connector) as seen:
        results = connector.write(
            "customers",
            [
                WriteRequest("a", row_id, {"name": "A"}),
                WriteRequest("gone", "987654", {"name": "Nobody"}),
                WriteRequest("bad", "abc", {"name": "Nobody"}),
                WriteRequest("new", None, {"email": "b@x.test"}),
            ],
        )

    assert [r.outcome for r in results] == [
        WriteOutcome.UPDATED,
        WriteOutcome.FAILED,
        WriteOutcome.FAILED,
        WriteOutcome.CREATED,
    ]
    assert results[1].error == "no customers record with id '987654'"
    assert results[2].error == "no customers record with id 'abc'"
    assert kinds(seen) == batch_of(sql_db, UPDATE=1, INSERT=1, SELECT=1), seen  # one batch
    assert by_email(sql_db, table)["a@x.test"]["name"] == "A"


def test_a_repeated_match_value_finds_the_row_the_first_request_made(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = sql_db.create(
        Table(
            sql_db.name("people"),
            sql_db.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("email", String(200)),  # not unique: only the match keeps it single
            Column("name", String(200)),
            Column("updated_at", _timestamp(), nullable=False),
        )
    )
    connector = connect(table)
    first = WriteRequest("k1", None, {"email": "r@x.test", "name": "One"}, ("email", "r@x.test"))
    again = WriteRequest("k1", None, {"email": "r@x.test", "name": "Two"}, ("email", "r@x.test"))
    other = WriteRequest("k2", None, {"email": "o@x.test", "name": "O"}, ("email", "o@x.test"))

    results = connector.write("customers", [first, other, again])

    assert [r.outcome for r in results] == [WriteOutcome.CREATED] * 3
    assert results[0].external_id == results[2].external_id != results[1].external_id
    assert count(sql_db, table) == 2
    assert results[2].record is not None and results[2].record.fields["name"] == "Two"


def test_two_updates_of_one_row_land_in_request_order(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": "t@x.test", "updated_at": T0}])
    connector = connect(table)
    (row_id,) = connector.iter_ids("customers")

    results = connector.write(
        "customers",
        [
            WriteRequest("a", row_id, {"name": "First", "amount": "1"}),
            WriteRequest("b", row_id, {"name": "Second"}),
        ],
    )

    assert [r.outcome for r in results] == [WriteOutcome.UPDATED] * 2
    stored = by_email(sql_db, table)["t@x.test"]
    assert stored["name"] == "Second" and stored["amount"] == 1


def _rows_by_id(db: SqlDatabase, table: Table) -> dict[str, tuple[Any, Any]]:
    with db.engine.connect() as conn:
        return {str(r.id): (r.email, r.name) for r in conn.execute(select(table))}


def _people(
    db: SqlDatabase, connect: MakeConnector, table: Table, *emails: str
) -> tuple[SqlConnector, list[str]]:
    """A connector over ``table`` holding one row per email, and the rows' ids in order."""
    add_rows(db, table, [{"email": e, "updated_at": T0} for e in emails])
    connector = connect(table)
    return connector, list(connector.iter_ids("customers"))


def _assert_swap_refused(
    db: SqlDatabase, connect: MakeConnector, table: Table, bo_also: dict[str, Any] | None = None
) -> None:
    """Ann and Bo in ``table``, their emails swapped in one batch (Bo's update writing
    ``bo_also`` too): both are refused, with a reason each, and both rows stay whole."""
    connector, (ann, bo) = _people(db, connect, table, "ann@x.test", "bo@x.test")

    results = connector.write(
        "customers",
        [
            WriteRequest("ann", ann, {"email": "bo@x.test"}),
            WriteRequest("bo", bo, {"email": "ann@x.test", **(bo_also or {})}),
        ],
    )

    assert [r.outcome for r in results] == [WriteOutcome.FAILED] * 2
    assert all(r.error for r in results)
    assert _rows_by_id(db, table) == {ann: ("ann@x.test", ""), bo: ("bo@x.test", "")}


def test_updates_that_rotate_a_unique_value_land_in_one_batch(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """Ann takes Bo's email, Bo Cy's and Cy Ann's: any one of them alone is refused by the
    unique index, whatever the order, so the redo released the emails first."""
    table = customers(sql_db)
    emails = ("ann@x.test", "bo@x.test", "cy@x.test", "di@x.test")
    connector, (ann, bo, cy, di) = _people(sql_db, connect, table, *emails)
    requests = [
        WriteRequest("ann", ann, {"email": "bo@x.test", "name": "Ann"}),
        WriteRequest("di", di, {"name": "Di"}),
        WriteRequest("bo", bo, {"email": "cy@x.test"}),
        WriteRequest("cy", cy, {"email": "ann@x.test", "name": "Cy"}),
    ]

    results = connector.write("customers", requests)

    assert [r.outcome for r in results] == [WriteOutcome.UPDATED] * 4, results
    assert_faithful(requests, results)
    assert _rows_by_id(sql_db, table) == {
        ann: ("bo@x.test", "Ann"),
        bo: ("cy@x.test", ""),
        cy: ("ann@x.test", "Cy"),
        di: ("di@x.test", "Di"),
    }


def test_a_true_duplicate_beside_a_swap_fails_alone_and_keeps_its_value(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """Eve asks for an email a row outside the batch holds: she is refused, with her own
    email as it was (never left released), and the swap beside her still lands."""
    table = customers(sql_db)
    emails = ("ann@x.test", "bo@x.test", "eve@x.test", "zed@x.test")
    connector, (ann, bo, eve, zed) = _people(sql_db, connect, table, *emails)

    results = connector.write(
        "customers",
        [
            WriteRequest("eve", eve, {"email": "zed@x.test", "name": "Eve"}),
            WriteRequest("ann", ann, {"email": "bo@x.test"}),
            WriteRequest("bo", bo, {"email": "ann@x.test"}),
        ],
    )

    assert [r.outcome for r in results] == [
        WriteOutcome.FAILED,
        WriteOutcome.UPDATED,
        WriteOutcome.UPDATED,
    ]
    assert results[0].error and not results[0].retriable
    assert _rows_by_id(sql_db, table) == {
        ann: ("bo@x.test", ""),
        bo: ("ann@x.test", ""),
        eve: ("eve@x.test", ""),
        zed: ("zed@x.test", ""),
    }


def test_a_swap_whose_other_half_is_refused_leaves_both_rows_as_they_were(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """Bo's half of the swap is refused for a reason of its own (a NOT NULL name): Ann's
    half cannot land without it, and neither row is left with its email released."""
    table = customers(sql_db)
    _assert_swap_refused(sql_db, connect, table, {"name": None})


def test_a_swap_of_a_not_null_unique_value_is_refused_and_changes_nothing(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """A unique column that may not be NULL cannot be released: the swap is refused as
    before, both rows whole, for the sync to retry and an operator to see."""
    table = sql_db.create(
        Table(
            sql_db.name("strict"),
            sql_db.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("email", String(200), unique=True, nullable=False),
            Column("name", String(200), nullable=False, server_default=""),
            Column("updated_at", _timestamp(True), nullable=False),
        )
    )
    _assert_swap_refused(sql_db, connect, table)


def test_a_swap_under_a_unique_index_on_an_expression_lands(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """``UNIQUE (lower(email))`` names no column a reflection can read: the swap lands all
    the same, as every nullable field written goes through NULL."""
    if sql_db.backend == "mariadb":
        pytest.skip("MariaDB has no index on an expression")
    table = sql_db.create(
        Table(
            sql_db.name("folded"),
            sql_db.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("email", String(200)),
            Column("name", String(200), nullable=False, server_default=""),
            Column("updated_at", _timestamp(True), nullable=False),
        )
    )
    with sql_db.engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE UNIQUE INDEX {table.name}_email ON {table.name} (lower(email))"
        )
    connector, (ann, bo) = _people(sql_db, connect, table, "ann@x.test", "bo@x.test")

    results = connector.write(
        "customers",
        [
            WriteRequest("ann", ann, {"email": "BO@x.test"}),
            WriteRequest("bo", bo, {"email": "Ann@x.test"}),
        ],
    )

    assert [r.outcome for r in results] == [WriteOutcome.UPDATED] * 2, results
    assert _rows_by_id(sql_db, table) == {ann: ("BO@x.test", ""), bo: ("Ann@x.test", "")}


def test_a_swap_whose_null_step_a_check_refuses_is_refused_and_changes_nothing(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    table = sql_db.create(
        Table(
            sql_db.name("checked"),
            sql_db.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("email", String(200), unique=True),
            Column("name", String(200), nullable=False, server_default=""),
            Column("updated_at", _timestamp(True), nullable=False),
            CheckConstraint("email IS NOT NULL", name=f"{sql_db.name('checked')}_email"),
        )
    )
    _assert_swap_refused(sql_db, connect, table)


def test_creates_that_cannot_be_told_apart_still_get_their_own_ids(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    """No column tells these rows apart: they are inserted one by one, each id read back."""
    table = customers(sql_db)
    connector = connect(table)
    same = [WriteRequest(f"k{i}", None, {"name": "Same"}) for i in range(3)]
    mixed = [
        WriteRequest("m1", None, {"email": "m1@x.test"}),  # name left to the server default
        WriteRequest("m2", None, {"email": "M2@x.test ", "name": "Two"}),
        WriteRequest("m3", None, {"email": "m3@x.test", "active": True}),
    ]

    results = connector.write("customers", [*same, *mixed])

    assert len({r.external_id for r in results}) == 6
    assert all(r.outcome is WriteOutcome.CREATED for r in results)
    assert [r.record.fields["email"] if r.record else "?" for r in results[3:]] == [
        "m1@x.test",
        "M2@x.test ",
        "m3@x.test",
    ]
    assert results[3].record is not None and results[3].record.fields["name"] == ""
    assert count(sql_db, table) == 6


def test_given_ids_are_inserted_in_one_statement(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
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
    connector.fetch_by_ids("customers", ["x"])
    requests = [WriteRequest(f"k{i}", None, {"code": f"C-{i}", "label": "L"}) for i in range(200)]

    with statements(connector) as seen:
        results = connector.write("customers", requests)

    assert [r.external_id for r in results] == [f"C-{i}" for i in range(200)]
    assert kinds(seen)["INSERT"] == 1


def test_a_delete_the_database_refuses_fails_alone(
    sql_db: SqlDatabase, connect: MakeConnector
) -> None:
    if sql_db.backend == "sqlite":
        pytest.skip("SQLite enforces no foreign keys unless the application turns them on")
    table = customers(sql_db)
    add_rows(sql_db, table, [{"email": f"f{i}@x.test", "updated_at": T0} for i in range(3)])
    connector = connect(table)
    ids = list(connector.iter_ids("customers"))
    orders = sql_db.create(
        Table(
            sql_db.name("orders"),
            sql_db.metadata,
            Column("id", Integer, primary_key=True),
            Column("customer_id", Integer, ForeignKey(table.c.id)),
        )
    )
    with sql_db.engine.begin() as conn:
        conn.execute(orders.insert().values(id=1, customer_id=int(ids[1])))

    results = connector.delete("customers", ids)

    assert [r.outcome for r in results] == [
        WriteOutcome.DELETED,
        WriteOutcome.FAILED,
        WriteOutcome.DELETED,
    ]
    assert results[1].external_id == ids[1] and results[1].error
    assert list(connector.iter_ids("customers")) == [ids[1]]
