"""The ``sql`` connector: an external system that is a table in any SQLAlchemy database.

Each configured object is one table with an id column and an ``updated_at`` column; changes
are read by keyset paging on ``(updated_at, id)`` so that many rows sharing one timestamp are
neither skipped nor read forever.

Writes run in one transaction per batch, as a handful of statements whatever its size: one
SELECT for the match values of its creates, one executemany UPDATE and one multi-row INSERT
per set of columns written, one SELECT to read the rows back, straight in the transaction
(a SAVEPOINT and its RELEASE would be two more round trips for the usual batch that goes
through). If the database refuses any row, or the batch cannot be settled exactly, the whole
transaction is rolled back (the batch is its first work, so nothing else goes with it) and
the batch is written again in a fresh one with a SAVEPOINT per request, so that one refused
row fails alone and the others are kept. Deletes go the same way: one statement per chunk
of ids, row by row only when refused.

Timestamps: naive values are UTC. On SQLite, where a "timestamp" is whatever text an
application wrote, comparisons go through ``julianday()`` so that ``2024-01-01 10:00:00``,
``2024-01-01T10:00:00Z`` and ``2024-01-01 10:00:00.000000`` compare as the same instant (to
the millisecond; ties are broken by id, so the order stays total). PostgreSQL and MariaDB
compare the column itself, so an index on ``(updated_at, id)`` serves every page.

The URL may carry a password: every message renders it with the password hidden, and any
driver message is scrubbed of it too.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    Numeric,
    RowMapping,
    String,
    Table,
    Time,
    bindparam,
    create_engine,
    delete,
    event,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    NoSuchTableError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)

from connectors.base import (
    AuthError,
    ChangePage,
    Connector,
    ConnectorError,
    ConnectorOptions,
    CreateCheck,
    Cursor,
    ExternalRecord,
    TransientError,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)

if TYPE_CHECKING:
    from connectors.http import HttpClients

__all__ = ["SqlConnector", "SqlObjectOptions", "SqlOptions", "refused_credentials"]

#: Ids per ``IN (...)``: well under every database's bind-parameter limit.
ID_CHUNK = 500
#: Values per match statement (``find_by``, creates): one UNION ALL branch each. SQLite
#: caps a compound SELECT (500 terms by default); its own limit is read from the connection.
FIND_CHUNK = 500
#: Branches per statement on an SQLite whose limit cannot be read.
SQLITE_SAFE_BRANCHES = 200
#: Ids per keyset chunk of ``iter_ids``.
ITER_CHUNK = 1000
#: Seconds to wait for a server before calling the database unreachable.
CONNECT_TIMEOUT = 10
#: Label of the ``find_by`` column that says which asked value a row matched.
_MATCH = "_syncd_match"


class SqlObjectOptions(ConnectorOptions):
    """One external object: a table, its id and timestamp columns, what to expose."""

    # The input may sit next to the connector's URL; never echo it in a validation error.
    model_config = ConfigDict(hide_input_in_errors=True)

    table: str
    id: str = "id"
    updated_at: str = "updated_at"
    #: A boolean soft-delete column; rows with it true are reported as tombstones.
    deleted: str | None = None
    #: The columns exposed as fields (all when absent); id and timestamps are read anyway.
    columns: list[str] | None = None
    #: How far back a resumed run re-reads, for rows committed late with older timestamps.
    lookback_seconds: float = Field(default=5.0, ge=0)
    #: A text column where every create writes the engine's key (``<sync>:<CRM id>``), so a
    #: row made by a create whose outcome was lost (a crash, a lost commit answer) is found
    #: again by it, even without a match key.
    create_key_field: str | None = Field(default=None, min_length=1)
    #: A timestamp column set when a row is made: a row that got a deleted row's id back
    #: (SQLite without AUTOINCREMENT) is then told from an edit of that row.
    created_at: str | None = Field(default=None, min_length=1)


class SqlOptions(ConnectorOptions):
    """The ``sql`` connector's YAML options."""

    # A validation error would otherwise print the input, URL and password included.
    model_config = ConfigDict(hide_input_in_errors=True)

    url: str = Field(repr=False)
    objects: dict[str, SqlObjectOptions]
    schema_name: str | None = None

    def lost_create_risk(self, external_object: str, match_field: str | None) -> str | None:
        obj = self.objects.get(external_object)
        if obj is None or match_field is not None or obj.create_key_field is not None:
            return None
        return (
            f"object {external_object} has no way to find a record by a match key: after a "
            "crash or a lost commit answer, a row made by a create cannot be found again, so "
            "it may be parked for an operator; set create_key_field: <a text column> for "
            "syncd's own key, or the sync's match: to a column that identifies a row"
        )


