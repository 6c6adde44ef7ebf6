"""Writing an ``sql`` object: batches of creates and updates, deletes.

Writes run in one transaction per batch, as a handful of statements whatever its size: one
SELECT for the match values of its creates, one executemany UPDATE and one multi-row INSERT
per set of columns written, one SELECT to read the rows back, straight in the transaction
(a SAVEPOINT and its RELEASE would be two more round trips for the usual batch that goes
through). If the database refuses any row, or the batch cannot be settled exactly, the whole
transaction is rolled back (the batch is its first work, so nothing else goes with it) and
the batch is written again in a fresh one with a SAVEPOINT per request, so that one refused
row fails alone and the others are kept. Updates that swap a unique value (Ann takes Bo's
email and Bo Ann's) are refused one at a time whatever their order; the refused updates
then go again together, each row's nullable written fields set to NULL first, in one SAVEPOINT:
nobody outside sees the step between (see :meth:`Writer._land_swaps`). Deletes go the same
way as writes: one statement per chunk of ids, row by row only when refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, StatementError

from connectors.base import ExternalRecord, WriteOutcome, WriteRequest, WriteResult
from connectors.sql.database import Database
from connectors.sql.reading import lowest_matches
from connectors.sql.values import ID_CHUNK, RequestError, SqlObject, chunks, norm

__all__ = ["Writer"]


class _Fallback(Exception):
    """The batch cannot be written exactly as one: write its requests one at a time."""


class _Unswappable(Exception):
    """Some refused updates still cannot land with the unique values released."""

    def __init__(self, stuck: set[int]) -> None:
        super().__init__(f"{len(stuck)} updates refused")
        self.stuck = stuck


class _Redo(Exception):
    """The batch was refused: roll its transaction back and write it one request at a time.

    Raised out of :meth:`Database.connect`, so the transaction is rolled back whole;
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


