"""SQLite's WAL copied into the database file by a thread of its own, not by the writer.

With SQLite's automatic checkpoint the connection whose commit takes the WAL past 1,000
pages copies it into the database file and syncs both files before ``COMMIT`` returns. A
page of 500 synced records writes ~2,300 pages, so every page of a large sync paid for a
checkpoint inside its commit: a fifth of a 50,000-record first sync (14.3 s with it, 11.3 s
without; ``bench/peer_dlt.py``). The store's connections turn the automatic checkpoint off
and each engine's :class:`Checkpointer` runs a ``PASSIVE`` checkpoint (it never blocks a
reader or a writer) on a connection of its own, after a write, at most once a second: the
copying and the two syncs overlap the next page's Python instead of stalling it.

What a checkpoint guarantees does not change. With ``synchronous=NORMAL`` a commit survives
a crash of the process at once and a power cut once a checkpoint has synced the WAL; that
is now at most about a second after a write (before: after 1,000 pages, which a trickle of
small writes took minutes to fill). A process that exits closes its connections and SQLite
checkpoints at the last close, as before; :meth:`Checkpointer.stop` comes first, so the
engine's own last connection is the last one.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import structlog

__all__ = ["INTERVAL_S", "Checkpointer"]

#: At most one checkpoint per this many seconds (a write nudges; the thread waits out the rest).
INTERVAL_S = 1.0
#: A thread nobody nudged for this long ends; the next write starts another.
IDLE_S = 10.0

_log = structlog.get_logger("store.checkpoint")


class Checkpointer:
    """One SQLite file's checkpoints, in a daemon thread started by the first write."""

    def __init__(self, path: str, busy_timeout_ms: int) -> None:
        self._path = path
        self._timeout_s = busy_timeout_ms / 1000
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # also wakes the thread from its wait between checkpoints

    def nudge(self) -> None:
        """A write committed: copy the WAL within about a second."""
        self._wanted.set()
        with self._lock:
            if self._stop.is_set() or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(
                target=self._run, name=f"sqlite-checkpoint:{self._path}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """End the thread after a last checkpoint of what was written (the store closes)."""
        with self._lock:
            self._stop.set()
            thread = self._thread
        self._wanted.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        last = 0.0
        while True:
            if not self._wanted.wait(IDLE_S):
                with self._lock:
                    if not self._wanted.is_set():
                        self._thread = None
                        return
            wait = last + INTERVAL_S - time.monotonic()
            if wait > 0:
                self._stop.wait(wait)  # a close does not wait out the interval
            self._wanted.clear()
            self._checkpoint()
            last = time.monotonic()
            if self._stop.is_set():
                return

    def _checkpoint(self) -> None:
        try:
            conn = sqlite3.connect(self._path, timeout=self._timeout_s, isolation_level=None)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:  # the next write asks again; the data is safe in the WAL
            # Another process's checkpoint running at the same moment is no news.
            busy = "locked" in str(exc) or "busy" in str(exc)
            (_log.debug if busy else _log.warning)(
                "sqlite_checkpoint_failed", path=self._path, error=str(exc)
            )
