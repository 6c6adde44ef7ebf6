"""PostgreSQL: a write transaction's statements whose result nobody reads go out without
waiting for the server, so it works on them while Python prepares the next.

A sync page writes its records (their ids come back) and then, one after the other, their
unique values, history, links, log, cursor and journal: statements nothing reads a result
of. Each used to wait for its round trip and the server's work before Python built the next
one's arrays; the server's half of a page's cost and Python's did not overlap.

Inside :func:`overlapped` (the store's write transaction), a statement executed with the
execution option :data:`UNAWAITED` enters psycopg's pipeline mode and is sent at once; the
first statement without it (one whose rows or count are read), and the block's end, wait
for every statement sent, in order, and raise the first error as it would have been raised
by its own statement (wrapped as SQLAlchemy wraps driver errors, so a unique value taken
concurrently is still an ``IntegrityError`` and the write is run again). The transaction's
commit comes after the block, so nothing commits that failed, and nothing is committed that
was not in the transaction before: the statements, their order and the transaction are
unchanged, only the waiting moves. SQLite, and psycopg without pipeline support, run every
statement as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

__all__ = ["UNAWAITED", "listen", "overlapped"]

#: Execution option of a statement whose result (rows, count) nobody reads.
UNAWAITED = "syncd_unawaited"
_STATE = "syncd_pipeline"


class _Pipeline:
    """The driver connection's pipeline while statements are out unawaited."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.block: AbstractContextManager[Any] | None = None

    def enter(self) -> None:
        if self.block is None:
            block = self.driver.pipeline()
            block.__enter__()
            self.block = block

    def wait(self) -> None:
        """Every statement sent has run; raise the first error, as its statement would."""
        block, self.block = self.block, None
        if block is None:
            return
        import psycopg

        try:
            block.__exit__(None, None, None)
        except psycopg.Error as exc:
            raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc

    def drop(self, exc: BaseException) -> None:
        """Leave pipeline mode after an error elsewhere (the transaction rolls back)."""
        block, self.block = self.block, None
        if block is not None:
            try:
                block.__exit__(type(exc), exc, exc.__traceback__)
            except Exception:  # the error already raised is the one to report
                pass


def _supported(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the PostgreSQL driver is psycopg
        return False
    return bool(psycopg.Pipeline.is_supported())


@contextmanager
def overlapped(conn: Connection) -> Iterator[None]:
    """Within the block, :data:`UNAWAITED` statements do not wait (PostgreSQL); its end
    waits for them all."""
    if not _supported(conn):
        yield
        return
    driver = conn.connection.driver_connection
    state = _Pipeline(driver)
    conn.info[_STATE] = state
    try:
        yield
        state.wait()
    except BaseException as exc:
        state.drop(exc)
        raise
    finally:
        conn.info.pop(_STATE, None)


def _before_cursor_execute(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    state: _Pipeline | None = conn.info.get(_STATE)
    if state is None:
        return
    if context is not None and context.execution_options.get(UNAWAITED):
        state.enter()
    else:
        state.wait()  # this one's result is read: everything before it has run


def listen(engine: Engine) -> None:
    """Route statements through the pipeline of an :func:`overlapped` block (once per
    PostgreSQL engine)."""
    event.listen(engine, "before_cursor_execute", _before_cursor_execute)