class Writer:
    """The writing half of the contract, over one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.name = db.name

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        obj = self.db.object(external_object)
        if not requests:
            return []
        results: list[WriteResult | None] = [None] * len(requests)
        now = datetime.now(UTC)
        stamp = self.db.ts_param(obj, now)
        born = self.db.time_for(obj.created_col, now) if obj.created_col is not None else None
        planned: list[_Planned] = []
        for index, request in enumerate(requests):
            try:
                planned.append(self._plan(obj, index, request, stamp, born))
            except RequestError as exc:
                results[index] = self.db.failed(request.external_id, exc)
        if not planned:
            return [r for r in results if r is not None]
        batch, alone = _split_repeats(planned)
        try:
            with self.db.connect() as conn:
                # The batch is this transaction's first work: on _Redo nothing else is lost.
                if batch:
                    for index, result in self._write_batch_or_redo(conn, obj, batch).items():
                        results[index] = result
                for item in alone:
                    results[item.index] = self._write_alone(conn, obj, item)
        except _Redo:
            # Some row was refused: a fresh transaction, one SAVEPOINT per request, so that
            # row fails alone and the others are written.
            with self.db.connect() as conn:
                for item in planned:
                    results[item.index] = self._write_alone(conn, obj, item)
                refused = [
                    item
                    for item in planned
                    if item.target is not None and not _ok(results[item.index])
                ]
                for index, result in self._land_swaps(conn, obj, refused).items():
                    results[index] = result
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        obj = self.db.object(external_object)
        if not ids:
            return []
        params = [p for p in (self.db.id_param(obj, raw) for raw in ids) if p is not None]
        deleted = [WriteResult(WriteOutcome.DELETED, external_id=raw) for raw in ids]
        if not params:
            return deleted
        try:
            with self.db.connect() as conn:
                # The chunks are this transaction's only work: on _Redo nothing else is lost.
                self._delete_batch_or_redo(conn, obj, params)
            return deleted
        except _Redo:
            pass
        # Some row was refused: a fresh transaction, one SAVEPOINT per id.
        with self.db.connect() as conn:
            results: list[WriteResult] = []
            for raw in ids:
                param = self.db.id_param(obj, raw)
                if param is not None:
                    try:
                        with conn.begin_nested():
                            conn.execute(self._delete_stmt(obj, obj.id_col == param))
                    except (DBAPIError, StatementError) as exc:
                        results.append(self.db.failed(raw, self.db.request_error(exc)))
                        continue
                results.append(WriteResult(WriteOutcome.DELETED, external_id=raw))
        return results

    def _plan(
        self, obj: SqlObject, index: int, request: WriteRequest, stamp: Any, born: Any
    ) -> _Planned:
        """The request as bind values, checked before any SQL runs (a bad one fails alone).
        ``born`` goes into the ``created_at`` column of a row a create makes."""
        values = self.db.values(obj, request.fields)
        values[obj.ts_col] = stamp
        key = obj.options.create_key_field
        if request.external_id is None and key is not None:
            values[obj.table.c[key]] = request.key
        if request.external_id is None and obj.created_col is not None:
            values[obj.created_col] = born
        if request.external_id is not None:
            param = self.db.id_param(obj, request.external_id)
            if param is None:
                raise RequestError(f"no {obj.name} record with id {request.external_id!r}")
            return _Planned(index, request, values, target=param)
        match: tuple[Column[Any], Any] | None = None
        if request.match is not None and request.match[1] is not None:
            match_field, match_value = request.match
            column = obj.fields.get(match_field)
            if column is None:
                raise RequestError(self.db.unknown_column(obj, match_field))
            match = (column, self.db.coerce(column, match_value))
        return _Planned(index, request, values, match=match)

    def _write_batch_or_redo(
        self, conn: Connection, obj: SqlObject, batch: Sequence[_Planned]
    ) -> dict[int, WriteResult]:
        """The whole batch in a few statements; _Redo if it was refused or is not exact.

        No SAVEPOINT: part of the batch may be written when this raises, so the caller must
        roll back the whole transaction, which must hold nothing but this batch.
        """
        try:
            return self._write_batch(conn, obj, batch)
        except (_Fallback, RequestError):
            raise _Redo from None
        except (DBAPIError, StatementError) as exc:
            self.db.request_error(exc)  # raises when the connection itself is gone
            raise _Redo from None

    def _write_batch(
        self, conn: Connection, obj: SqlObject, batch: Sequence[_Planned]
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
        targets = [norm(target) for _, target, _ in updates]
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
                error = RequestError(f"no {obj.name} record with id {item.request.external_id!r}")
                results[item.index] = self.db.failed(item.request.external_id, error)
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
        self, conn: Connection, obj: SqlObject, creates: Sequence[_Planned]
    ) -> dict[int, Any]:
        """The id of the live row each create's match value finds, by request index."""
        by_column: dict[Column[Any], list[tuple[Any, Any]]] = {}
        for item in creates:
            assert item.match is not None
            column, param = item.match
            by_column.setdefault(column, []).append((item.index, param))
        found: dict[int, Any] = {}
        for column, asked in by_column.items():
            for index, row in lowest_matches(self.db, conn, obj, column, asked).items():
                found[index] = row[obj.id_col.name]
        return found

    def _update_many(
        self,
        conn: Connection,
        obj: SqlObject,
        items: Sequence[tuple[Any, Mapping[Column[Any], Any]]],
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
        self, conn: Connection, obj: SqlObject, items: Sequence[_Planned]
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
            by_key = {norm(item.values[key]): item.index for item in members}
            if len(rows) != len(members):
                raise _Fallback("RETURNING gave another number of rows than were inserted")
            for new_id, value in rows:
                index = by_key.pop(norm(value), None)
                if index is None or new_id is None:
                    raise _Fallback("a new row cannot be told apart by its values")
                new_ids[index] = new_id
        return new_ids

    def _read_many(
        self, conn: Connection, obj: SqlObject, params: Sequence[Any]
    ) -> Callable[[Any], ExternalRecord | None]:
        """The rows with these ids, read in one SELECT per chunk, as a lookup by id."""
        exact: dict[Any, ExternalRecord] = {}
        loose: dict[str, list[ExternalRecord]] = {}
        id_at = [c.name for c in obj.selected].index(obj.id_col.name)
        for chunk in chunks(list(dict.fromkeys(params)), ID_CHUNK):
            stmt = select(*obj.selected).where(obj.id_col.in_(chunk))
            for row in conn.execute(stmt).all():
                record = obj.read_row(row)
                raw = row[id_at]
                exact[raw] = record
                loose.setdefault(norm(raw), []).append(record)

        def lookup(param: Any) -> ExternalRecord | None:
            if param in exact:
                return exact[param]
            # A case-insensitive collation matched the id under another spelling.
            hits = loose.get(norm(param), [])
            return hits[0] if len(hits) == 1 else None

        return lookup

    def _write_alone(self, conn: Connection, obj: SqlObject, item: _Planned) -> WriteResult:
        try:
            with conn.begin_nested():
                return self._write_one(conn, obj, item)
        except RequestError as exc:
            return self.db.failed(item.request.external_id, exc)
        except (DBAPIError, StatementError) as exc:
            return self.db.failed(item.request.external_id, self.db.request_error(exc))

    def _land_swaps(
        self, conn: Connection, obj: SqlObject, refused: Sequence[_Planned]
    ) -> dict[int, WriteResult]:
        """The refused updates that land once their rows' values are released.

        Two or more updates that take each other's unique values (a swap, or a longer ring)
        are refused one at a time in any order. In one SAVEPOINT, every refused row's nullable
        written fields are set to NULL, then the updates are written until none lands any more. If
        some still cannot (a value a row outside the batch holds), the SAVEPOINT is rolled
        back and the others are tried again without them, so a true duplicate fails alone
        and the swap still lands. Results by request index; what is not there stays refused.
        """
        tried = [item for item in refused if any(c in item.values for c in obj.releasable)]
        while len(tried) >= 2:
            try:
                with conn.begin_nested():
                    return self._released_and_written(conn, obj, tried)
            except _Unswappable as exc:
                tried = [item for item in tried if item.index not in exc.stuck]
        return {}

    def _released_and_written(
        self, conn: Connection, obj: SqlObject, items: Sequence[_Planned]
    ) -> dict[int, WriteResult]:
        """Release, then write ``items`` until none lands; _Unswappable names what did not."""
        for item in items:
            released = {c: None for c in obj.releasable if c in item.values}
            try:
                conn.execute(update(obj.table).where(obj.id_col == item.target).values(released))
            except (DBAPIError, StatementError) as exc:  # a CHECK wants one of them, say
                self.db.request_error(exc)  # raises when the connection itself is gone
                raise _Unswappable({item.index}) from None
        written: dict[int, WriteResult] = {}
        left = list(items)
        while left:
            later = []
            for item in left:
                try:
                    with conn.begin_nested():
                        written[item.index] = self._write_one(conn, obj, item)
                except RequestError:
                    later.append(item)
                except (DBAPIError, StatementError) as exc:
                    self.db.request_error(exc)  # raises when the connection itself is gone
                    later.append(item)
            if len(later) == len(left):
                raise _Unswappable({item.index for item in later})
            left = later
        return written

    def _write_one(self, conn: Connection, obj: SqlObject, item: _Planned) -> WriteResult:
        values = item.values
        if item.target is not None:
            record = self._update(conn, obj, item.target, values)
            if record is None:
                raise RequestError(f"no {obj.name} record with id {item.request.external_id!r}")
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
        record = self.db.read_one(conn, obj, new_id)
        if record is None:
            raise RequestError(f"the inserted {obj.name} row cannot be read back by its id")
        return WriteResult(WriteOutcome.CREATED, external_id=record.id, record=record)

    def _update(
        self, conn: Connection, obj: SqlObject, param: Any, values: Mapping[Column[Any], Any]
    ) -> ExternalRecord | None:
        changed = _kept_on_update(obj, values)
        conn.execute(update(obj.table).where(obj.id_col == param).values(changed))
        return self.db.read_one(conn, obj, values.get(obj.id_col, param))

    def _insert(self, conn: Connection, obj: SqlObject, values: Mapping[Column[Any], Any]) -> Any:
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
        raise RequestError(f"the database reported no id for the new {obj.name} row")

    def _delete_batch_or_redo(
        self, conn: Connection, obj: SqlObject, params: Sequence[Any]
    ) -> None:
        """Every id in one statement per chunk; _Redo if the database refused one of them.

        No SAVEPOINT: an earlier chunk may be deleted when this raises, so the caller must
        roll back the whole transaction, which must hold nothing but these deletes.
        """
        try:
            for chunk in chunks(list(dict.fromkeys(params)), ID_CHUNK):
                conn.execute(self._delete_stmt(obj, obj.id_col.in_(chunk)))
        except (DBAPIError, StatementError) as exc:
            self.db.request_error(exc)  # raises when the connection itself is gone
            raise _Redo from None

    def _delete_stmt(self, obj: SqlObject, which: ColumnElement[bool]) -> Any:
        if obj.deleted_col is None:
            return delete(obj.table).where(which)
        return (
            update(obj.table)
            .where(which)
            .values(
                {
                    obj.deleted_col: self.db.coerce(obj.deleted_col, True),
                    obj.ts_col: self.db.ts_param(obj, datetime.now(UTC)),
                }
            )
        )


def _ok(result: WriteResult | None) -> bool:
    return result is not None and result.ok


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
            key = ("", norm(item.target))
        elif item.match is not None:
            key = (item.match[0].key, norm(item.match[1]))
        else:
            batch.append(item)
            continue
        (later if key in seen else batch).append(item)
        seen.add(key)
    return batch, later


def _correlation(
    obj: SqlObject, columns: Sequence[Column[Any]], members: Sequence[_Planned]
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
            key = norm(value)
            if not key or key in keys:
                break
            keys.add(key)
        else:
            return column
    return None


def _kept_on_update(obj: SqlObject, values: Mapping[Column[Any], Any]) -> dict[Column[Any], Any]:
    """``values`` without the ``created_at`` column: a create that finds its row already
    there (a retry after a lost answer) finishes it, and the row keeps its creation time."""
    return {c: v for c, v in values.items() if c is not obj.created_col}
