"""Reading an ``sql`` object's changes: pages in ``(updated_at, id)`` order, one run of them
after another, each starting from the cursor the one before handed out.

A page is what the keyset query ``(updated_at, id) > cursor ORDER BY updated_at, id LIMIT n``
returns. Without an index on the timestamp (and on SQLite, whose comparisons go through
``julianday()``, never with one) that query reads the whole table to find each page: 200
pages of a 100,000-row table read 20 million rows. So a run that goes on past its first page
plans the pages ahead: one query lists the keys ``(timestamp, id)`` of up to
:data:`PLAN_KEYS` rows in page order, and each page then reads its rows by id.

A plan only lists *settled* rows, stamped more than ``lookback_seconds`` before both the
time it is made and the table's newest stamp (the writers' clocks may run behind ours). That
is the lookback's own assumption: no transaction still to commit holds a row stamped before
it. So no row can join the planned stretch later, and rows that leave it
(changed: stamped anew, deleted) are seen when their page is read; a row changed since the
plan is read where it moved to, as between two keyset pages; one moved back within the
planned stretch ends the page and the plan (the next page plans again from there). Beyond
the settled rows, pages are keyset queries as before; a run's first page is one (a run that
reads one page plans nothing), and so is every page where an index on the timestamp serves
the keyset query (PostgreSQL, MariaDB). The pages are those the keyset query would have
given at the time the plan was made, less the rows changed since; a test compares them.

The plan's one query lists the keys after its start whether settled or not: unless the list
is full, the newest stamp is its last key's (no ``max()`` scan). Without a lookback
(``lookback_seconds: 0``) every listed row is settled, so the run's first page plans too,
and a plan that listed every row there was (not full) is the whole run: it ends when the
plan is read, without a keyset query for rows written since (the next run, resumed at the
last key read, reads them, as it would rows written after the run). A 1,000-row change of a
100,000-row SQLite table is then one scan instead of four.

A plan is kept between the calls of one run, under the cursor its last page handed out,
and only used by a call with that cursor; a resumed run, or any other cursor, starts
afresh. Tables whose id column is not unique are always read by keyset.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    UniqueConstraint,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from connectors.base import ChangePage, Cursor, ExternalRecord
from connectors.sql.database import Database
from connectors.sql.values import ID_CHUNK, SqlObject, chunks

__all__ = ["PLAN_KEYS", "Changes"]

#: Keys per plan: one query lists this many rows ahead (about 5 MB of keys at most); below
#: 1, nothing is planned and every page is a keyset query (what tests compare plans with).
PLAN_KEYS = 50_000
#: Plans kept at once, for runs of several syncs over one object that take turns.
_KEPT = 4
#: Labels of the columns a page read by id adds: the id as planned, the timestamp as the
#: database compares it.
_ID, _TS = "_syncd_id", "_syncd_ts"


@dataclass
class _Plan:
    """Where a run is: the keys planned ahead, or the keyset pages after them.

    ``keys is None``: the last page was a full keyset page, plan from its cursor next.
    ``keys`` read to the end and not ``full``: the settled rows are read, keyset pages go on.
    """

    obj: SqlObject = field(repr=False)
    keys: list[tuple[Any, Any]] | None = field(default=None, repr=False)
    #: The next key to read.
    at: int = 0
    #: The plan stopped at its size, not at the last settled row: plan again after it.
    full: bool = False
    #: The newest timestamp the plan may hold (as the database compares it).
    settled: Any = None
    #: The plan holds every row after its start that the table had when it was made (none
    #: unsettled, not full): once it is read, so is the run.
    whole: bool = False


class Changes:
    """``fetch_changes`` for one :class:`Database`, with the plans of the runs under way."""

    def __init__(self, db: Database, *, now: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self._now = now or (lambda: datetime.now(UTC))
        self._plans: dict[tuple[str, str], _Plan] = {}
        self._statements: dict[str, tuple[SqlObject, _ByIds]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop every plan (the database is being closed)."""
        with self._lock:
            self._plans.clear()
            self._statements.clear()

    def page(
        self, obj: SqlObject, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        with self._lock:
            plan = self._plans.pop(_key(obj, cursor), None)
        if plan is not None and (resume or plan.obj is not obj):
            plan = None
        if plan is None and obj.options.lookback_seconds == 0 and self._plans_pay(obj):
            plan = _Plan(obj)  # every row is settled: the run's first page plans it all
        with self.db.connect(read_only=True) as conn:
            if plan is not None and plan.whole and _done(plan):
                records, more = [], False  # the plan read every row the run had to read
            elif plan is None or (plan.keys is not None and _done(plan)):
                records = self._keyset(conn, obj, cursor, resume=resume, limit=limit)
                if plan is None and len(records) == limit and self._plans_pay(obj):
                    plan = _Plan(obj)  # more than a page to read: plan the rest
                more = len(records) == limit
            else:
                records, more = self._planned(conn, obj, plan, cursor, limit, resume=resume)
        new_cursor = _cursor_after(records, cursor)
        if plan is not None and more:
            with self._lock:
                self._plans[_key(obj, new_cursor)] = plan
                while len(self._plans) > _KEPT:
                    del self._plans[next(iter(self._plans))]
        return ChangePage(records=records, cursor=new_cursor, has_more=more)

    def _planned(
        self,
        conn: Connection,
        obj: SqlObject,
        plan: _Plan,
        cursor: Cursor | None,
        limit: int,
        *,
        resume: bool = False,
    ) -> tuple[list[ExternalRecord], bool]:
        """A page from the plan (made first if need be), then keyset rows after it.

        Returns the records and whether more may follow; ``plan.keys`` set to None means
        the plan was dropped (a row moved within it).
        """
        records: list[ExternalRecord] = []
        seen: set[str] = set()
        if plan.keys is None:
            self._make_plan(conn, obj, plan, limit, cursor=cursor, resume=resume)
        assert plan.keys is not None
        while len(records) < limit:
            if plan.at < len(plan.keys):
                if self._read_planned(conn, obj, plan, limit - len(records), records, seen):
                    continue
                if records:  # a row moved back within the plan: plan again from here
                    plan.keys = None
                    return records, True
                # Nothing read yet: this page by keyset, and plan again after it.
                records = self._keyset(conn, obj, cursor, resume=resume, limit=limit)
                plan.keys = None
                return records, len(records) == limit
            if plan.full:
                last_ts, last_id = plan.keys[-1]
                self._make_plan(conn, obj, plan, limit, after=(last_ts, last_id))
                continue
            if plan.whole:  # nothing was left after the plan when it was made
                return records, False
            # The settled rows are read: the rest of the page by keyset, as every page after.
            after = _cursor_after(records, cursor)
            rest = self._keyset(
                conn, obj, after, resume=resume and not records, limit=limit - len(records)
            )
            for record in rest:
                if record.id in seen:  # changed since read above: the next page has it
                    return records, True
                records.append(record)
            return records, len(records) == limit
        return records, True

    def _read_planned(
        self,
        conn: Connection,
        obj: SqlObject,
        plan: _Plan,
        wanted: int,
        records: list[ExternalRecord],
        seen: set[str],
    ) -> bool:
        """Up to ``wanted`` planned rows onto ``records``; False, with ``plan.at`` at it, on a
        row stamped back within the plan or read already (changed since) in this page."""
        assert plan.keys is not None
        keys = plan.keys[plan.at : plan.at + wanted]
        rows: dict[Any, Any] = {}
        for chunk in chunks([key for _ts, key in keys], ID_CHUNK):
            for found in self._rows_by_ids(conn, obj, list(chunk)):
                rows[found[-2]] = found  # by the id as the plan holds it
        for ts, key in keys:
            row = rows.get(key)  # None: deleted since
            if row is not None and row[-1] != ts:
                now_ts = row[-1]
                if now_ts is not None and now_ts <= plan.settled:
                    return False  # stamped back into the planned stretch
                row = None  # stamped anew (or NULL): read where it moved to, if anywhere
            if row is not None:
                record = obj.read_row(row)
                if record.id in seen:
                    return False
                seen.add(record.id)
                records.append(record)
            plan.at += 1
        return True

    def _make_plan(
        self,
        conn: Connection,
        obj: SqlObject,
        plan: _Plan,
        limit: int,
        *,
        cursor: Cursor | None = None,
        after: tuple[Any, Any] | None = None,
        resume: bool = False,
    ) -> None:
        """The keys of the next settled rows after ``cursor`` (read back over the lookback
        window when ``resume``), or after the key ``after``.

        One query lists the keys after the start, settled or not; the newest stamp, which
        bounds the settled ones too, is then the last key's, unless the list is full (only
        then is it asked for, and not at all without a lookback: every listed key is at
        most the newest stamp)."""
        ts = self.db.ts_expr(obj)
        lookback = obj.options.lookback_seconds
        settled = self.db.ts_value(obj, self._now() - timedelta(seconds=lookback))
        behind: Any = timedelta(seconds=lookback)
        if isinstance(settled, ColumnElement):  # SQLite: julianday() of the text
            settled = conn.execute(select(settled)).scalar()
            behind = lookback / 86400  # julianday() counts days
        size = max(PLAN_KEYS, limit)
        stmt = select(ts, obj.id_col).where(ts.is_not(None))
        if after is not None:
            last_ts, last_id = after
            stmt = stmt.where(ts >= last_ts, or_(ts > last_ts, obj.id_col > last_id))
        elif cursor is not None and resume:
            moment, _id = self.db.parse_cursor(obj, cursor)
            stmt = stmt.where(ts >= self.db.ts_value(obj, moment - timedelta(seconds=lookback)))
        elif cursor is not None:
            stmt = stmt.where(*self._after_cursor(obj, cursor))
        stmt = stmt.order_by(ts, obj.id_col).limit(size)
        listed = [(t, i) for t, i in conn.execute(stmt).all()]
        full = len(listed) == size
        # Also before the newest stamp: the clocks of those who write the table may run
        # behind ours, and the lookback is reckoned in theirs.
        if not full:
            newest = listed[-1][0] if listed else None  # no row after the start: nothing
        elif lookback:
            newest = conn.execute(select(func.max(ts))).scalar()
        else:
            newest = listed[-1][0]  # newer rows are after every listed key anyway
        if newest is not None:
            settled = min(settled, newest - behind)
        keys = listed
        if listed and listed[-1][0] > settled:  # in stamp order: the unsettled ones last
            keys = [key for key in listed if key[0] <= settled]
        plan.keys, plan.at, plan.settled = keys, 0, settled
        plan.full = full and len(keys) == len(listed)
        plan.whole = not full and len(keys) == len(listed)

    def _keyset(
        self, conn: Connection, obj: SqlObject, cursor: Cursor | None, *, resume: bool, limit: int
    ) -> list[ExternalRecord]:
        """The page after ``cursor`` read by one keyset query (a resumed run's first page
        reads back its lookback window)."""
        ts = self.db.ts_expr(obj)
        stmt = select(*obj.selected).where(ts.is_not(None))
        if cursor is not None:
            if resume:
                after, _after_id = self.db.parse_cursor(obj, cursor)
                since = after - timedelta(seconds=obj.options.lookback_seconds)
                stmt = stmt.where(ts >= self.db.ts_value(obj, since))
            else:
                stmt = stmt.where(*self._after_cursor(obj, cursor))
        stmt = stmt.order_by(ts, obj.id_col).limit(limit)
        return list(map(obj.read_row, conn.execute(stmt).all()))

    def _after_cursor(self, obj: SqlObject, cursor: Cursor) -> list[ColumnElement[bool]]:
        ts = self.db.ts_expr(obj)
        after, after_id = self.db.parse_cursor(obj, cursor)
        bound = self.db.ts_value(obj, after)
        # The leading ">=" lets an index on (updated_at, id) bound the scan.
        return [ts >= bound, or_(ts > bound, obj.id_col > after_id)]

    def _plans_pay(self, obj: SqlObject) -> bool:
        """Whether to plan: the id column alone is unique (rows are read back by id, one per
        key), and no index serves the keyset query (on SQLite none can: ``julianday()``)."""
        if PLAN_KEYS < 1 or not _unique_id(obj):
            return False
        if self.db.is_sqlite():
            return True
        return not any(list(index.columns)[:1] == [obj.ts_col] for index in obj.table.indexes)

    def _rows_by_ids(self, conn: Connection, obj: SqlObject, ids: list[Any]) -> Sequence[Any]:
        """The rows of these ids, each with its id and timestamp as compared last.

        PostgreSQL takes the ids as one array (``= ANY``), half the time of an ``IN`` list
        of 500 parameters. SQLite takes them as one JSON array (``json_each``) when they
        are integers or text, as ids almost always are, on the driver's cursor: an ``IN``
        list was rendered anew for every page, and a result row made for every row
        converted every column where only timestamps need it (a fifth of the read).
        """
        statements = self._by_ids(conn, obj)
        if statements.driver is not None and all(type(i) in _JSON_IDS for i in ids):
            return statements.driver.rows(conn, (json.dumps(ids),))
        if statements.by_array is not None:
            return conn.execute(statements.by_array, {"ids": ids}).all()
        return conn.execute(statements.by_list, {"ids": ids}).all()  # ids as stored

    def _by_ids(self, conn: Connection, obj: SqlObject) -> _ByIds:
        """The statements of ``_rows_by_ids``, built once per object."""
        cached = self._statements.get(obj.name)
        if cached is not None and cached[0] is obj:
            return cached[1]
        ts = self.db.ts_expr(obj)
        columns = (*obj.selected, obj.id_col.label(_ID), ts.label(_TS))
        by_list = select(*columns).where(obj.id_col.in_(bindparam("ids", expanding=True)))
        made = _ByIds(by_list)
        if conn.dialect.name == "postgresql":
            ids = bindparam("ids", type_=postgresql.ARRAY(obj.id_col.type))
            made = _ByIds(by_list, by_array=select(*columns).where(obj.id_col == any_(ids)))
        elif conn.dialect.name == "sqlite":
            listed: Select[Any] = select(literal_column("value")).select_from(
                func.json_each(bindparam("ids", type_=String()))
            )
            by_json = select(*columns).where(obj.id_col.in_(listed.scalar_subquery()))
            made = _ByIds(by_list, driver=_DriverQuery.of(by_json, conn))
        with self._lock:
            self._statements[obj.name] = (obj, made)
        return made


#: Ids a JSON array carries as they are (``bool`` is not one: ``type`` is compared).
_JSON_IDS = frozenset({int, str})


@dataclass(frozen=True)
class _DriverQuery:
    """A SELECT run on the driver's own cursor, each row a tuple as the driver gives it,
    with only the columns whose type converts what the driver gives (SQLite's text
    timestamps) converted, as a result row would have them."""

    sql: str
    converts: tuple[tuple[int, Callable[[Any], Any]], ...]

    @classmethod
    def of(cls, stmt: Select[Any], conn: Connection) -> _DriverQuery | None:
        """The query of ``stmt``, whose one parameter is ``ids``; None if it has others."""
        dialect = conn.dialect
        compiled = stmt.compile(dialect=dialect)
        if list(compiled.positiontup or ()) != ["ids"]:
            return None
        converts = []
        for at, column in enumerate(stmt.selected_columns):
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if convert is not None:
                converts.append((at, convert))
        return cls(str(compiled), tuple(converts))

    def rows(self, conn: Connection, params: tuple[Any, ...]) -> list[Sequence[Any]]:
        """The rows; the driver's error as SQLAlchemy's, as a statement through it raises
        it (the connector names a failure of the database from that)."""
        failure = conn.dialect.loaded_dbapi.Error
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self.sql, params)
            found: list[Sequence[Any]] = list(cursor.fetchall())
        except failure as exc:
            raise DBAPIError.instance(self.sql, params, exc, failure) from exc
        finally:
            cursor.close()
        if not self.converts:
            return found
        converted: list[Sequence[Any]] = []
        for row in found:
            values = list(row)
            for at, convert in self.converts:
                values[at] = convert(values[at])
            converted.append(values)
        return converted


