"""``syncd check``: the configuration against itself and the store, every problem at once.

Problems are printed like a compiler's (``file:line:col: key: message``), one per line on
stdout, so an editor or ``grep`` can jump to each; the exit code is 1 when there is any.
Warnings (a risk such as a secret written in plain text instead of ``${VAR}``) are printed
the same way, their message starting ``warning:``, and leave the exit code at 0.
``--connect`` also asks every connector whether it can do its syncs' work (reachable,
credentials accepted, the object there), once the configuration itself is sound.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.cli._context import DEFAULT_CONFIG, get_state
from syncd.cli._output import emit_json, info

if TYPE_CHECKING:
    from config import Config, ConfigProblem
    from connectors.base import Connector

__all__ = ["check"]


def check(
    ctx: typer.Context,
    config_path: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="PATH",
            dir_okay=False,
            help="Config file (default: the global --config, else ./syncd.yaml).",
        ),
    ] = None,
    connect: Annotated[
        bool,
        typer.Option(
            "--connect",
            help="Also contact each connector: reachable, credentials accepted, object there.",
        ),
    ] = False,
) -> None:
    """Validate the YAML config against the store's objects and properties."""
    # Imported here, not at the top: the config's models, checks and connectors cost more to
    # import than most commands take to run (see ``syncd.cli``).
    from config import ConfigErrors, check_config, read_config, sort_problems
    from config.secrets import plain_secret_warnings
    from config.warnings import check_warnings

    state = get_state(ctx)
    path = config_path or state.config or DEFAULT_CONFIG
    try:
        config, problems = read_config(path)
    except ConfigErrors as exc:
        _finish(state.json, exc.problems)
        return
    if not any(p.key == "store" or p.key.startswith("store.") for p in problems):
        with state.open_store(state.db or config.store_url) as store:
            problems = [*problems, *check_config(config, store)]
    secrets = plain_secret_warnings(config._document) if config._document else []
    warnings = sort_problems([*check_warnings(config), *secrets])
    if connect and not problems:
        problems = _connect(config)
    if problems:
        _finish(state.json, sort_problems(problems), warnings)
        return
    if state.json:
        emit_json([_warning(w) for w in warnings])
        return
    for warning in warnings:
        info(str(warning))
    told = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else ""
    checked = ", connections OK" if connect else ""
    info(
        f"config OK: {len(config.syncs)} syncs, {len(config.connectors)} connectors{checked}{told}"
    )


def _connect(config: Config) -> list[ConfigProblem]:
    from config.connect import check_connections
    from syncd.engine import build_connector

    connectors: dict[str, Connector] = {}
    try:
        for sync in config.syncs.values():
            if sync.connector not in connectors:
                connectors[sync.connector] = build_connector(config, sync.connector)
        return check_connections(config, connectors)
    finally:
        for connector in connectors.values():
            connector.close()


def _warning(warning: ConfigProblem) -> dict[str, object]:
    return {**warning.as_dict(), "severity": "warning"}


def _finish(
    as_json: bool, problems: list[ConfigProblem], warnings: Sequence[ConfigProblem] = ()
) -> None:
    if as_json:
        emit_json([p.as_dict() for p in problems] + [_warning(w) for w in warnings])
    else:
        for problem in [*problems, *warnings]:
            info(str(problem))
        info(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}")
    raise typer.Exit(1)
