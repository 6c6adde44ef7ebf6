"""One ``sql`` connector's database: its engine and connections, its objects resolved
against the live tables, the kind of each failure, and values in the forms it compares.

The URL may carry a password: every message renders it with the password hidden, and any
driver message is scrubbed of it too. A failure of the database as a whole is one of the
connectors' error kinds: refused credentials an ``AuthError`` (the sync pauses), a lost or
refused connection a ``TransientError``. The table of an object is reflected once and cached
until :meth:`Database.close`.

On SQLite, where a "timestamp" is whatever text an application wrote, comparisons go through
``julianday()`` so that ``2024-01-01 10:00:00``, ``2024-01-01T10:00:00Z`` and
``2024-01-01 10:00:00.000000`` compare as the same instant (to the millisecond; ties are
broken by id, so the order stays total). PostgreSQL and MariaDB compare the column itself,
so an index on ``(updated_at, id)`` serves every page.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

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
    create_engine,
    func,
    literal,
    select,
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
)

from connectors.base import (
    AuthError,
    ConnectorError,
    Cursor,
    ExternalRecord,
    TransientError,
    WriteOutcome,
    WriteResult,
)
from connectors.sql import dialect
from connectors.sql.dialect import (
    ONE_STATEMENT,
    READ_ONLY,
    describe,
    is_mysql_boolean,
    refused_credentials,
)
from connectors.sql.options import SqlObjectOptions, SqlOptions
from connectors.sql.values import (
    RequestError,
    SqlObject,
    python_type,
    record,
    resolve,
    short,
    to_bool,
)

__all__ = ["Database"]


class Database:
    """The database of one ``sql`` connector (``name``), opened on first use."""

    def __init__(self, name: str, options: SqlOptions) -> None:
        self.name = name
        self._sql_options = options
        self._engine: Engine | None = None
        self._objects: dict[str, SqlObject] = {}
        self._lock = threading.Lock()
        try:
            parsed: URL | None = make_url(options.url)
        except ArgumentError:
            parsed = None
        self._url = parsed
        self._password = parsed.password if parsed is not None else None
        self._shown_url = (
            parsed.render_as_string(hide_password=True) if parsed is not None else "<bad URL>"
        )

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
            self._objects.clear()
        if engine is not None:
            engine.dispose()

    def resolved(self, name: str) -> bool:
        """Whether object ``name`` was already reflected (and so checked)."""
        return name in self._objects

    def keep(self, name: str, resolved: SqlObject) -> None:
        with self._lock:
            self._objects.setdefault(name, resolved)

    def _make_engine(self) -> Engine:
        url = self._url
        if url is None:
            raise ConnectorError(f"connector {self.name}: the database URL cannot be parsed")
        url, connect_args = dialect.driver_url(url)
        try:
            engine = create_engine(
                url,
                pool_pre_ping=url.get_backend_name() != "sqlite",
                connect_args=connect_args,
            )
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise ConnectorError(
                f"connector {self.name}: cannot use database {self._shown_url}: "
                f"{self.scrub(str(exc))}"
            ) from None
        return dialect.adapt(engine)

    def read_one(self, conn: Connection, obj: SqlObject, param: Any) -> ExternalRecord | None:
        row = conn.execute(select(*obj.selected).where(obj.id_col == param)).first()
        return obj.read_row(row) if row is not None else None

    def failed(self, external_id: str | None, exc: RequestError) -> WriteResult:
        return WriteResult(
            WriteOutcome.FAILED,
            external_id=external_id,
            error=exc.message,
            retriable=exc.retriable,
        )

    def request_error(self, exc: SQLAlchemyError) -> RequestError:
        """One request's database error, unless the connection itself is gone."""
        if isinstance(exc, DBAPIError) and (
            exc.connection_invalidated or isinstance(exc, InterfaceError)
        ):
            raise self.call_error(exc) from None
        # Lock timeouts and deadlocks may pass on a retry; a refused value never will.
        retriable = isinstance(exc, OperationalError)
        return RequestError(self.scrub(describe(exc)), retriable=retriable)

    def coerce(self, column: Column[Any], value: Any) -> Any:
        """A JSON-like value as the column's Python type, so every driver binds it alike.

        The engine's mapping hands over text for numbers, booleans and dates; SQLite's
        DateTime refuses text and PostgreSQL refuses text for an integer, so convert here.
        """
        if value is None:
            return None
        kind = column.type
        try:
            if isinstance(kind, Boolean):
                return to_bool(value)
            if is_mysql_boolean(column):
                return int(to_bool(value))
            if isinstance(kind, DateTime):
                moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
                return self.time_for(column, moment)
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
            raise RequestError(
                f"column {column.name!r} cannot hold {short(value)} ({kind})"
            ) from None
        return value

    def time_for(self, column: Column[Any], moment: datetime) -> Any:
        """``moment`` as the column stores it: aware only where the column keeps a zone."""
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        kind = column.type
        if isinstance(kind, DateTime) and kind.timezone and not self.is_sqlite():
            return aware.astimezone(UTC)
        naive = aware.astimezone(UTC).replace(tzinfo=None)
        if isinstance(kind, DateTime):
            return naive
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f")  # a text column (SQLite)

    def ts_param(self, obj: SqlObject, moment: datetime) -> Any:
        return self.time_for(obj.ts_col, moment)

    def ts_expr(self, obj: SqlObject) -> ColumnElement[Any]:
        if self.is_sqlite():
            return func.julianday(obj.ts_col)
        return obj.ts_col

    def ts_value(self, obj: SqlObject, moment: datetime) -> Any:
        """A cursor instant in the form :meth:`_ts_expr` compares against."""
        if self.is_sqlite():
            text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
            return func.julianday(literal(text, String()))
        return self.ts_param(obj, moment)

    def id_param(self, obj: SqlObject, raw: str) -> Any:
        """An id string as the id column's type; None when no row can have it.

        A number column's id goes as a number: PostgreSQL compares a number with text
        only by refusing (``double precision > character varying``)."""
        kind = python_type(obj.id_col)
        if kind in (int, float, Decimal):
            try:
                return kind(raw)
            except (ValueError, InvalidOperation):
                return None
        return raw

    def parse_cursor(self, obj: SqlObject, cursor: Cursor) -> tuple[datetime, Any]:
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
        param = self.id_param(obj, raw_id)
        if param is None:
            raise ConnectorError(
                f"connector {self.name}: cursor id {raw_id!r} does not fit column "
                f"{obj.id_col.name!r} of {obj.name}"
            )
        return moment, param

    def record(self, obj: SqlObject, row: RowMapping) -> ExternalRecord:
        """A row read by column name (one with more columns than ``obj.selected``)."""
        return record(obj, row)

    def values(self, obj: SqlObject, fields: Mapping[str, Any]) -> dict[Column[Any], Any]:
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
                raise RequestError(self.unknown_column(obj, name))
            values[column] = self.coerce(column, value)
        return values

    def object(self, name: str) -> SqlObject:
        cached = self._objects.get(name)
        if cached is not None:
            return cached
        options = self._sql_options.objects.get(name)
        if options is None:
            raise ConnectorError(self.unknown_object(name), object=name)
        problem, resolved = self.reflect(name, options)
        if resolved is None:
            raise ConnectorError(f"connector {self.name}: {problem}", object=name)
        with self._lock:
            return self._objects.setdefault(name, resolved)

    def reflect(self, name: str, options: SqlObjectOptions) -> tuple[str | None, SqlObject | None]:
        """The object resolved against the live table, or the problem that prevents it."""
        schema = self._sql_options.schema_name
        where = f"{schema}.{options.table}" if schema else options.table
        try:
            with self.connect(read_only=True) as conn, warnings.catch_warnings():
                # An index on an expression (``lower(email)``) is not reflected on SQLite,
                # with a warning; the connector reads no index, so it is nothing to report.
                warnings.filterwarnings(
                    "ignore", "Skipped unsupported reflection of expression-based index"
                )
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
        binary = [c for c in exposed if python_type(columns[c]) is bytes]
        if binary:
            listed = ", ".join(repr(c) for c in binary)
            return (
                f"object {name}: column {listed} of {where!r} holds bytes, which records "
                "cannot carry; leave it out with columns:"
            ), None
        ts_col = columns[options.updated_at]
        if not self.is_sqlite() and not isinstance(ts_col.type, DateTime):
            return (
                f"object {name}: column {options.updated_at!r} of {where!r} is "
                f"{ts_col.type}, not a timestamp"
            ), None
        return None, resolve(name, options, table)

    def get_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = self._make_engine()
            return self._engine

    @contextmanager
    def connect(
        self, *, read_only: bool = False, one_statement: bool = False
    ) -> Iterator[Connection]:
        """One transaction; a failure of the database as a whole becomes a ConnectorError.

        ``read_only``: the transaction only reads, so on SQLite it takes no write lock (the
        source's own application keeps writing while the sync reads a page).
        ``one_statement`` (with ``read_only``): it is a single SELECT, which SQLite runs in a
        transaction of its own, so no ``BEGIN`` is sent there (elsewhere nothing changes)."""
        engine = self.get_engine()
        try:
            with engine.connect() as conn:
                if read_only:
                    conn.execution_options(**{READ_ONLY: True, ONE_STATEMENT: one_statement})
                with conn.begin():
                    yield conn
        except DBAPIError as exc:
            raise self.call_error(exc) from None

    def call_error(self, exc: DBAPIError) -> ConnectorError:
        """The kind of a failure of the database as a whole: refused credentials pause the
        sync, a lost or refused connection is passing, anything else fails the pass."""
        text = f"connector {self.name}: database {self._shown_url}: {self.scrub(describe(exc))}"
        if refused_credentials(exc):
            return AuthError(
                f"{text}; the database refused the credentials: fix the user and password "
                "in url:, then resume the sync"
            )
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return TransientError(text)
        return ConnectorError(text)

    def is_sqlite(self) -> bool:
        return self._url is not None and self._url.get_backend_name() == "sqlite"

    def scrub(self, message: str) -> str:
        if self._password:
            message = message.replace(self._password, "***")
        return message

    def unknown_object(self, name: str) -> str:
        known = ", ".join(sorted(self._sql_options.objects)) or "(none)"
        return f"connector {self.name}: unknown object {name!r}; configured objects: {known}"

    def unknown_column(self, obj: SqlObject, name: str) -> str:
        return f"unknown column {name!r} for {obj.name} (table {obj.options.table!r})"
