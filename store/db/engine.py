"""Database engines set up the way the store needs them, on SQLite and PostgreSQL.

SQLite: WAL (readers never block the writer), a busy timeout, foreign keys on, and write
transactions that begin with ``BEGIN IMMEDIATE``. Python's sqlite3 module otherwise starts a
deferred transaction, which turns into "database is locked" when a read inside it later
wants to write while another connection writes; taking the write lock at the start makes the
second writer wait its turn instead. The writers of one process also queue on a lock of the
engine's (:func:`write_turn`) before they ask SQLite: a writer SQLite turns away sleeps in its
busy handler (1, 2, 5 ... 100 ms, growing) and misses the lock's release, so under a burst of
writes the unlucky ones waited seconds while others, arriving later, went first (the API's
50-client load saw write p99 at 7-10x p50); a thread waiting on the Python lock is woken as
soon as the holder commits. Other processes still meet at SQLite's lock, as before.

Both: every JSON column is written and read by ``store.db.jsoncodec`` (orjson), set here once
for the engine, so no statement has to ask for it. And a pool that keeps every connection it
opens, up to the same 15 as before (``POOL_SIZE``): SQLAlchemy's default kept 5 and closed the
other 10 as they came back, so under the API's load every burst opened them again (on
PostgreSQL a server process each, ~6 a second under the 50-client load).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from store.db import jsoncodec, unread
from store.db.checkpoint import Checkpointer
from store.errors import StoreError

__all__ = ["WRITE", "close_engine", "make_engine", "normalise_url", "redact_url", "write_turn"]

# Execution option: a connection carrying WRITE=True begins with BEGIN IMMEDIATE on SQLite.
WRITE = "syncd_write"
BUSY_TIMEOUT_MS = 30_000
# Connections one engine holds at most, all kept once opened; a thread wanting one more waits
# for one to come back (up to SQLAlchemy's 30 s), as it did past the default's 5 + 10.
POOL_SIZE = 15
# SQLite's page cache per connection, in KiB (a negative cache_size): the pages a write
# touches again (index interiors, the tables' last pages) are read from the file less often.
# SQLite's default is 2 MiB; it grows only as pages are read, up to this.
SQLITE_CACHE_KIB = 16_384

# SQLite engines' writer queues (PostgreSQL locks rows, not the database: none there).
# Re-entrant: a write within a write, on a connection of its own, meets SQLite's lock as
# before (and its busy timeout) instead of waiting on its own thread forever.
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
# SQLite engines' checkpoint threads (``store.db.checkpoint``).
_CHECKPOINTS: weakref.WeakKeyDictionary[Engine, Checkpointer] = weakref.WeakKeyDictionary()


@contextmanager
def write_turn(engine: Engine) -> Iterator[None]:
    """Held around one write transaction: on SQLite the process's writers take turns on a
    lock before ``BEGIN IMMEDIATE``, and once the write is over its WAL pages are copied
    into the database file soon, by a thread of the engine's; elsewhere it does nothing."""
    lock = _WRITERS.get(engine)
    if lock is None:
        yield
        return
    with lock:
        yield
    _CHECKPOINTS[engine].nudge()


def close_engine(engine: Engine) -> None:
    """Close the engine's connections, after its last checkpoint (SQLite)."""
    checkpoints = _CHECKPOINTS.get(engine)
    if checkpoints is not None:
        checkpoints.stop()
    engine.dispose()


def normalise_url(url: str) -> URL:
    """Parse a database URL and pick the driver the store uses for it."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"database URL {url!r} cannot be parsed: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    raise StoreError(
        f"database URL {redact_url(url)!r}: unsupported database {backend!r}; "
        "use sqlite:///FILE or postgresql://USER@HOST/DB"
    )


def redact_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable URL>"
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str, **options: Any) -> Engine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **options)
    # psycopg takes the UTF-8 bytes as they are and hands bytes to the reader.
    engine = create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=0,
        json_serializer=jsoncodec.dumps_bytes,
        json_deserializer=jsoncodec.loads,
        **options,
    )
    unread.install(engine)
    return engine


def _sqlite_engine(url: URL, **options: Any) -> Engine:
    if url.database in (None, "", ":memory:"):
        raise StoreError(
            "an in-memory SQLite database cannot be shared between connections; "
            "give a file: sqlite:///syncd.db"
        )
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=POOL_SIZE,
        max_overflow=0,
        json_serializer=jsoncodec.dumps,
        json_deserializer=jsoncodec.loads,
        **options,
    )
    _WRITERS[engine] = threading.RLock()
    _CHECKPOINTS[engine] = Checkpointer(os.path.abspath(str(url.database)), BUSY_TIMEOUT_MS)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, decide when transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # The engine's checkpoint thread copies the WAL, not the writer's commit.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(WRITE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine
