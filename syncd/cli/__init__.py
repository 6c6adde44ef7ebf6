"""The ``syncd`` command line: the store's operations for people and scripts.

Global options go before or after the command (``syncd --db URL --json records get contacts 1``
or ``syncd records get contacts 1 --json``; see ``_globals``).
Exit codes: 0 done, 1 refused (``error: ...`` on stderr) or internal error, 2 bad usage;
see ``_errors`` for the rules and ``_context`` for how the store URL is chosen.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from syncd.cli import db, journal, objects, properties, records, search
from syncd.cli._context import DEFAULT_DB_URL, CliState
from syncd.cli._errors import SyncdGroup, debugging, report_internal_error
from syncd.cli.activities import activities_app, timeline
from syncd.cli.associations import associations_app, labels_app
from syncd.cli.check import check
from syncd.cli.daemon import reload, run
from syncd.cli.demo import demo
from syncd.cli.imports import export, import_, imports_app
from syncd.cli.lists import app as lists_app
from syncd.cli.ops import errors_app, logs, trace
from syncd.cli.status import status
from syncd.cli.sync import conflicts_app, pause, resume, sync
from syncd.cli.tokens import app as tokens_app
from syncd.cli.views import app as views_app
from syncd.logs import configure_logging

__all__ = ["app", "main"]

app = typer.Typer(
    name="syncd",
    cls=SyncdGroup,
    help="syncd: keeps a CRM record store and outside systems in step.",
    no_args_is_help=True,
    add_completion=False,
    # Locals may hold a database URL with its password: never show them.
    pretty_exceptions_show_locals=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="PATH",
            exists=True,
            dir_okay=False,
            help="Config file (default: ./syncd.yaml when it exists).",
        ),
    ] = None,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            envvar="SYNCD_DB",
            show_envvar=True,
            help=f"Store URL; else the config's store.url; else {DEFAULT_DB_URL}.",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout.")
    ] = False,
) -> None:
    """syncd: keeps a CRM record store and outside systems in step."""
    configure_logging()
    ctx.obj = CliState(db=db_url or None, config=config, json=json_output)


app.add_typer(db.app, name="db")
app.add_typer(objects.app, name="objects")
app.add_typer(properties.app, name="properties")
records.app.command("search")(search.search)
app.add_typer(records.app, name="records")
app.add_typer(associations_app, name="associations")
app.add_typer(labels_app, name="labels")
app.command("journal")(journal.journal)
app.add_typer(activities_app, name="activities")
app.command("timeline")(timeline)
app.add_typer(views_app, name="views")
app.add_typer(lists_app, name="lists")
app.command("import")(import_)
app.add_typer(imports_app, name="imports")
app.command("export")(export)
app.command("demo")(demo)
app.command("sync")(sync)
app.command("run")(run)
app.command("reload")(reload)
app.command("pause")(pause)
app.command("resume")(resume)
app.command("logs")(logs)
app.add_typer(errors_app, name="errors")
app.command("trace")(trace)
app.add_typer(conflicts_app, name="conflicts")
app.command("check")(check)
app.command("status")(status)
app.add_typer(tokens_app, name="tokens")


def main() -> None:
    """The console script. Errors inside commands are handled by ``SyncdGroup``; this is
    the last guard for anything raised outside one (while parsing or closing)."""
    try:
        app(prog_name="syncd")
    except SystemExit:
        raise
    except Exception as exc:
        if debugging():
            raise
        report_internal_error(None, exc)
        sys.exit(1)
