"""The sql connector's planned pages: the pages keyset queries give, at a scan per plan.

A run that reads more than one page lists the keys of the settled rows ahead (older than
``lookback_seconds``) in one query and reads each page by id (``connectors.sql.changes``).
These tests hold it to the keyset query it replaces: on a table nobody writes, randomized,
the same pages; with writes between pages, the contract's promises (nothing lost, a changed
row read again with its new values, no row twice in a page); and the reason for it all, a
few scans of the table per run instead of one per page. SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import mysql

from connectors.base import ChangePage, Cursor, ExternalRecord
from connectors.errors import ConnectorError
from connectors.sql import SqlConnector, SqlObjectOptions, SqlOptions
from connectors.sql import changes as sql_changes
from tests.connectors.conftest import SqlDatabase

#: Long settled by any lookback; rows from here on are read from plans.
OLD = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)


def _table(
    db: SqlDatabase, *, text_ts: bool = False, keyed: bool = True, id_type: Any = Integer
) -> Table:
    """``text_ts``: an SQLite text column, stamped in any ISO spelling."""
    stamp: Any = (
        String(40)
        if text_ts
        else DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    )
    return db.create(
        Table(
            db.name("changes"),
            db.metadata,
            Column("id", id_type, primary_key=keyed, autoincrement=False),
            Column("name", String(40)),
            Column("updated_at", stamp, nullable=True),
        )
    )


def _stamp(db: SqlDatabase, table: Table, moment: datetime | None, spelling: int = 0) -> Any:
    if moment is None:
        return None
    if isinstance(table.c.updated_at.type, String):
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        return [
            naive.isoformat(" "),
            naive.isoformat() + "Z",
            moment.isoformat(),
            naive.strftime("%Y-%m-%d %H:%M:%S.%f"),
        ][spelling % 4]
    if db.backend == "postgresql":
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _connector(db: SqlDatabase, table: Table, lookback: float = 5) -> SqlConnector:
    return SqlConnector(
        "external",
        SqlOptions(
            url=db.url,
            objects={"things": SqlObjectOptions(table=table.name, lookback_seconds=lookback)},
        ),
    )


@pytest.fixture
def connectors() -> Iterator[list[SqlConnector]]:
    made: list[SqlConnector] = []
    yield made
    for connector in made:
        connector.close()


def _run(
    connector: SqlConnector,
    cursor: Cursor | None,
    *,
    limit: int,
    resume: bool = False,
    between: Any = None,
) -> list[ChangePage]:
    """One run's pages, as the engine reads them; ``between(n)`` runs after page n."""
    pages: list[ChangePage] = []
    for n in range(500):
        page = connector.fetch_changes("things", cursor, limit=limit, resume=resume and n == 0)
        pages.append(page)
        assert len(page.records) <= limit
        ids = [r.id for r in page.records]
        assert len(ids) == len(set(ids)), f"a row twice in one page: {ids}"
        cursor = page.cursor
        if not page.has_more or not page.records:
            return pages
        if between is not None:
            between(n)
    raise AssertionError("fetch_changes never reported the last page")


def _shape(pages: list[ChangePage]) -> list[tuple[Any, ...]]:
    return [
        (
            [(r.id, r.fields["name"], r.updated_at, r.deleted) for r in page.records],
            page.cursor,
            page.has_more,
        )
        for page in pages
    ]


def _keyset_only() -> Any:
    return patch.object(sql_changes, "PLAN_KEYS", 0)


# -- the same pages as the keyset query, randomized ---------------------------------------

#: Seconds from OLD (ties on purpose), or a recent (unsettled) or future stamp, or NULL.
_MOMENTS = st.one_of(
    st.integers(min_value=0, max_value=6).map(lambda s: OLD + timedelta(seconds=s)),
    st.integers(min_value=0, max_value=6).map(lambda s: OLD + timedelta(milliseconds=s)),
    st.sampled_from(["recent", "future", None]),
)