class _RequestError(Exception):
    """One request cannot be done as given; it becomes that request's FAILED result."""

    def __init__(self, message: str, *, retriable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retriable = retriable


class _Fallback(Exception):
    """The batch cannot be written exactly as one: write its requests one at a time."""


class _Redo(Exception):
    """The batch was refused: roll its transaction back and write it one request at a time.

    Raised out of :meth:`SqlConnector._connect`, so the transaction is rolled back whole;
    only raised while the batch is the transaction's sole work, so nothing else is lost.
    """


@dataclass(frozen=True)
class _Planned:
    """One write request checked and turned into bind values, before any SQL runs."""

    index: int
    request: WriteRequest
    values: dict[Column[Any], Any]
    #: The id to update (an update), or None (a create).
    target: Any = None
    #: The column and bound value a create searches first, so a retry does not double it.
    match: tuple[Column[Any], Any] | None = None


@dataclass(frozen=True)
class _Object:
    """A configured object with its reflected table, resolved once and cached."""

    name: str
    options: SqlObjectOptions
    table: Table
    id_col: Column[Any]
    ts_col: Column[Any]
    deleted_col: Column[Any] | None
    #: The ``created_at`` column, when configured.
    created_col: Column[Any] | None
    #: The columns exposed as record fields and accepted in writes, by name.
    fields: Mapping[str, Column[Any]]
    #: What every read selects: the fields plus id, timestamp and deleted flag.
    selected: tuple[Column[Any], ...]

    def live(self) -> ColumnElement[bool]:
        """Rows not soft-deleted; NULL counts as live so a nullable flag needs no backfill."""
        if self.deleted_col is None:
            return true()
        return or_(self.deleted_col.is_(None), self.deleted_col == false())


class SqlConnector(Connector[SqlOptions]):
    """Reads and writes rows of tables in one database (SQLite, PostgreSQL, MariaDB, ...)."""

    type_name: ClassVar[str] = "sql"
    options_model: ClassVar[type[ConnectorOptions]] = SqlOptions

    def __init__(
        self, name: str, options: ConnectorOptions, *, http: HttpClients | None = None
    ) -> None:
        super().__init__(name, options, http=http)
        self._sql_options = self.options
        self._engine: Engine | None = None
        self._objects: dict[str, _Object] = {}
        self._lock = threading.Lock()
        try:
            parsed: URL | None = make_url(self.options.url)
        except ArgumentError:
            parsed = None
        self._url = parsed
        self._password = parsed.password if parsed is not None else None
        self._shown_url = (
            parsed.render_as_string(hide_password=True) if parsed is not None else "<bad URL>"
        )

    # -- the contract -----------------------------------------------------------------

    def check_object(self, external_object: str) -> str | None:
        options = self._sql_options.objects.get(external_object)
        if options is None:
            return self._unknown_object(external_object)
        if external_object in self._objects:
            return None
        problem, resolved = self._reflect(external_object, options)
        if resolved is not None:
            with self._lock:
                self._objects.setdefault(external_object, resolved)
        return problem

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        if limit < 1:
            raise ConnectorError(f"connector {self.name}: limit must be at least 1, not {limit}")
        obj = self._object(external_object)
        ts = self._ts_expr(obj)
        stmt = select(*obj.selected).where(ts.is_not(None))
        if cursor is not None:
            after, after_id = self._parse_cursor(obj, cursor)
            if resume:
                since = after - timedelta(seconds=obj.options.lookback_seconds)
                stmt = stmt.where(ts >= self._ts_value(obj, since))
            else:
                bound = self._ts_value(obj, after)
                # The leading ">=" lets an index on (updated_at, id) bound the scan.
                stmt = stmt.where(ts >= bound, or_(ts > bound, obj.id_col > after_id))
        stmt = stmt.order_by(ts, obj.id_col).limit(limit)
        with self._connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        records = [self._record(obj, row) for row in rows]
        if not records:
            return ChangePage(records=[], cursor=cursor, has_more=False)
        last = records[-1]
        assert last.updated_at is not None  # NULL timestamps are filtered out above
        new_cursor: Cursor = {"updated_at": last.updated_at.isoformat(), "id": last.id}
        return ChangePage(records=records, cursor=new_cursor, has_more=len(records) == limit)

    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        obj = self._object(external_object)
        wanted = list(dict.fromkeys(str(i) for i in ids))
        params = [p for p in (self._id_param(obj, i) for i in wanted) if p is not None]
        found: dict[str, ExternalRecord] = {}
        with self._connect() as conn:
            for chunk in _chunks(params, ID_CHUNK):
                stmt = select(*obj.selected).where(obj.id_col.in_(chunk))
                for row in conn.execute(stmt).mappings():
                    record = self._record(obj, row)
                    found[record.id] = record
        # In the order asked; rows the database matched under another spelling (a
        # case-insensitive collation) follow.
        ordered = [found.pop(i) for i in wanted if i in found]
        return ordered + list(found.values())

    def find_created(
        self, external_object: str, requests: Sequence[WriteRequest]
    ) -> list[CreateCheck]:
        """By the key column, else the match value, else the values the create wrote.

        A transaction either committed its rows or left nothing, and a row made by a create
        holds exactly the values it wrote until someone edits it: no row with them means
        the create did not happen. Several rows with them cannot be told apart.
        """
        obj = self._object(external_object)
        with self._connect() as conn:
            return [self._check_created(conn, obj, request) for request in requests]

    def _check_created(self, conn: Connection, obj: _Object, request: WriteRequest) -> CreateCheck:
        try:
            values = self._values(obj, request.fields)
        except _RequestError:
            return CreateCheck(safe=True)  # refused before any SQL: it was never written
        key = obj.options.create_key_field
        exact = True
        if key is not None:
            where = [obj.table.c[key] == request.key]
        elif request.match is not None and request.match[1] not in (None, ""):
            column = obj.fields.get(request.match[0])
            if column is None:
                return CreateCheck(reason=self._unknown_column(obj, request.match[0]))
            where = [column == self._coerce(column, request.match[1])]
        else:
            exact = False
            where = [c.is_(None) if v is None else c == v for c, v in values.items()]
            if not where:
                return CreateCheck(reason="the create wrote no values to look it up by")
        found = (
            conn.execute(select(obj.id_col).where(*where, obj.live()).order_by(obj.id_col).limit(2))
            .scalars()
            .all()
        )
        if not found:
            return CreateCheck(safe=True)
        if len(found) > 1 and not exact:
            return CreateCheck(
                reason=f"{len(found)} or more rows of {obj.options.table} hold the values it wrote"
            )
        return CreateCheck(record=self._read_one(conn, obj, found[0]), safe=True)

    def finds_before_create(self, external_object: str, field_name: str) -> bool:
        """Every create looks for a live row holding its match value first."""
        return field_name in self._object(external_object).fields

    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        obj = self._object(external_object)
        column = obj.fields.get(field_name)
        if column is None:
            raise ConnectorError(self._unknown_column(obj, field_name), field=field_name)
        asked: list[tuple[Any, Any]] = []
        seen: set[Any] = set()
        for value in values:
            if value is None or value in seen:
                continue
            seen.add(value)
            try:
                asked.append((value, self._coerce(column, value)))
            except _RequestError:
                continue  # a value the column cannot hold equals no row
        with self._connect() as conn:
            rows = self._lowest_matches(conn, obj, column, asked)
        return {value: self._record(obj, row) for value, row in rows.items()}

    def iter_ids(self, external_object: str) -> Iterator[str]:
        obj = self._object(external_object)
        last: Any = None
        while True:
            stmt = select(obj.id_col).where(obj.id_col.is_not(None), obj.live())
            if last is not None:
                stmt = stmt.where(obj.id_col > last)
            stmt = stmt.order_by(obj.id_col).limit(ITER_CHUNK)
            # A fresh connection per chunk: the caller may take its time between ids.
            with self._connect() as conn:
                chunk = list(conn.execute(stmt).scalars())
            yield from (str(i) for i in chunk)
            if len(chunk) < ITER_CHUNK:
                return
            last = chunk[-1]

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        obj = self._object(external_object)
        if not requests:
            return []
        results: list[WriteResult | None] = [None] * len(requests)
        now = datetime.now(UTC)
        stamp = self._ts_param(obj, now)
        born = self._time_for(obj.created_col, now) if obj.created_col is not None else None
        planned: list[_Planned] = []
        for index, request in enumerate(requests):
            try:
                planned.append(self._plan(obj, index, request, stamp, born))
            except _RequestError as exc:
                results[index] = self._failed(request.external_id, exc)
        if not planned:
            return [r for r in results if r is not None]
        batch, alone = _split_repeats(planned)
        try:
            with self._connect() as conn:
                # The batch is this transaction's first work: on _Redo nothing else is lost.
                if batch:
                    for index, result in self._write_batch_or_redo(conn, obj, batch).items():
                        results[index] = result
                for item in alone:
                    results[item.index] = self._write_alone(conn, obj, item)
        except _Redo:
            # Some row was refused: a fresh transaction, one SAVEPOINT per request, so that
            # row fails alone and the others are written.
            with self._connect() as conn:
                for item in planned:
                    results[item.index] = self._write_alone(conn, obj, item)
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        obj = self._object(external_object)
        if not ids:
            return []
        params = [p for p in (self._id_param(obj, raw) for raw in ids) if p is not None]
        deleted = [WriteResult(WriteOutcome.DELETED, external_id=raw) for raw in ids]
        if not params:
            return deleted
        try:
            with self._connect() as conn:
                # The chunks are this transaction's only work: on _Redo nothing else is lost.
                self._delete_batch_or_redo(conn, obj, params)
            return deleted
        except _Redo:
            pass
        # Some row was refused: a fresh transaction, one SAVEPOINT per id.
        with self._connect() as conn:
            results: list[WriteResult] = []
            for raw in ids:
                param = self._id_param(obj, raw)
                if param is not None:
                    try:
                        with conn.begin_nested():
                            conn.execute(self._delete_stmt(obj, obj.id_col == param))
                    except (DBAPIError, StatementError) as exc:
                        results.append(self._failed(raw, self._request_error(exc)))
                        continue
                results.append(WriteResult(WriteOutcome.DELETED, external_id=raw))
        return results

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
            self._objects.clear()
        if engine is not None:
            engine.dispose()

    # -- writing ----------------------------------------------------------------------

    def _plan(
        self, obj: _Object, index: int, request: WriteRequest, stamp: Any, born: Any
    ) -> _Planned:
        """The request as bind values, checked before any SQL runs (a bad one fails alone).
        ``born`` goes into the ``created_at`` column of a row a create makes."""
        values = self._values(obj, request.fields)
        values[obj.ts_col] = stamp
        key = obj.options.create_key_field
        if request.external_id is None and key is not None:
            values[obj.table.c[key]] = request.key
        if request.external_id is None and obj.created_col is not None:
            values[obj.created_col] = born
        if request.external_id is not None:
            param = self._id_param(obj, request.external_id)
            if param is None:
                raise _RequestError(f"no {obj.name} record with id {request.external_id!r}")
            return _Planned(index, request, values, target=param)
        match: tuple[Column[Any], Any] | None = None
        if request.match is not None and request.match[1] is not None:
            match_field, match_value = request.match
            column = obj.fields.get(match_field)
            if column is None:
                raise _RequestError(self._unknown_column(obj, match_field))
            match = (column, self._coerce(column, match_value))
        return _Planned(index, request, values, match=match)

    def _write_batch_or_redo(
        self, conn: Connection, obj: _Object, batch: Sequence[_Planned]
    ) -> dict[int, WriteResult]:
        """The whole batch in a few statements; _Redo if it was refused or is not exact.

        No SAVEPOINT: part of the batch may be written when this raises, so the caller must
        roll back the whole transaction, which must hold nothing but this batch.
        """
        try:
            return self._write_batch(conn, obj, batch)
        except (_Fallback, _RequestError):
            raise _Redo from None
        except (DBAPIError, StatementError) as exc:
            self._request_error(exc)  # raises when the connection itself is gone
            raise _Redo from None

    def _write_batch(
        self, conn: Connection, obj: _Object, batch: Sequence[_Planned]
    ) -> dict[int, WriteResult]:
        """One match SELECT, grouped UPDATEs, multi-row INSERTs, one read-back SELECT.

        Anything this cannot settle exactly raises, and the caller writes row by row.
        """
        found = self._existing(conn, obj, [item for item in batch if item.match is not None])
        updates: list[tuple[_Planned, Any, WriteOutcome]] = []
        inserts: list[_Planned] = []
        for item in batch:
            if item.target is not None:
                updates.append((item, item.target, WriteOutcome.UPDATED))
            elif item.index in found:
                # A retry after a lost response: the row is there, so finish it instead.
                updates.append((item, found[item.index], WriteOutcome.CREATED))
            else:
                inserts.append(item)
        targets = [_norm(target) for _, target, _ in updates]
        if len(set(targets)) != len(targets):
            raise _Fallback("two requests of the batch write one row")
        self._update_many(
            conn, obj, [(target, _kept_on_update(obj, item.values)) for item, target, _ in updates]
        )
        new_ids = self._insert_many(conn, obj, inserts)
        wanted = [item.values.get(obj.id_col, target) for item, target, _ in updates]
        read = self._read_many(conn, obj, [*wanted, *new_ids.values()])
        results: dict[int, WriteResult] = {}
        for (item, _, outcome), param in zip(updates, wanted, strict=True):
            record = read(param)
            if record is None and outcome is WriteOutcome.UPDATED:
                error = _RequestError(f"no {obj.name} record with id {item.request.external_id!r}")
                results[item.index] = self._failed(item.request.external_id, error)
                continue
            if record is None:
                raise _Fallback("a matched row cannot be read back")
            results[item.index] = WriteResult(
                outcome,
                external_id=record.id,
                record=record,
                matched=outcome is WriteOutcome.CREATED,
            )
        for item in inserts:
            record = read(new_ids[item.index])
            if record is None:
                raise _Fallback("an inserted row cannot be read back by its id")
            results[item.index] = WriteResult(
                WriteOutcome.CREATED, external_id=record.id, record=record
            )
        return results

    def _existing(
        self, conn: Connection, obj: _Object, creates: Sequence[_Planned]
    ) -> dict[int, Any]:
        """The id of the live row each create's match value finds, by request index."""
        by_column: dict[Column[Any], list[tuple[Any, Any]]] = {}
        for item in creates:
            assert item.match is not None
            column, param = item.match
            by_column.setdefault(column, []).append((item.index, param))
        found: dict[int, Any] = {}
        for column, asked in by_column.items():
            for index, row in self._lowest_matches(conn, obj, column, asked).items():
                found[index] = row[obj.id_col.name]
        return found

    def _lowest_matches(
        self,
        conn: Connection,
        obj: _Object,
        column: Column[Any],
        asked: Sequence[tuple[Any, Any]],
    ) -> dict[Any, RowMapping]:
        """For each ``(key, bound value)``, the live row with the lowest id equal to it.

        One UNION ALL branch per value, so the database's own comparison (collation,
        affinity) decides which asked value a row matches, duplicates included.
        """
        best: dict[Any, RowMapping] = {}
        for chunk in _chunks(asked, self._branches(conn)):
            branches = [
                select(literal_column(str(i)).label(_MATCH), *obj.selected).where(
                    column == param, obj.live()
                )
                for i, (_key, param) in enumerate(chunk)
            ]
            stmt = branches[0] if len(branches) == 1 else union_all(*branches)
            for row in conn.execute(stmt).mappings():
                key = chunk[int(row[_MATCH])][0]
                row_id = row[obj.id_col.name]
                # Several rows share the value: keep the lowest id, the same every time.
                if key not in best or row_id < best[key][obj.id_col.name]:
                    best[key] = row
        return best

    def _branches(self, conn: Connection) -> int:
        """UNION ALL branches per statement: SQLite caps a compound SELECT (500 by default)."""
        if not self._is_sqlite():
            return FIND_CHUNK
        raw = conn.connection.dbapi_connection
        getlimit = getattr(raw, "getlimit", None)
        if getlimit is None:
            return SQLITE_SAFE_BRANCHES
        return max(1, min(FIND_CHUNK, int(getlimit(sqlite3.SQLITE_LIMIT_COMPOUND_SELECT))))

    def _update_many(
        self, conn: Connection, obj: _Object, items: Sequence[tuple[Any, Mapping[Column[Any], Any]]]
    ) -> None:
        """One executemany UPDATE per set of columns written."""
        groups: dict[tuple[Column[Any], ...], list[tuple[Any, Mapping[Column[Any], Any]]]] = {}
        for target, values in items:
            groups.setdefault(_columns(values), []).append((target, values))
        for columns, members in groups.items():
            # Bind names of our own: a column may be called anything, even like a bind.
            stmt = (
                update(obj.table)
                .where(obj.id_col == bindparam("_syncd_where", type_=obj.id_col.type))
                .values({c: bindparam(f"_syncd_v{i}", type_=c.type) for i, c in enumerate(columns)})
            )
            params = [
                {"_syncd_where": target, **{f"_syncd_v{i}": v[c] for i, c in enumerate(columns)}}
                for target, v in members
            ]
            conn.execute(stmt, params)

    def _insert_many(
        self, conn: Connection, obj: _Object, items: Sequence[_Planned]
    ) -> dict[int, Any]:
        """The new rows' ids by request index: one multi-row INSERT per set of columns.

        RETURNING may list rows in any order, so each new id is tied to its request by a
        column whose values tell the requests apart (the match field first); without such a
        column, or without RETURNING, the rows go in one INSERT each.
        """
        new_ids: dict[int, Any] = {}
        groups: dict[tuple[Column[Any], ...], list[_Planned]] = {}
        for item in items:
            groups.setdefault(_columns(item.values), []).append(item)
        for columns, members in groups.items():
            params = [{c.key: item.values[c] for c in columns} for item in members]
            if obj.id_col in set(columns):
                conn.execute(insert(obj.table), params)
                new_ids.update((item.index, item.values[obj.id_col]) for item in members)
                continue
            key = _correlation(obj, columns, members)
            if key is None or len(members) == 1 or not conn.dialect.insert_executemany_returning:
                for item in members:
                    new_ids[item.index] = self._insert(conn, obj, item.values)
                continue
            rows = conn.execute(insert(obj.table).returning(obj.id_col, key), params).all()
            by_key = {_norm(item.values[key]): item.index for item in members}
            if len(rows) != len(members):
                raise _Fallback("RETURNING gave another number of rows than were inserted")
            for new_id, value in rows:
                index = by_key.pop(_norm(value), None)
                if index is None or new_id is None:
                    raise _Fallback("a new row cannot be told apart by its values")
                new_ids[index] = new_id
        return new_ids

    def _read_many(
        self, conn: Connection, obj: _Object, params: Sequence[Any]
    ) -> Callable[[Any], ExternalRecord | None]:
        """The rows with these ids, read in one SELECT per chunk, as a lookup by id."""
        exact: dict[Any, ExternalRecord] = {}
        loose: dict[str, list[ExternalRecord]] = {}
        for chunk in _chunks(list(dict.fromkeys(params)), ID_CHUNK):
            stmt = select(*obj.selected).where(obj.id_col.in_(chunk))
            for row in conn.execute(stmt).mappings():
                record = self._record(obj, row)
                raw = row[obj.id_col.name]
                exact[raw] = record
                loose.setdefault(_norm(raw), []).append(record)

        def lookup(param: Any) -> ExternalRecord | None:
            if param in exact:
                return exact[param]
            # A case-insensitive collation matched the id under another spelling.
            hits = loose.get(_norm(param), [])
            return hits[0] if len(hits) == 1 else None

        return lookup

    def _write_alone(self, conn: Connection, obj: _Object, item: _Planned) -> WriteResult:
        try:
            with conn.begin_nested():
                return self._write_one(conn, obj, item)
        except _RequestError as exc:
            return self._failed(item.request.external_id, exc)
        except (DBAPIError, StatementError) as exc:
            return self._failed(item.request.external_id, self._request_error(exc))

    def _write_one(self, conn: Connection, obj: _Object, item: _Planned) -> WriteResult:
        values = item.values
        if item.target is not None:
            record = self._update(conn, obj, item.target, values)
            if record is None:
                raise _RequestError(f"no {obj.name} record with id {item.request.external_id!r}")
            return WriteResult(WriteOutcome.UPDATED, external_id=record.id, record=record)
        if item.match is not None:
            column, param = item.match
            existing = conn.execute(
                select(obj.id_col).where(column == param, obj.live()).order_by(obj.id_col).limit(1)
            ).scalar()
            if existing is not None:
                # A retry after a lost response: the row is there, so finish it instead.
                record = self._update(conn, obj, existing, values)
                assert record is not None
                return WriteResult(
                    WriteOutcome.CREATED, external_id=record.id, record=record, matched=True
                )
        new_id = self._insert(conn, obj, values)
        record = self._read_one(conn, obj, new_id)
        if record is None:
            raise _RequestError(f"the inserted {obj.name} row cannot be read back by its id")
        return WriteResult(WriteOutcome.CREATED, external_id=record.id, record=record)

    def _values(self, obj: _Object, fields: Mapping[str, Any]) -> dict[Column[Any], Any]:
        """The request's fields as bind values; a name that is no exposed column is refused.

        Names are only ever looked up among the reflected columns, so a hostile field name
        is an unknown column, never SQL.
        """
        values: dict[Column[Any], Any] = {}
        for name, value in fields.items():
            column = obj.fields.get(name)
            if column is None and name == obj.id_col.name:
                column = obj.id_col  # a table whose ids are given, not generated
            if column is None:
                raise _RequestError(self._unknown_column(obj, name))
            values[column] = self._coerce(column, value)
        return values

    def _update(
        self, conn: Connection, obj: _Object, param: Any, values: Mapping[Column[Any], Any]
    ) -> ExternalRecord | None:
        changed = _kept_on_update(obj, values)
        conn.execute(update(obj.table).where(obj.id_col == param).values(changed))
        return self._read_one(conn, obj, values.get(obj.id_col, param))

    def _insert(self, conn: Connection, obj: _Object, values: Mapping[Column[Any], Any]) -> Any:
        stmt = insert(obj.table).values(dict(values))
        if obj.id_col in values:
            conn.execute(stmt)
            return values[obj.id_col]
        if conn.dialect.insert_returning:
            return conn.execute(stmt.returning(obj.id_col)).scalar_one()
        result = conn.execute(stmt)
        primary = [c.name for c in obj.table.primary_key.columns]
        if primary == [obj.id_col.name] and result.inserted_primary_key is not None:
            generated = result.inserted_primary_key[0]
            if generated is not None:
                return generated
        if result.lastrowid:
            return result.lastrowid
        raise _RequestError(f"the database reported no id for the new {obj.name} row")

    def _read_one(self, conn: Connection, obj: _Object, param: Any) -> ExternalRecord | None:
        row = conn.execute(select(*obj.selected).where(obj.id_col == param)).mappings().first()
        return self._record(obj, row) if row is not None else None

    def _delete_batch_or_redo(self, conn: Connection, obj: _Object, params: Sequence[Any]) -> None:
        """Every id in one statement per chunk; _Redo if the database refused one of them.

        No SAVEPOINT: an earlier chunk may be deleted when this raises, so the caller must
        roll back the whole transaction, which must hold nothing but these deletes.
        """
        try:
            for chunk in _chunks(list(dict.fromkeys(params)), ID_CHUNK):
                conn.execute(self._delete_stmt(obj, obj.id_col.in_(chunk)))
        except (DBAPIError, StatementError) as exc:
            self._request_error(exc)  # raises when the connection itself is gone
            raise _Redo from None

    def _delete_stmt(self, obj: _Object, which: ColumnElement[bool]) -> Any:
        if obj.deleted_col is None:
            return delete(obj.table).where(which)
        return (
            update(obj.table)
            .where(which)
            .values(
                {
                    obj.deleted_col: self._coerce(obj.deleted_col, True),
                    obj.ts_col: self._ts_param(obj, datetime.now(UTC)),
                }
            )
        )

    def _failed(self, external_id: str | None, exc: _RequestError) -> WriteResult:
        return WriteResult(
            WriteOutcome.FAILED,
            external_id=external_id,
            error=exc.message,
            retriable=exc.retriable,
        )

    def _request_error(self, exc: SQLAlchemyError) -> _RequestError:
        """One request's database error, unless the connection itself is gone."""
        if isinstance(exc, DBAPIError) and (
            exc.connection_invalidated or isinstance(exc, InterfaceError)
        ):
            raise self._call_error(exc) from None
        # Lock timeouts and deadlocks may pass on a retry; a refused value never will.
        retriable = isinstance(exc, OperationalError)
        return _RequestError(self._scrub(_describe(exc)), retriable=retriable)

    # -- values -----------------------------------------------------------------------

    def _coerce(self, column: Column[Any], value: Any) -> Any:
        """A JSON-like value as the column's Python type, so every driver binds it alike.

        The engine's mapping hands over text for numbers, booleans and dates; SQLite's
        DateTime refuses text and PostgreSQL refuses text for an integer, so convert here.
        """
        if value is None:
            return None
        kind = column.type
        try:
            if isinstance(kind, Boolean):
                return _to_bool(value)
            if _is_mysql_boolean(column):
                return int(_to_bool(value))
            if isinstance(kind, DateTime):
                moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
                return self._time_for(column, moment)
            if isinstance(kind, Date) and isinstance(value, str):
                return date.fromisoformat(value)
            if isinstance(kind, Time) and isinstance(value, str):
                return time.fromisoformat(value)
            if isinstance(kind, Integer) and not isinstance(value, bool | int):
                if isinstance(value, float) and value.is_integer():
                    return int(value)
                if isinstance(value, str):
                    return int(value.strip())
                raise ValueError("not an integer")
            if isinstance(kind, Float) and isinstance(value, str):
                return float(value)
            if isinstance(kind, Numeric) and isinstance(value, str | int | float):
                return Decimal(str(value).strip())
        except (ValueError, TypeError, InvalidOperation):
            raise _RequestError(
                f"column {column.name!r} cannot hold {_short(value)} ({kind})"
            ) from None
        return value

    def _time_for(self, column: Column[Any], moment: datetime) -> Any:
        """``moment`` as the column stores it: aware only where the column keeps a zone."""
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        kind = column.type
        if isinstance(kind, DateTime) and kind.timezone and not self._is_sqlite():
            return aware.astimezone(UTC)
        naive = aware.astimezone(UTC).replace(tzinfo=None)
        if isinstance(kind, DateTime):
            return naive
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f")  # a text column (SQLite)

    def _ts_param(self, obj: _Object, moment: datetime) -> Any:
        return self._time_for(obj.ts_col, moment)

    def _ts_expr(self, obj: _Object) -> ColumnElement[Any]:
        if self._is_sqlite():
            return func.julianday(obj.ts_col)
        return obj.ts_col

    def _ts_value(self, obj: _Object, moment: datetime) -> Any:
        """A cursor instant in the form :meth:`_ts_expr` compares against."""
        if self._is_sqlite():
            text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
            return func.julianday(literal(text, String()))
        return self._ts_param(obj, moment)

    def _id_param(self, obj: _Object, raw: str) -> Any:
        """An id string as the id column's type; None when no row can have it."""
        if _python_type(obj.id_col) is int:
            try:
                return int(raw)
            except ValueError:
                return None
        return raw

    def _parse_cursor(self, obj: _Object, cursor: Cursor) -> tuple[datetime, Any]:
        try:
            moment = datetime.fromisoformat(cursor["updated_at"])
            raw_id = cursor["id"]
            if not isinstance(raw_id, str):
                raise TypeError("id is not text")
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(
                f"connector {self.name}: cursor {cursor!r} is not an sql cursor ({exc})"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        param = self._id_param(obj, raw_id)
        if param is None:
            raise ConnectorError(
                f"connector {self.name}: cursor id {raw_id!r} does not fit column "
                f"{obj.id_col.name!r} of {obj.name}"
            )
        return moment, param

    def _record(self, obj: _Object, row: RowMapping) -> ExternalRecord:
        fields: dict[str, Any] = {}
        for name in obj.fields:
            if name in row:
                value = row[name]
                # Text and NULL, most columns, pass as they are (what _json_value does).
                fields[name] = (
                    value
                    if value is None or type(value) is str
                    else _json_value(obj.name, name, value)
                )
        deleted = obj.deleted_col is not None and bool(row[obj.deleted_col.name])
        created = obj.created_col
        return ExternalRecord(
            id=str(row[obj.id_col.name]),
            fields=fields,
            updated_at=_aware(obj, row[obj.ts_col.name]),
            deleted=deleted,
            created_at=_aware(obj, row[created.name], created) if created is not None else None,
        )

    # -- objects and connections -------------------------------------------------------

    def _object(self, name: str) -> _Object:
        cached = self._objects.get(name)
        if cached is not None:
            return cached
        options = self._sql_options.objects.get(name)
        if options is None:
            raise ConnectorError(self._unknown_object(name), object=name)
        problem, resolved = self._reflect(name, options)
        if resolved is None:
            raise ConnectorError(f"connector {self.name}: {problem}", object=name)
        with self._lock:
            return self._objects.setdefault(name, resolved)

    def _reflect(self, name: str, options: SqlObjectOptions) -> tuple[str | None, _Object | None]:
        """The object resolved against the live table, or the problem that prevents it."""
        schema = self._sql_options.schema_name
        where = f"{schema}.{options.table}" if schema else options.table
        try:
            with self._connect() as conn:
                table = Table(options.table, MetaData(), autoload_with=conn, schema=schema)
        except NoSuchTableError:
            return f"object {name}: table {where!r} not found in {self._shown_url}", None
        columns = {c.name: c for c in table.columns}
        wanted = [options.id, options.updated_at]
        if options.deleted is not None:
            wanted.append(options.deleted)
        if options.create_key_field is not None:
            wanted.append(options.create_key_field)
        if options.created_at is not None:
            wanted.append(options.created_at)
        exposed = options.columns if options.columns is not None else list(columns)
        wanted.extend(exposed)
        missing = [c for c in dict.fromkeys(wanted) if c not in columns]
        if missing:
            listed = ", ".join(repr(c) for c in missing)
            return f"object {name}: table {where!r} has no column {listed}", None
        binary = [c for c in exposed if _python_type(columns[c]) is bytes]
        if binary:
            listed = ", ".join(repr(c) for c in binary)
            return (
                f"object {name}: column {listed} of {where!r} holds bytes, which records "
                "cannot carry; leave it out with columns:"
            ), None
        ts_col = columns[options.updated_at]
        if not self._is_sqlite() and not isinstance(ts_col.type, DateTime):
            return (
                f"object {name}: column {options.updated_at!r} of {where!r} is "
                f"{ts_col.type}, not a timestamp"
            ), None
        fields = {c: columns[c] for c in exposed}
        id_col = columns[options.id]
        deleted_col = columns[options.deleted] if options.deleted is not None else None
        created_col = columns[options.created_at] if options.created_at is not None else None
        extra = [c for c in (id_col, ts_col, deleted_col, created_col) if c is not None]
        selected = tuple(dict.fromkeys([*fields.values(), *extra]))
        resolved = _Object(
            name, options, table, id_col, ts_col, deleted_col, created_col, fields, selected
        )
        return None, resolved

    def _get_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = self._make_engine()
            return self._engine

    def _make_engine(self) -> Engine:
        url = self._url
        if url is None:
            raise ConnectorError(f"connector {self.name}: the database URL cannot be parsed")
        backend = url.get_backend_name()
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        elif url.drivername in ("mysql", "mariadb"):
            url = url.set(drivername=f"{url.drivername}+pymysql")
        connect_args: dict[str, Any] = {}
        if backend in ("postgresql", "mysql", "mariadb") and "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT
        try:
            engine = create_engine(
                url,
                pool_pre_ping=backend != "sqlite",
                connect_args=connect_args,
            )
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise ConnectorError(
                f"connector {self.name}: cannot use database {self._shown_url}: "
                f"{self._scrub(str(exc))}"
            ) from None
        if backend == "sqlite":
            _sqlite_savepoints(engine)
        elif backend in ("mysql", "mariadb"):
            _mysql_utc(engine)
        return engine

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        """One transaction; a failure of the database as a whole becomes a ConnectorError."""
        engine = self._get_engine()
        try:
            with engine.begin() as conn:
                yield conn
        except DBAPIError as exc:
            raise self._call_error(exc) from None

    def _call_error(self, exc: DBAPIError) -> ConnectorError:
        """The kind of a failure of the database as a whole: refused credentials pause the
        sync, a lost or refused connection is passing, anything else fails the pass."""
        text = f"connector {self.name}: database {self._shown_url}: {self._scrub(_describe(exc))}"
        if refused_credentials(exc):
            return AuthError(
                f"{text}; the database refused the credentials: fix the user and password "
                "in url:, then resume the sync"
            )
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return TransientError(text)
        return ConnectorError(text)

    def _is_sqlite(self) -> bool:
        return self._url is not None and self._url.get_backend_name() == "sqlite"

    def _scrub(self, message: str) -> str:
        if self._password:
            message = message.replace(self._password, "***")
        return message

    def _unknown_object(self, name: str) -> str:
        known = ", ".join(sorted(self._sql_options.objects)) or "(none)"
        return f"connector {self.name}: unknown object {name!r}; configured objects: {known}"

    def _unknown_column(self, obj: _Object, name: str) -> str:
        return f"unknown column {name!r} for {obj.name} (table {obj.options.table!r})"


# -- helpers ----------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _norm(value: Any) -> str:
    """A value as a loose key: equal under a case- and space-blind collation, or close to it."""
    return str(value).strip().casefold()


def _columns(values: Mapping[Column[Any], Any]) -> tuple[Column[Any], ...]:
    """The columns a request writes, in one order, so requests group by what they write."""
    return tuple(sorted(values, key=lambda column: column.key))


def _split_repeats(planned: Sequence[_Planned]) -> tuple[list[_Planned], list[_Planned]]:
    """The requests a batch can write at once, and those to write after it, one at a time.

    A second create with the same match value must find the row the first one made, and a
    second write of one id must land after the first: both wait for the batch. Values are
    compared loosely, since the database may compare them without case.
    """
    batch: list[_Planned] = []
    later: list[_Planned] = []
    seen: set[tuple[str, str]] = set()
    for item in planned:
        if item.target is not None:
            key = ("", _norm(item.target))
        elif item.match is not None:
            key = (item.match[0].key, _norm(item.match[1]))
        else:
            batch.append(item)
            continue
        (later if key in seen else batch).append(item)
        seen.add(key)
    return batch, later


def _correlation(
    obj: _Object, columns: Sequence[Column[Any]], members: Sequence[_Planned]
) -> Column[Any] | None:
    """A written column whose text or integer values tell these requests apart, if any."""
    matched = [item.match[0] for item in members if item.match is not None]
    first = [matched[0]] if len(matched) == len(members) and len(set(matched)) == 1 else []
    written = set(columns)
    for column in dict.fromkeys([*first, *columns]):
        if column is obj.ts_col or column not in written:
            continue
        keys: set[str] = set()
        for item in members:
            value = item.values[column]
            if isinstance(value, bool) or not isinstance(value, str | int):
                break
            key = _norm(value)
            if not key or key in keys:
                break
            keys.add(key)
        else:
            return column
    return None


def _python_type(column: Column[Any]) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _is_mysql_boolean(column: Column[Any]) -> bool:
    """MySQL and MariaDB spell BOOLEAN as TINYINT(1), and reflect it that way."""
    return type(column.type).__name__ == "TINYINT" and (
        getattr(column.type, "display_width", None) == 1
    )


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "t", "1", "yes"):
            return True
        if word in ("false", "f", "0", "no"):
            return False
    raise ValueError("not a boolean")


def _kept_on_update(obj: _Object, values: Mapping[Column[Any], Any]) -> dict[Column[Any], Any]:
    """``values`` without the ``created_at`` column: a create that finds its row already
    there (a retry after a lost answer) finishes it, and the row keeps its creation time."""
    return {c: v for c, v in values.items() if c is not obj.created_col}


def _aware(obj: _Object, value: Any, column: Column[Any] | None = None) -> datetime | None:
    """The row's timestamp (``column``, the ``updated_at`` one by default) as an aware UTC
    datetime; naive database values are UTC."""
    name = (column if column is not None else obj.ts_col).name
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ConnectorError(
                f"object {obj.name}: {name} value {_short(value)} is not a timestamp"
            ) from None
    if not isinstance(value, datetime):
        raise ConnectorError(f"object {obj.name}: {name} value {_short(value)} is not a timestamp")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _json_value(object_name: str, column: str, value: Any) -> Any:
    """A database value as JSON-like data; bytes and unknown types are refused, not guessed."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_value(object_name, column, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(object_name, column, v) for k, v in value.items()}
    raise ConnectorError(
        f"object {object_name}: column {column!r} holds {type(value).__name__}, which a "
        "record cannot carry; leave it out with columns:",
        column=column,
    )


#: SQLSTATE class 28, "invalid authorization specification" (PostgreSQL: 28000, 28P01).
_AUTH_SQLSTATES = frozenset({"28000", "28P01"})
#: MySQL/MariaDB: access denied for user (1045), to the database (1044), by auth plugin (1698).
_AUTH_MYSQL_CODES = frozenset({1044, 1045, 1698})
#: libpq words a refusal at connect time, where psycopg has no SQLSTATE to give.
_AUTH_TEXT = re.compile(
    r'password authentication failed|role ".*" does not exist|no pg_hba\.conf entry'
    r"|authentication failed|password is required|access denied for user",
    re.IGNORECASE,
)


def refused_credentials(exc: DBAPIError) -> bool:
    """Whether the database refused the user or password (as opposed to being down)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _AUTH_SQLSTATES:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _AUTH_MYSQL_CODES:
        return True
    return bool(_AUTH_TEXT.search(str(orig)))


def _describe(exc: SQLAlchemyError) -> str:
    """The driver's own message, without the SQL and parameters SQLAlchemy appends."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig)
    elif isinstance(exc, StatementError) and exc.orig is not None:
        text = f"{type(exc.orig).__name__}: {exc.orig}"
    else:
        text = str(exc).split("\n[SQL:", 1)[0]
    text = " ".join(text.split())
    return text[:500]


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _sqlite_savepoints(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions, or SAVEPOINT does not work.

    Transactions begin IMMEDIATE and wait up to 30 s for a busy file: a deferred one that
    upgrades to a write while another writer holds the file fails at once with "database
    is locked" (SQLite's deadlock avoidance), whatever the timeout — two syncs writing one
    SQLite source, or the source's own application writing, would trip it.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _mysql_utc(engine: Engine) -> None:
    """TIMESTAMP columns are read in the session zone; make that UTC like naive values."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET time_zone = '+00:00'")
        cursor.close()
