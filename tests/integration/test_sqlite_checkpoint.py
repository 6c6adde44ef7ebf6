"""SQLite's WAL is copied into the database file by the engine's own thread, soon after a
write, and the store's close leaves nothing behind in the WAL (``store.db.checkpoint``).

SQLite only: PostgreSQL has no WAL file a user could lose on a power cut or a file copy.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

from store import Store
from tests.conftest import API

_WAIT_S = 10.0  # far above the one-second interval: a loaded machine is slow, not wrong


def _file_alone_has(path: Path, email: str, tmp_path: Path) -> bool:
    """Whether the database file without its WAL (what a power cut may leave) holds it."""
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    try:
        rows = conn.execute(
            "SELECT count(*) FROM records WHERE properties LIKE ?", (f"%{email}%",)
        ).fetchone()
    finally:
        conn.close()
        copy.unlink()
    return bool(rows[0])


def _store(tmp_path: Path, sqlite_template: Path) -> tuple[Store, Path]:
    path = tmp_path / "store.db"
    shutil.copy(sqlite_template, path)
    return Store.open(f"sqlite:///{path}", migrate=False), path


def test_a_write_reaches_the_database_file_soon_without_the_writer_copying_it(
    tmp_path: Path, _sqlite_template: Path
) -> None:
    store, path = _store(tmp_path, _sqlite_template)
    try:
        with store._engine.connect() as conn:  # the writers' own checkpoint is off
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        store.create_record("contacts", {"email": "ann@x.io"}, API)
        deadline = time.monotonic() + _WAIT_S
        while not _file_alone_has(path, "ann@x.io", tmp_path):
            assert time.monotonic() < deadline, "the write never left the WAL"
            time.sleep(0.1)
    finally:
        store.close()


def test_close_stops_the_thread_and_leaves_every_write_in_the_file(
    tmp_path: Path, _sqlite_template: Path
) -> None:
    store, path = _store(tmp_path, _sqlite_template)
    for n in range(20):
        store.create_record("contacts", {"email": f"c{n}@x.io"}, API)
    store.close()

    assert not [t for t in threading.enumerate() if t.name.endswith(str(path))]
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    assert all(_file_alone_has(path, f"c{n}@x.io", tmp_path) for n in (0, 19))
