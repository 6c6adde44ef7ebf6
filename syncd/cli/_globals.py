"""Global options typed anywhere on the line: ``syncd records get contacts 1 --json``.

Click takes a group's options only before its subcommand, but people type ``--json`` or
``--config FILE`` at the end, as most CLIs allow. Before parsing, the root group moves
``--json``, ``--config`` and ``--db`` that follow the subcommand to the front, unless the
subcommand has an option of that name itself (``syncd check --config``, ``status --json``,
which then keep theirs). Nothing after ``--`` moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from typer.core import TyperGroup, TyperOption

__all__ = ["GLOBAL_FLAGS", "GLOBAL_VALUED", "hoist_global_options"]

GLOBAL_FLAGS = frozenset({"--json"})
GLOBAL_VALUED = frozenset({"--config", "--db"})  # each takes a value


def _option_names(command: Any) -> tuple[set[str], set[str]]:
    """The command's own option names: (all of them, those that take a value)."""
    names: set[str] = set()
    valued: set[str] = set()
    for param in command.params:
        if isinstance(param, TyperOption):
            opts = {*param.opts, *param.secondary_opts}
            names |= opts
            if not param.is_flag and not param.count:
                valued |= set(param.opts)
    return names, valued


def _command_path(group: TyperGroup, ctx: Any, args: Sequence[str]) -> tuple[Any, int]:
    """The command the line runs (None: none) and where the arguments after the top-level
    command's name begin (``records --json get ...`` moves that ``--json`` too)."""
    _own, valued = _option_names(group)
    command: Any = group
    first = 0
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            return None, len(args)
        if token.startswith("-"):
            i += 2 if token in valued | GLOBAL_VALUED else 1
            continue
        if not isinstance(command, TyperGroup):
            break
        sub = command.get_command(ctx, token)
        if sub is None:
            return None, len(args)
        command = sub
        _own, valued = _option_names(command)
        i += 1
        first = first or i
        if not isinstance(command, TyperGroup):
            break
    return (None if command is group else command), first


def hoist_global_options(group: TyperGroup, ctx: Any, args: list[str]) -> list[str]:
    """``args`` with the global options found after the subcommand moved before it."""
    command, start = _command_path(group, ctx, args)
    if command is None:
        return args
    own, valued = _option_names(command)
    moved: list[str] = []
    kept = args[:start]
    i = start
    while i < len(args):
        token = args[i]
        if token == "--":
            kept += args[i:]
            break
        name = token.split("=", 1)[0]
        if name in own:
            width = 2 if token in valued else 1
            kept += args[i : i + width]
            i += width
            continue
        if token in GLOBAL_FLAGS:
            moved.append(token)
            i += 1
        elif name in GLOBAL_VALUED:
            width = 1 if "=" in token else 2
            moved += args[i : i + width]
            i += width
        else:
            kept.append(token)
            i += 1
    return [*moved, *kept]