@dataclass(frozen=True)
class _ByIds:
    """How a page's planned rows are read by id on one database."""

    by_list: Select[Any]
    by_array: Select[Any] | None = None
    driver: _DriverQuery | None = None


def _key(obj: SqlObject, cursor: Cursor | None) -> tuple[str, str]:
    return obj.name, json.dumps(cursor, sort_keys=True)


def _done(plan: _Plan) -> bool:
    """The plan is read to its end and no more settled rows follow: keyset pages now."""
    return plan.keys is not None and plan.at >= len(plan.keys) and not plan.full


def _cursor_after(records: Sequence[ExternalRecord], cursor: Cursor | None) -> Cursor | None:
    if not records:
        return cursor
    last = records[-1]
    assert last.updated_at is not None  # NULL timestamps are never read as changes
    return {"updated_at": last.updated_at.isoformat(), "id": last.id}


def _unique_id(obj: SqlObject) -> bool:
    """Whether the id column alone is unique (primary key, unique index or constraint): rows
    are then read back by id, one row per planned key."""
    table = obj.table
    if list(table.primary_key.columns) == [obj.id_col]:
        return True
    if any(index.unique and list(index.columns) == [obj.id_col] for index in table.indexes):
        return True
    return any(
        isinstance(c, UniqueConstraint) and list(c.columns) == [obj.id_col]
        for c in table.constraints
    )