@pytest.fixture
def tables(sql_db: SqlDatabase) -> dict[bool, Table]:
    """One table per kind of timestamp column (text only on SQLite), emptied per example."""
    kinds = [False, True] if sql_db.backend == "sqlite" else [False]
    return {text_ts: _table(sql_db, text_ts=text_ts) for text_ts in kinds}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(
        st.tuples(_MOMENTS, st.integers(min_value=0, max_value=3)), min_size=0, max_size=30
    ),
    order=st.randoms(use_true_random=False),
    limit=st.integers(min_value=1, max_value=6),
    plan_keys=st.integers(min_value=1, max_value=9),
    text_ts=st.booleans(),
    resume_at=st.integers(min_value=0, max_value=20),
    lookback=st.sampled_from([0, 5]),
)
def test_planned_pages_are_the_pages_of_the_keyset_query(
    sql_db: SqlDatabase,
    tables: dict[bool, Table],
    rows: list[tuple[Any, int]],
    order: Any,
    limit: int,
    plan_keys: int,
    text_ts: bool,
    resume_at: int,
    lookback: float,
) -> None:
    table = tables.get(text_ts, tables[False])
    now = datetime.now(UTC)
    ids = list(range(1, len(rows) + 1))
    order.shuffle(ids)  # ids in no particular order of time
    values = []
    for row_id, (moment, spelling) in zip(ids, rows, strict=True):
        if moment == "recent":
            moment = now - timedelta(seconds=1)
        elif moment == "future":
            moment = now + timedelta(hours=1)
        stamp = _stamp(sql_db, table, moment, spelling)
        values.append({"id": row_id, "name": f"n{row_id}", "updated_at": stamp})
    with sql_db.engine.begin() as conn:
        conn.execute(delete(table))
        if values:
            conn.execute(insert(table), values)
    planned = _connector(sql_db, table, lookback=lookback)
    plain = _connector(sql_db, table, lookback=lookback)
    try:
        with patch.object(sql_changes, "PLAN_KEYS", plan_keys):
            got = _run(planned, None, limit=limit)
        with _keyset_only():
            want = _run(plain, None, limit=limit)
        assert _shape(got) == _shape(want)
        # A resumed run from one of those cursors (its lookback window read back).
        cursors = [p.cursor for p in want]
        cursor = cursors[resume_at % len(cursors)]
        with patch.object(sql_changes, "PLAN_KEYS", plan_keys):
            got = _run(planned, cursor, limit=limit, resume=True)
        with _keyset_only():
            want = _run(plain, cursor, limit=limit, resume=True)
        assert _shape(got) == _shape(want)
    finally:
        planned.close()
        plain.close()


#: Text ids JSON spells otherwise than SQL does (quotes, escapes, non-ASCII, digits, JSON words).
_TEXT_IDS = ["a-1", "\u00e9 2", 'quote"3', "back\\slash", "10", "9", "007", "[4]", "null", "true"]


@pytest.mark.parametrize(
    ("id_type", "ids"),
    [
        pytest.param(String(40), [f"{key}/{n}" for n in range(3) for key in _TEXT_IDS], id="text"),
        # Not integers or text: SQLite reads them by an IN list, not a JSON array; the
        # keyset query's cursor compares them as numbers (PostgreSQL refuses number > text).
        pytest.param(Float(), [k + 0.5 if k % 2 else -k - 0.25 for k in range(30)], id="float"),
    ],
)
def test_planned_pages_read_rows_by_ids_of_any_kind(
    sql_db: SqlDatabase, connectors: list[SqlConnector], id_type: Any, ids: list[Any]
) -> None:
    """A plan reads its pages by id (on SQLite, integers and text as one JSON array): ids
    that JSON spells differently from SQL, or that it does not carry as they are, give
    the rows the keyset query gives."""
    table = _table(sql_db, id_type=id_type)
    with sql_db.engine.begin() as conn:
        conn.execute(
            insert(table),
            [
                {
                    "id": key,
                    "name": f"n{k}",
                    # Apart by more than the lookback: settled rows, which a plan reads.
                    "updated_at": _stamp(sql_db, table, OLD + timedelta(seconds=10 * k)),
                }
                for k, key in enumerate(ids)
            ],
        )
    planned, plain = _connector(sql_db, table), _connector(sql_db, table)
    connectors.extend([planned, plain])
    with patch.object(sql_changes, "PLAN_KEYS", 12):
        got = _run(planned, None, limit=3)
    with _keyset_only():
        want = _run(plain, None, limit=3)

    assert _shape(got) == _shape(want)
    assert {r.fields["name"] for r in _latest(got).values()} == {f"n{k}" for k in range(len(ids))}


