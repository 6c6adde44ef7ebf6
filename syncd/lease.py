"""A pass run outside the daemon's scheduler (``syncd sync``, a conflict resolved or a run
started from the CLI or the console) takes its sync's lease, as the daemon's passes do, so
it never runs beside one.

``syncd sync NAME`` beside ``syncd run`` once pushed the same new records twice (issue 13.6):
the two passes read the same journal and both created outside. Every command that runs a
pass or writes a sync's links (``syncd sync``, ``syncd conflicts resolve``) therefore takes
the sync's lease under a holder name of its own and writes through ``Store.fenced``. When
another process holds it, the command asks for it (the daemon hands it over after the pass
in hand, see ``Store.want_lease``) and waits up to ``--wait`` seconds, saying so on
stderr; after that it refuses with one line and exit code 1, never running beside the other.

A background thread renews the lease while the command works (a long ``--full`` outlives
one lease time); the lease is released at the end, so the daemon takes the sync back at its
next tick. A command killed outright leaves the lease to expire after ``LEASE_SECONDS``.

On SQLite one daemon serves the store and holds a file lock beside it
(``syncd.daemon.process_lock``); the CLI never takes that lock (it would keep the daemon
from starting) but reads it to name the daemon's pid in its message.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from store import Store
from syncd.errors import UsageError

__all__ = ["DEFAULT_WAIT_SECONDS", "LEASE_SECONDS", "cli_holder", "sync_lease"]

#: How long a CLI pass waits for a held sync by default (a daemon pass usually ends sooner).
DEFAULT_WAIT_SECONDS = 60.0
LEASE_SECONDS = 30.0
_POLL_SECONDS = 0.25


def cli_holder() -> str:
    """This command's name in the lease table: ``cli:<host>:<pid>``."""
    return f"cli:{socket.gethostname()}:{os.getpid()}"


def _daemon_note(store: Store, url: str) -> str:
    if store.dialect != "sqlite":
        return ""
    database = make_url(url).database
    if not database or database == ":memory:":
        return ""
    # Imported here: the daemon package imports the HTTP app, whose console uses this module.
    from syncd.daemon.process_lock import daemon_pid

    pid = daemon_pid(Path(database).resolve())
    return f" (`syncd run`, pid {pid})" if pid is not None else ""


@contextmanager
def sync_lease(
    store: Store,
    url: str,
    sync: str,
    *,
    wait: float,
    holder: str | None = None,
    notify: Callable[[str], None] | None = None,
) -> Iterator[Store]:
    """Hold ``sync``'s lease for the block; the store view whose writes prove it.

    ``holder`` names who holds it (the console passes its own); the CLI's by default.
    ``notify`` is told once when the wait begins (the CLI says it on stderr).
    """
    holder = holder or cli_holder()
    ttl = timedelta(seconds=LEASE_SECONDS)
    deadline = time.monotonic() + max(0.0, wait)
    told = False
    fence = store.acquire_lease(sync, holder, ttl)
    while fence is None:
        current = store.want_lease(sync, holder)
        if current is not None and time.monotonic() >= deadline:
            store.unwant_lease(sync, holder)
            until = current.expires_at.astimezone(UTC)
            raise UsageError(
                f"sync {sync} is being run by {current.holder}{_daemon_note(store, url)}"
                f" (lease until {until:%H:%M:%S} UTC); not starting a second pass beside it:"
                f" try again, or give --wait SECONDS to wait longer",
                sync=sync,
                holder=current.holder,
            )
        if current is not None and not told and notify is not None:
            notify(
                f"sync {sync} is being run by {current.holder}{_daemon_note(store, url)};"
                f" waiting up to {wait:g}s for it to finish its pass (--wait)"
            )
            told = True
        time.sleep(_POLL_SECONDS)
        fence = store.acquire_lease(sync, holder, ttl)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(LEASE_SECONDS / 3):
            try:
                store.acquire_lease(sync, holder, ttl)
            except Exception:  # the fenced writes refuse if the lease is really gone
                pass

    renewer = threading.Thread(target=renew, name=f"lease:{sync}", daemon=True)
    renewer.start()
    try:
        yield store.fenced(fence)
    finally:
        stop.set()
        renewer.join(5)
        try:
            store.release_lease(fence)
        except Exception:  # it expires on its own
            pass
