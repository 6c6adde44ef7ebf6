"""Exit codes and error lines: what a refused, a mistyped and a broken command look like.

- 0: done.
- 1: refused (any ``SyncdError``): ``error: <message>``, one line per problem, on stderr.
- 1: a bug (any other exception): ``internal error: <type>: <msg> (set SYNCD_DEBUG=1 ...)``.
- 2: bad usage, reported by click (unknown option, ``--set`` without ``=``, a non-int id).

No traceback is ever printed unless ``SYNCD_DEBUG=1``; no database password ever is.
The handler sits in the root group's ``invoke``, which runs every subcommand, so the
console script and ``CliRunner`` behave the same.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup

from syncd.cli._context import CliState
from syncd.cli._globals import hoist_global_options
from syncd.cli._output import error_line
from syncd.errors import SyncdError

__all__ = ["DEBUG_ENV", "SyncdGroup", "debugging", "report_internal_error"]

DEBUG_ENV = "SYNCD_DEBUG"


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV) == "1"


def _redact(ctx: typer.Context | None, text: str) -> str:
    state = ctx.find_object(CliState) if ctx is not None else None
    return state.redact(text) if state is not None else text


def report_refusal(ctx: typer.Context | None, exc: SyncdError) -> None:
    """``error: ...``; a message listing several problems gives one line for each."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if exc.data.get("problems") is None:
        lines = [" ".join(lines)]  # a stray newline from a driver must not split the line
    for line in lines or [type(exc).__name__]:
        error_line(_redact(ctx, line))


def report_internal_error(ctx: typer.Context | None, exc: BaseException) -> None:
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    typer.echo(
        _redact(
            ctx,
            f"internal error: {type(exc).__name__}: {first} (set {DEBUG_ENV}=1 for the traceback)",
        ),
        err=True,
    )


class SyncdGroup(TyperGroup):
    """The root command group: runs a subcommand and turns what it raises into an exit code;
    takes the global options wherever they are typed (``_globals``)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if ctx.parent is None:  # the root only: it owns --json, --config and --db
            args = hoist_global_options(self, ctx, list(args))
        return list(super().parse_args(ctx, args))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort, BrokenPipeError):
            raise  # click's own usage errors (exit 2), exits and aborts
        except SyncdError as exc:
            report_refusal(ctx, exc)
            raise typer.Exit(1) from None
        except Exception as exc:
            if debugging():
                raise
            report_internal_error(ctx, exc)
            raise typer.Exit(1) from None
