"""A read scope: the store calls of one caller (one API request's route) on one connection,
its reads in one transaction until it writes.

An API route reads two or three times before it answers (its object's definitions, the
record it updates) and each read was a transaction of its own on a connection of its own: a
pool checkout (a ping on PostgreSQL), ``BEGIN``, the catalogue version, the query,
``COMMIT``; and a write took yet another connection. In a scope they share one connection,
and the reads one transaction, so the route pays that once. A write ends the reads'
transaction first and runs in its own transaction on the same connection (``BEGIN
IMMEDIATE`` on SQLite), so a read after it, a new transaction, sees it; the reads a write
makes itself (nested) do not touch the scope's connection.

What a scope changes for its reads: they see one snapshot (SQLite) as the first of them did,
earlier in the same route; on PostgreSQL (read committed) each statement still sees what
committed before it. A scope lives in one thread and holds one connection per engine, as a
route did before, so it cannot starve the pool.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

__all__ = ["ReadSession", "current_session", "read_scope"]

_SCOPE: contextvars.ContextVar[dict[Engine, ReadSession] | None] = contextvars.ContextVar(
    "syncd_store_read_scope", default=None
)


@dataclass
class ReadSession:
    """One scope's connection to one engine."""

    engine: Engine
    writing: bool = False  # a write runs on the connection: nested reads keep off it
    _connection: Connection | None = field(default=None, repr=False)

    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self.engine.connect()
        return self._connection

    def end_transaction(self) -> None:
        """Before a write: what the scope read so far is done with."""
        if self._connection is not None and self._connection.in_transaction():
            try:
                self._connection.rollback()
            except Exception:
                self.release()
                raise

    def failed(self) -> None:
        """A read raised: its transaction (aborted on PostgreSQL) is not read from again."""
        try:
            self.end_transaction()
        except Exception:
            pass

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    @property
    def holds_connection(self) -> bool:
        return self._connection is not None


@contextmanager
def read_scope() -> Iterator[None]:
    """Store calls made inside share one connection per database, reads one transaction
    until a write; the connections go back to the pool at the end (in this thread)."""
    if _SCOPE.get() is not None:
        yield
        return
    sessions: dict[Engine, ReadSession] = {}
    token = _SCOPE.set(sessions)
    try:
        yield
    finally:
        _SCOPE.reset(token)
        for session in sessions.values():
            session.release()


def current_session(engine: Engine) -> ReadSession | None:
    """The scope's session for ``engine``, made on first use; None outside a scope."""
    sessions = _SCOPE.get()
    if sessions is None:
        return None
    found = sessions.get(engine)
    if found is None:
        found = sessions[engine] = ReadSession(engine)
    return found
