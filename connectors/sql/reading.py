"""Reading an ``sql`` object: pages of changes, rows by id or by value, every live id.

Changes are read in pages on ``(updated_at, id)`` (``changes``) so that many rows sharing
one timestamp are neither skipped nor read forever; a resumed run re-reads a lookback window.
Searches by value let the database's own comparison (collation, affinity) decide which asked
value a row matches: one ``UNION ALL`` branch per value, or on SQLite one join of the asked
values with the rows their list selects (see :func:`lowest_matches`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    RowMapping,
    literal_column,
    select,
    union_all,
    values,
)
from sqlalchemy import column as named

from connectors.base import (
    ChangePage,
    ConnectorError,
    CreateCheck,
    Cursor,
    ExternalRecord,
    WriteRequest,
)
from connectors.sql.changes import Changes
from connectors.sql.database import Database
from connectors.sql.values import ID_CHUNK, RequestError, SqlObject, chunks

__all__ = ["Reader", "lowest_matches"]

#: Values per match statement (``find_by``, creates): one UNION ALL branch each. SQLite
#: caps a compound SELECT (500 terms by default); its own limit is read from the connection.
FIND_CHUNK = 500
#: Branches per statement on an SQLite whose limit cannot be read.
SQLITE_SAFE_BRANCHES = 200
#: Ids per keyset chunk of ``iter_ids``.
ITER_CHUNK = 1000
#: Label of the ``find_by`` column that says which asked value a row matched.
_MATCH = "_syncd_match"
#: SQLite from which a CTE may be MATERIALIZED (3.35.0): the join form of a search.
_SQLITE_MATERIALIZED = (3, 35, 0)


class Reader:
    """The reading half of the contract, over one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.name = db.name
        self.changes = Changes(db)

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        if limit < 1:
            raise ConnectorError(f"connector {self.name}: limit must be at least 1, not {limit}")
        obj = self.db.object(external_object)
        return self.changes.page(obj, cursor, limit=limit, resume=resume)

    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        obj = self.db.object(external_object)
        wanted = list(dict.fromkeys(str(i) for i in ids))
        params = [p for p in (self.db.id_param(obj, i) for i in wanted) if p is not None]
        found: dict[str, ExternalRecord] = {}
        with self.db.connect(read_only=True, one_statement=len(params) <= ID_CHUNK) as conn:
            for chunk in chunks(params, ID_CHUNK):
                stmt = select(*obj.selected).where(obj.id_col.in_(chunk))
                for record in map(obj.read_row, conn.execute(stmt)):
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
        obj = self.db.object(external_object)
        with self.db.connect(read_only=True) as conn:
            return [self._check_created(conn, obj, request) for request in requests]

    def _check_created(
        self, conn: Connection, obj: SqlObject, request: WriteRequest
    ) -> CreateCheck:
        try:
            values = self.db.values(obj, request.fields)
        except RequestError:
            return CreateCheck(safe=True)  # refused before any SQL: it was never written
        key = obj.options.create_key_field
        exact = True
        if key is not None:
            where = [obj.table.c[key] == request.key]
        elif request.match is not None and request.match[1] not in (None, ""):
            column = obj.fields.get(request.match[0])
            if column is None:
                return CreateCheck(reason=self.db.unknown_column(obj, request.match[0]))
            where = [column == self.db.coerce(column, request.match[1])]
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
        return CreateCheck(record=self.db.read_one(conn, obj, found[0]), safe=True)

    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        obj = self.db.object(external_object)
        column = obj.fields.get(field_name)
        if column is None:
            raise ConnectorError(self.db.unknown_column(obj, field_name), field=field_name)
        asked: list[tuple[Any, Any]] = []
        seen: set[Any] = set()
        for value in values:
            if value is None or value in seen:
                continue
            seen.add(value)
            try:
                asked.append((value, self.db.coerce(column, value)))
            except RequestError:
                continue  # a value the column cannot hold equals no row
        with self.db.connect(read_only=True, one_statement=_one_join(self.db, asked)) as conn:
            rows = lowest_matches(self.db, conn, obj, column, asked)
        return {value: self.db.record(obj, row) for value, row in rows.items()}

    def iter_ids(self, external_object: str) -> Iterator[str]:
        obj = self.db.object(external_object)
        last: Any = None
        while True:
            stmt = select(obj.id_col).where(obj.id_col.is_not(None), obj.live())
            if last is not None:
                stmt = stmt.where(obj.id_col > last)
            stmt = stmt.order_by(obj.id_col).limit(ITER_CHUNK)
            # A fresh connection per chunk: the caller may take its time between ids.
            with self.db.connect(read_only=True) as conn:
                chunk = list(conn.execute(stmt).scalars())
            yield from (str(i) for i in chunk)
            if len(chunk) < ITER_CHUNK:
                return
            last = chunk[-1]


