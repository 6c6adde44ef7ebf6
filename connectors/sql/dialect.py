"""What differs between the databases the ``sql`` connector reads: drivers, transactions,
time zones, booleans, and how each says it refused our credentials.

SQLite needs SQLAlchemy to begin its transactions (or SAVEPOINT does not work) and waits for
a busy file; MySQL/MariaDB read TIMESTAMP columns in the session zone and spell BOOLEAN as
TINYINT(1). A refusal of the user or password is read from the driver's SQLSTATE or error
code, and from libpq's words where psycopg has no SQLSTATE to give (at connect time).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Column, Connection, Engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError

__all__ = [
    "CONNECT_TIMEOUT",
    "adapt",
    "describe",
    "driver_url",
    "is_mysql_boolean",
    "refused_credentials",
]

#: Seconds to wait for a server before calling the database unreachable.
CONNECT_TIMEOUT = 10


def driver_url(url: URL) -> tuple[URL, dict[str, Any]]:
    """The URL with the driver syncd ships for its backend, and the connect arguments."""
    backend = url.get_backend_name()
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    elif url.drivername in ("mysql", "mariadb"):
        url = url.set(drivername=f"{url.drivername}+pymysql")
    connect_args: dict[str, Any] = {}
    if backend in ("postgresql", "mysql", "mariadb") and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    return url, connect_args


def adapt(engine: Engine) -> Engine:
    """The engine with its backend's quirks handled (transactions, session time zone)."""
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        sqlite_savepoints(engine)
    elif backend in ("mysql", "mariadb"):
        mysql_utc(engine)
    return engine


def is_mysql_boolean(column: Column[Any]) -> bool:
    """MySQL and MariaDB spell BOOLEAN as TINYINT(1), and reflect it that way."""
    return type(column.type).__name__ == "TINYINT" and (
        getattr(column.type, "display_width", None) == 1
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


def describe(exc: SQLAlchemyError) -> str:
    """The driver's own message, without the SQL and parameters SQLAlchemy appends."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig)
    elif isinstance(exc, StatementError) and exc.orig is not None:
        text = f"{type(exc.orig).__name__}: {exc.orig}"
    else:
        text = str(exc).split("\n[SQL:", 1)[0]
    text = " ".join(text.split())
    return text[:500]


#: The execution option of a connection that only reads (see ``sqlite_savepoints``).
READ_ONLY = "syncd_read_only"
#: The execution option of a read that is one statement (see ``sqlite_savepoints``).
ONE_STATEMENT = "syncd_one_statement"


def sqlite_savepoints(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions, or SAVEPOINT does not work.

    Transactions begin IMMEDIATE and wait up to 30 s for a busy file: a deferred one that
    upgrades to a write while another writer holds the file fails at once with "database
    is locked" (SQLite's deadlock avoidance), whatever the timeout — two syncs writing one
    SQLite source, or the source's own application writing, would trip it. A connection
    marked ``READ_ONLY`` (``Database.connect(read_only=True)``) never writes, so it begins
    a deferred transaction: an IMMEDIATE one would take the file's write lock for every page
    read and make the source's own application wait behind the sync's reads. One that is
    also ``ONE_STATEMENT`` (``Database.connect(read_only=True, one_statement=True)``) begins
    none: SQLite runs a statement outside a transaction in one of its own, so a ``BEGIN``
    and ``COMMIT`` around a single SELECT are two statements that change nothing.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        reading = options.get(READ_ONLY, False)
        if reading and options.get(ONE_STATEMENT, False):
            return
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def mysql_utc(engine: Engine) -> None:
    """TIMESTAMP columns are read in the session zone; make that UTC like naive values."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET time_zone = '+00:00'")
        cursor.close()
