"""``syncd run`` (the daemon) and ``syncd reload`` (re-read its YAML without a restart)."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from syncd.cli._context import DEFAULT_CONFIG, get_state
from syncd.cli._output import info
from syncd.errors import UsageError
from syncd.logs import configure_logging

__all__ = ["reload", "run"]

DEFAULT_PID_FILE = Path("syncd.pid")


def run(
    ctx: typer.Context,
    holder: Annotated[
        str | None, typer.Option("--holder", help="This process's name in sync leases.")
    ] = None,
    lease_seconds: Annotated[
        float, typer.Option("--lease-seconds", min=2.0, help="How long a lease outlives silence.")
    ] = 30.0,
    listen: Annotated[
        str | None, typer.Option("--listen", metavar="HOST:PORT", help="Overrides server.listen.")
    ] = None,
    no_http: Annotated[
        bool, typer.Option("--no-http", help="Serve no HTTP (no webhooks).")
    ] = False,
    pid_file: Annotated[Path, typer.Option("--pid-file", help="Where `syncd reload` finds us.")] = (
        DEFAULT_PID_FILE
    ),
) -> None:
    """Run every sync on its schedule, serve webhooks, health and metrics, until stopped."""
    # Imported here: the daemon brings the HTTP server, the API and the console, which no
    # other command needs (``syncd --help`` and the store's commands start without them).
    from syncd.daemon import Daemon, DaemonOptions

    state = get_state(ctx)
    path = state.config or DEFAULT_CONFIG
    if not path.is_file():
        raise UsageError(f"no config file at {path}; give --config PATH")
    options = DaemonOptions(
        lease_seconds=lease_seconds,
        http=not no_http,
        listen=listen,
        configure_logging=configure_logging,  # the server.workers processes log as we do
    )
    if holder:
        options = dataclasses.replace(options, holder=holder)
    daemon = Daemon(path, db_url=state.db, options=options)
    pid_file.write_text(str(os.getpid()))
    try:
        code = daemon.run_forever()
    finally:
        pid_file.unlink(missing_ok=True)
    if daemon.abandoned:
        # A pass stuck in a slow peer's request outlived the stop deadline: exit now rather
        # than let the interpreter wait for its thread (its transaction dies uncommitted).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise typer.Exit(code)


def reload(
    pid_file: Annotated[Path, typer.Option("--pid-file", help="The daemon's pid file.")] = (
        DEFAULT_PID_FILE
    ),
) -> None:
    """Ask the running daemon to re-read its YAML (it keeps the old one if the new is bad)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        raise UsageError(f"no running daemon: cannot read a pid from {pid_file}") from None
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise UsageError(f"no process {pid} (from {pid_file}); is `syncd run` running?") from None
    info(f"asked syncd (pid {pid}) to reload its configuration")
