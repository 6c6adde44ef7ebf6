"""How the CLI speaks: rich tables for people, JSON for programs, one line per error.

Everything a person reads goes through ``table`` (cells are ``Text``, never markup, so a
value such as ``[red]`` prints as itself). Everything a program reads goes through
``emit_json``: plain ``json.dumps`` with stable camelCase keys, no colour, no wrapping.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = [
    "emit_json",
    "error_line",
    "info",
    "print_table",
    "shorten",
    "stdout_console",
    "warn",
]

# Wide enough that a piped table does not wrap values mid-word; a terminal uses its own width.
_PIPED_WIDTH = 160


def stdout_console() -> Console:
    """A console on the current stdout (looked up per call: tests swap ``sys.stdout``)."""
    tty = sys.stdout.isatty()
    width = None if tty or os.environ.get("COLUMNS") else _PIPED_WIDTH
    return Console(file=sys.stdout, highlight=False, width=width, soft_wrap=False)


def _cell(value: object) -> Text:
    if value is None:
        return Text("")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, datetime):
        return Text(value.strftime("%Y-%m-%d %H:%M:%S"))
    return Text(str(value))


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None
) -> None:
    """A rich table on stdout; an empty one says so instead of printing bare headers."""
    table = Table(*columns, title=title, title_justify="left", show_lines=False)
    count = 0
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
        count += 1
    console = stdout_console()
    if count == 0:
        console.print(Text(f"{title}: none" if title else "none"))
        return
    console.print(table)


def _json_default(value: object) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if not isinstance(value, tuple) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def emit_json(value: object) -> None:
    """One JSON document on stdout (indented: people read it too, ``jq`` does not mind)."""
    typer.echo(json.dumps(value, indent=2, default=_json_default, ensure_ascii=False))


def info(message: str) -> None:
    """A plain line for people on stdout (not used in --json mode)."""
    typer.echo(message)


def warn(message: str) -> None:
    """A warning on stderr: the command still succeeded, but someone should look."""
    typer.echo(f"warning: {message}", err=True)


def error_line(message: str) -> None:
    typer.echo(f"error: {message}", err=True)


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for one-line summaries."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
