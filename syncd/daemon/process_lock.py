"""One daemon per SQLite store: an OS file lock beside the database file.

SQLite serialises writers but has no leases across processes worth the name (no row locks,
no ``SKIP LOCKED``), so a second ``syncd run`` on the same file is refused outright with a
message that says why and what to use instead. The lock dies with the process, so a
killed daemon never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from syncd.errors import UsageError

__all__ = ["ProcessLock", "daemon_pid"]


def _lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".daemon.lock")


def daemon_pid(database: Path) -> int | None:
    """The pid of the live ``syncd run`` serving ``database``, if one does.

    Read without taking the lock (a CLI command holding it, even for a moment, would refuse
    a daemon starting then): the pid the daemon wrote, when that process is alive.
    """
    try:
        pid = int(_lock_path(database).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


class ProcessLock:
    """An exclusive, non-blocking ``flock`` on ``<database>.daemon.lock``."""

    def __init__(self, handle: IO[str], path: Path) -> None:
        self._handle = handle
        self.path = path

    @classmethod
    def acquire(cls, database: Path) -> ProcessLock:
        path = _lock_path(database)
        handle = path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UsageError(
                f"another `syncd run` (pid {holder}) already uses {database}; a SQLite store"
                " serves one daemon only — use PostgreSQL to run several"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return cls(handle, path)

    def release(self) -> None:
        if not self._handle.closed:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