def lowest_matches(
    db: Database,
    conn: Connection,
    obj: SqlObject,
    column: Column[Any],
    asked: Sequence[tuple[Any, Any]],
) -> dict[Any, RowMapping]:
    """For each ``(key, bound value)``, the live row with the lowest id equal to it.

    One UNION ALL branch per value, so the database's own comparison (collation,
    affinity) decides which asked value a row matches, duplicates included.
    """
    best: dict[Any, RowMapping] = {}
    if _joins(db):
        for chunk in chunks(asked, FIND_CHUNK):
            _keep_lowest(obj, best, chunk, conn.execute(_joined(obj, column, chunk)).mappings())
        return best
    for chunk in chunks(asked, _branches(db, conn)):
        branches = [
            select(literal_column(str(i)).label(_MATCH), *obj.selected).where(
                column == param, obj.live()
            )
            for i, (_key, param) in enumerate(chunk)
        ]
        stmt = branches[0] if len(branches) == 1 else union_all(*branches)
        _keep_lowest(obj, best, chunk, conn.execute(stmt).mappings())
    return best


def _joins(db: Database) -> bool:
    """Whether searches by value are joins here (see :func:`_joined`)."""
    return db.is_sqlite() and sqlite3.sqlite_version_info >= _SQLITE_MATERIALIZED


def _one_join(db: Database, asked: Sequence[Any]) -> bool:
    """Whether searching ``asked`` is one statement: one join of at most FIND_CHUNK values."""
    return _joins(db) and len(asked) <= FIND_CHUNK


def _keep_lowest(
    obj: SqlObject,
    best: dict[Any, RowMapping],
    chunk: Sequence[tuple[Any, Any]],
    rows: Iterator[RowMapping] | Any,
) -> None:
    for row in rows:
        key = chunk[int(row[_MATCH])][0]
        row_id = row[obj.id_col.name]
        # Several rows share the value: keep the lowest id, the same every time.
        if key not in best or row_id < best[key][obj.id_col.name]:
            best[key] = row


def _joined(obj: SqlObject, column: Column[Any], chunk: Sequence[tuple[Any, Any]]) -> Any:
    """On SQLite, one statement of the same meaning as the branches: the live rows whose
    value is IN the asked list (one pass over the table, whatever the number of values),
    materialized, then joined with the asked values by ``=``. SQLite compares
    ``x IN (SELECT y ...)`` exactly as ``x = y`` (the affinity and collation of ``x``), and
    a column read through a subquery keeps both, so each row matches the values its branch
    would have. The branches scanned an unindexed table once per value: 500 scans a
    statement, a second of CPU at 10,000 rows."""
    asked = (
        values(named("n", Integer), named("v", column.type), name="_syncd_asked")
        .data([(n, param) for n, (_key, param) in enumerate(chunk)])
        .cte("_syncd_asked")
    )
    hits = (
        select(*obj.selected)
        .where(column.in_(select(asked.c.v)), obj.live())
        .cte("_syncd_hits")
        .prefix_with("MATERIALIZED")
    )
    return select(asked.c.n.label(_MATCH), *hits.c).select_from(
        hits.join(asked, hits.c[column.name] == asked.c.v)
    )


def _branches(db: Database, conn: Connection) -> int:
    """UNION ALL branches per statement: SQLite caps a compound SELECT (500 by default)."""
    if not db.is_sqlite():
        return FIND_CHUNK
    raw = conn.connection.dbapi_connection
    getlimit = getattr(raw, "getlimit", None)
    if getlimit is None:
        return SQLITE_SAFE_BRANCHES
    return max(1, min(FIND_CHUNK, int(getlimit(sqlite3.SQLITE_LIMIT_COMPOUND_SELECT))))
