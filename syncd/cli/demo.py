"""``syncd demo``: two-way sync working, start to finish, in a few seconds.

Writes a demo config, seeds the CRM store and a SQLite "web shop" beside it, runs the
daemon in this process and narrates five steps (initial sync, a shop edit, a CRM edit, a new
CRM contact, a conflict) while waiting for each to become true in both databases. The files
stay behind so the commands it suggests at the end work on what the user just watched.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from syncd.changes import changes_text
from syncd.cli._context import get_state
from syncd.cli._output import emit_json, info, print_table, shorten, stdout_console
from syncd.logs import configure_logging

if TYPE_CHECKING:
    from syncd.demo import DemoResult

__all__ = ["demo"]

_STYLES = {"step": "bold cyan", "fact": "green", "note": ""}
_PREFIX = {"step": "\n", "fact": "  ✔ ", "note": "  · "}


def _say(kind: str, text: str) -> None:
    stdout_console().print(Text(_PREFIX.get(kind, "") + text, style=_STYLES.get(kind, "")))


def _show(result: DemoResult, prefix: str) -> None:
    console = stdout_console()
    console.print(Text("\nSync status (what `syncd status` shows)", style="bold cyan"))
    print_table(
        ["sync", "state", "schedule", "last run", "synced in / out (1h)", "conflicts", "parked"],
        (
            (
                s.name,
                s.state,
                s.schedule,
                s.last_run_status or "never",
                f"{s.synced_1h.get('inbound', 0)} / {s.synced_1h.get('outbound', 0)}",
                s.open_conflicts,
                s.parked_errors,
            )
            for s in result.status
        ),
    )
    console.print(Text("\nThe last rows of the sync log (`syncd logs`)", style="bold cyan"))
    print_table(
        ["id", "sync", "direction", "action", "crm id", "external id", "what"],
        (
            (
                e.id,
                e.sync,
                e.direction.value,
                e.action.value,
                e.crm_id or "-",
                e.external_id or "-",
                shorten(changes_text(e.changes) or (e.message or ""), 70),
            )
            for e in result.log
        ),
    )
    conflict = result.conflicts[0] if result.conflicts else None
    console.print(
        Text(
            f"\nDone in {result.seconds:.1f}s: CRM {result.contacts} contacts, shop"
            f" {result.customers} customers; the daemon is stopped.",
            style="bold",
        )
    )
    info(f"Files: {result.files.config}, {result.files.store}, {result.files.shop}")
    info("Try next:")
    info(f"  {prefix} status")
    info(f"  {prefix} logs")
    if conflict is not None:
        info(f"  {prefix} trace contacts {conflict.crm_id}")
    info(f"  {prefix} conflicts list")
    info(f"  {prefix} run            # keep the daemon running; edit either side and watch")
    if result.console_token:
        info(
            f"The console: while `{prefix} run` runs, open {result.console_url} and sign in"
            f" with the demo's write token {result.console_token}"
        )


def demo(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Option(
            "--dir",
            metavar="PATH",
            file_okay=False,
            help="Where the demo's files go (syncd-demo.yaml, syncd.db, demo-shop.db).",
        ),
    ] = Path("."),
    json_output: Annotated[
        bool, typer.Option("--json", help="A machine-readable summary instead of the story.")
    ] = False,
) -> None:
    """Two-way sync between a demo CRM and a SQLite web shop, narrated, in a few seconds.

    The demo always uses its own store in --dir (--db and SYNCD_DB do not apply to it).
    """
    # Imported here: the demo runs the daemon, which no other command needs (``syncd.cli``).
    from syncd.demo import DemoFiles, run_demo

    state = get_state(ctx)
    as_json = state.json or json_output
    # The narration is the output; the daemon's own info lines would bury it.
    configure_logging(level="error")
    scheduler_log = logging.getLogger("apscheduler")
    level = scheduler_log.level
    scheduler_log.setLevel(logging.ERROR)  # "skipped: maximum number of running instances"
    files = DemoFiles(directory.resolve())
    try:
        result = run_demo(files, (lambda _kind, _text: None) if as_json else _say)
    finally:
        scheduler_log.setLevel(level)
    if as_json:
        emit_json(result.as_dict())
        return
    config = files.config
    shown = config.name if config.parent == Path.cwd() else str(config)
    prefix = f"syncd --config {shlex.quote(shown)}"
    if state.db:  # --db or SYNCD_DB would win over the demo config's store in those commands
        prefix += f" --db {shlex.quote(files.store_url)}"
    _show(result, prefix)
