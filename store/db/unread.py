"""PostgreSQL: a write's statements whose results it never reads, sent without waiting.

A page of a sync writes its records' unique values, history, links, log rows and journal in
statements whose results nobody reads. Each used to wait for the server before Python built
the next one, so the server and Python took turns: on a first sync each was idle about half
the time. These statements go out in psycopg's pipeline mode instead: the server executes
them while Python goes on, and the connection leaves pipeline mode (waiting for them) just
before it is next used for anything else: any other statement, the end of the write, commit
or rollback (:func:`install`'s hooks, and :func:`settle` where a write ends).

What this does not change: every statement still runs in the write's transaction, in the
order it was sent, and a refusal (another writer took a unique value meanwhile) is raised,
as SQLAlchemy's error for it, before the write commits, inside the write, which retries as it
always did. It is raised at the next statement rather than at its own. SQLite has no such
mode and waits for each statement as before.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

__all__ = ["install", "send", "settle", "unwatch", "watch"]

# Key, in the DBAPI connection's ``info``, of the open pipeline: (exit stack, the pipeline,
# the statements sent with their cursors, closed once settled; a refusal's error names the
# first sent).
_OPEN = "syncd_unread_pipeline"
# Engines whose connections settle before any other use (``install``).
_INSTALLED: weakref.WeakSet[Engine] = weakref.WeakSet()
# What ``watch`` registered: SQLAlchemy's statement events do not see these statements.
_WATCHERS: weakref.WeakKeyDictionary[Engine, list[Callable[[str], None]]] = (
    weakref.WeakKeyDictionary()
)


def watch(engine: Engine, callback: Callable[[str], None]) -> None:
    """Call ``callback(statement)`` for each statement sent unread on ``engine`` (statement
    counters: SQLAlchemy's ``before_cursor_execute`` sees only the others)."""
    _WATCHERS.setdefault(engine, []).append(callback)


def unwatch(engine: Engine, callback: Callable[[str], None]) -> None:
    """Stop what :func:`watch` started."""
    _WATCHERS.get(engine, []).remove(callback)


def send(conn: Connection, statement: str, params: Sequence[Any]) -> None:
    """Run ``statement`` in ``conn``'s transaction without waiting for its result.

    PostgreSQL only (psycopg placeholders); the caller reads nothing back from it.
    """
    if conn.engine not in _INSTALLED:
        install(conn.engine)  # an engine not made by make_engine (a test's plain one)
    for callback in _WATCHERS.get(conn.engine, ()):
        callback(statement)
    info = conn.connection.info
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    opened = info.get(_OPEN)
    if opened is None:
        stack = ExitStack()
        pipeline = stack.enter_context(raw.pipeline())
        sent: list[tuple[str, Any]] = []
        opened = info[_OPEN] = (stack, pipeline, sent)
    _stack, pipeline, sent = opened
    cursor = raw.cursor()
    sent.append((statement, cursor))
    try:
        # Sends, and takes in whatever results have come back: an earlier statement's
        # refusal may be raised here.
        cursor.execute(statement, params)
        _sync_behind(raw, pipeline)
    except psycopg.Error as exc:
        _abandon(info)
        raise DBAPIError.instance(statement, None, _cause(exc), psycopg.Error) from None


def _sync_behind(raw: psycopg.Connection[Any], pipeline: psycopg.Pipeline) -> None:
    """Send a Sync after the statement, without waiting for either.

    Until a Sync, the server counts the session *active* however long the client is silent:
    a process frozen (SIGSTOP, a VM stall) with statements out would hold the sync's lease
    row locked for good, past ``idle_in_transaction_session_timeout`` (``store.sync.leases``).
    Once the server has run the statement and this Sync, the session is idle in its
    transaction and that timeout ends it. psycopg has no public way to send a Sync and not
    wait (``Pipeline.sync`` waits): this queues one as its own ``sync`` does and only sends.
    """
    pipeline._enqueue_sync()
    raw.wait(pipeline._communicate_gen())


def settle(conn: Connection) -> None:
    """Wait for every statement :func:`send` sent on ``conn``; raise the first refusal."""
    _settle(conn.connection.info)


def _settle(info: dict[Any, Any]) -> None:
    opened = info.pop(_OPEN, None)
    if opened is None:
        return
    stack, _pipeline, sent = opened
    try:
        stack.close()
    except psycopg.Error as exc:
        statement = sent[0][0] if sent else "(pipelined statements)"
        raise DBAPIError.instance(statement, None, _cause(exc), psycopg.Error) from None
    finally:
        for _statement, cursor in sent:
            cursor.close()


def _cause(exc: psycopg.Error) -> psycopg.Error:
    """The refusal that failed the transaction, not a later statement's report of it.

    Once a statement fails, each one after it fails as "current transaction is aborted"
    (or its segment as aborted). psycopg raises those results when it collects them; when
    it collects the first failure and the later ones in two steps, the later exception
    replaces the first, which survives as its ``__context__``. The first is what the write
    must see (a unique value another writer took is retried; "aborted" is not).
    """
    seen = exc
    while isinstance(seen, _AFTER_FAILURE) and isinstance(seen.__context__, psycopg.Error):
        seen = seen.__context__
    return seen


_AFTER_FAILURE = (psycopg.errors.InFailedSqlTransaction, psycopg.errors.PipelineAborted)


def _abandon(info: dict[Any, Any]) -> None:
    """Leave pipeline mode on a write that is rolling back: its refusals no longer matter."""
    try:
        _settle(info)
    except DBAPIError:
        pass


def install(engine: Engine) -> None:
    """Settle before any other use of a connection, so nothing else runs in pipeline mode."""
    if engine in _INSTALLED:
        return
    _INSTALLED.add(engine)

    def _before_statement_or_commit(conn: Connection, *_args: Any) -> None:
        if _OPEN in conn.connection.info:
            _settle(conn.connection.info)

    event.listen(engine, "before_cursor_execute", _before_statement_or_commit)
    event.listen(engine, "commit", _before_statement_or_commit)

    @event.listens_for(engine, "rollback")
    def _before_rollback(conn: Connection) -> None:
        if _OPEN in conn.connection.info:
            _abandon(conn.connection.info)

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        # Returned to the pool with statements still out (a failure between send and the
        # next statement): leave pipeline mode before the pool's own rollback.
        if connection_record is not None and _OPEN in connection_record.info:
            _abandon(connection_record.info)