def test_a_planned_read_the_database_refuses_is_a_connector_error(
    sql_db: SqlDatabase, connectors: list[SqlConnector]
) -> None:
    """The table goes between two pages of a plan: the read by id (on SQLite on the
    driver's own cursor) fails as any statement of the connector does, with an error
    that names the database, never the driver's bare exception."""
    table = _table(sql_db)
    _fill(sql_db, table, 30)
    connector = _connector(sql_db, table)
    connectors.append(connector)
    with patch.object(sql_changes, "PLAN_KEYS", 12):
        first = connector.fetch_changes("things", None, limit=3, resume=False)
        planned = connector.fetch_changes("things", first.cursor, limit=3, resume=False)
        assert planned.has_more  # the plan is made: the next page is read by id
        table.drop(sql_db.engine)
        with pytest.raises(ConnectorError, match="database"):
            connector.fetch_changes("things", planned.cursor, limit=3, resume=False)


# -- writes between pages -------------------------------------------------------------------


def _fill(db: SqlDatabase, table: Table, count: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            insert(table),
            [
                {
                    "id": i,
                    "name": f"n{i}",
                    "updated_at": _stamp(db, table, OLD + timedelta(seconds=i // 3)),
                }
                for i in range(1, count + 1)
            ],
        )


def _latest(pages: list[ChangePage]) -> dict[str, ExternalRecord]:
    return {r.id: r for page in pages for r in page.records}


def _names(db: SqlDatabase, table: Table) -> dict[str, str]:
    with db.engine.connect() as conn:
        return {str(i): n for i, n in conn.execute(select(table.c.id, table.c.name))}


def test_rows_changed_deleted_and_added_between_planned_pages_are_read_as_the_contract_says(
    sql_db: SqlDatabase, connectors: list[SqlConnector]
) -> None:
    table = _table(sql_db)
    _fill(sql_db, table, 40)
    connector = _connector(sql_db, table)
    connectors.append(connector)
    now = datetime.now(UTC)

    def between(n: int) -> None:
        with sql_db.engine.begin() as conn:
            if n == 0:  # planned rows ahead: one stamped anew, one deleted
                conn.execute(
                    update(table)
                    .where(table.c.id == 30)
                    .values(name="changed", updated_at=_stamp(sql_db, table, now))
                )
                conn.execute(delete(table).where(table.c.id == 31))
            if n == 1:  # a planned row stamped back within the plan, still ahead of the cursor
                conn.execute(
                    update(table)
                    .where(table.c.id == 12)
                    .values(
                        name="moved back",
                        updated_at=_stamp(sql_db, table, OLD + timedelta(seconds=3.5)),
                    )
                )
            if n == 2:  # a late commit inside the lookback window, and a new row
                conn.execute(
                    insert(table),
                    [
                        {
                            "id": 41,
                            "name": "late",
                            "updated_at": _stamp(sql_db, table, now - timedelta(seconds=2)),
                        },
                        {"id": 42, "name": "new", "updated_at": _stamp(sql_db, table, now)},
                    ],
                )

    with patch.object(sql_changes, "PLAN_KEYS", 8):
        pages = _run(connector, None, limit=5, between=between)
        following = _run(connector, pages[-1].cursor, limit=5, resume=True)

    read = _latest([*pages, *following])
    assert {i: r.fields["name"] for i, r in read.items()} == _names(sql_db, table)
    assert "31" not in read
    ids = [r.id for page in pages for r in page.records]
    assert ids.count("30") == 1, "a row stamped anew is read once, where it moved to"
    assert {"12", "41", "42"} <= set(ids), "all read in the same run"


def test_without_a_lookback_rows_written_after_the_plan_are_read_by_the_next_run(
    sql_db: SqlDatabase, connectors: list[SqlConnector]
) -> None:
    """With ``lookback_seconds: 0`` a run's first page plans every row there is, and the
    run ends with its plan: a row stamped anew or added after it waits for the next run,
    which resumes at the last key read and so reads it; nothing is lost."""
    table = _table(sql_db)
    _fill(sql_db, table, 40)
    connector = _connector(sql_db, table, lookback=0)
    connectors.append(connector)
    now = datetime.now(UTC)

    def between(n: int) -> None:
        with sql_db.engine.begin() as conn:
            if n == 0:  # planned rows ahead: one stamped anew, one deleted, one added
                conn.execute(
                    update(table)
                    .where(table.c.id == 30)
                    .values(name="changed", updated_at=_stamp(sql_db, table, now))
                )
                conn.execute(delete(table).where(table.c.id == 31))
                conn.execute(
                    insert(table),
                    {"id": 41, "name": "new", "updated_at": _stamp(sql_db, table, now)},
                )

    with patch.object(sql_changes, "PLAN_KEYS", 100):
        pages = _run(connector, None, limit=5, between=between)
        following = _run(connector, pages[-1].cursor, limit=5, resume=True)

    ids = [r.id for page in pages for r in page.records]
    assert "30" not in ids and "41" not in ids, "after the plan: the next run's"
    read = _latest([*pages, *following])
    assert {i: r.fields["name"] for i, r in read.items()} == _names(sql_db, table)
    assert "31" not in read


def test_a_late_commit_inside_the_lookback_window_is_read_by_the_run_that_planned(
    sql_db: SqlDatabase, connectors: list[SqlConnector]
) -> None:
    """A plan lists settled rows only: a transaction stamped before the newest row it saw
    but inside ``lookback_seconds`` may still commit, and lands after the plan."""
    table = _table(sql_db)
    _fill(sql_db, table, 20)
    now = datetime.now(UTC)
    with sql_db.engine.begin() as conn:
        conn.execute(
            insert(table),
            {"id": 21, "name": "recent", "updated_at": _stamp(sql_db, table, now)},
        )
    connector = _connector(sql_db, table, lookback=30)
    connectors.append(connector)

    def between(n: int) -> None:
        if n == 1:  # the plan is made: commit a row stamped before the recent one
            with sql_db.engine.begin() as conn:
                late = _stamp(sql_db, table, now - timedelta(seconds=10))
                conn.execute(insert(table), {"id": 22, "name": "late", "updated_at": late})

    pages = _run(connector, None, limit=5, between=between)

    assert "22" in _latest(pages), "the late commit was left behind the plan"


def test_a_late_commit_inside_the_lookback_of_the_newest_stamp_is_read_whatever_our_clock(
    sql_db: SqlDatabase, connectors: list[SqlConnector]
) -> None:
    """Writers whose clock runs an hour behind ours: settled is reckoned from the newest
    stamp in the table too, so their late commit is not left behind a plan."""
    table = _table(sql_db)
    _fill(sql_db, table, 30)  # stamped OLD .. OLD + 9 s, two hours behind our clock
    connector = _connector(sql_db, table, lookback=5)
    connectors.append(connector)

    def between(n: int) -> None:
        if n == 1:  # the plan is made: a transaction of theirs commits, 2.5 s before their newest
            with sql_db.engine.begin() as conn:
                late = _stamp(sql_db, table, OLD + timedelta(seconds=7.5))
                conn.execute(insert(table), {"id": 31, "name": "late", "updated_at": late})

    pages = _run(connector, None, limit=5, between=between)

    assert "31" in _latest(pages), "the late commit was left behind the plan"


def test_a_table_without_a_unique_id_is_read_by_keyset(
    sql_db: SqlDatabase, connectors: list[SqlConnector]
) -> None:
    table = _table(sql_db, keyed=False)
    _fill(sql_db, table, 12)
    connector = _connector(sql_db, table)
    connectors.append(connector)

    pages = _run(connector, None, limit=5)

    assert sorted(int(i) for i in _latest(pages)) == list(range(1, 13))


@pytest.mark.parametrize("indexed", [False, True], ids=["no-index", "index"])
def test_a_run_scans_the_table_once_per_plan_not_once_per_page(
    sql_db: SqlDatabase, connectors: list[SqlConnector], indexed: bool
) -> None:
    """Where an index on the timestamp serves the keyset query (not SQLite's julianday()),
    every page is one range scan, and nothing is planned."""
    table = _table(sql_db)
    if indexed:
        Index(f"{table.name}_ts", table.c.updated_at, table.c.id).create(sql_db.engine)
    _fill(sql_db, table, 100)
    # No lookback: every row is settled (none within lookback_seconds of the newest).
    connector = _connector(sql_db, table, lookback=0)
    connectors.append(connector)
    ordered: list[str] = []
    newest: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "ORDER BY" in statement.upper():
            ordered.append(statement)
        if "MAX(" in statement.upper():
            newest.append(statement)

    assert connector.check_object("things") is None  # reflected before watching
    engine = connector._get_engine()
    event.listen(engine, "before_cursor_execute", watch)
    with patch.object(sql_changes, "PLAN_KEYS", 40):
        pages = _run(connector, None, limit=5)

    assert len(_latest(pages)) == 100
    assert len(pages) == 21
    if indexed and sql_db.backend != "sqlite":
        assert len(ordered) == 21, "a keyset query per page"
    else:
        # Without a lookback every row is settled: three plans (40, 40 and the last 20 keys),
        # from the first page on; the last held every row left, so no keyset page follows,
        # and the newest stamp is the last listed key's (not a scan of its own).
        assert len(ordered) == 3, ordered
        assert newest == []
