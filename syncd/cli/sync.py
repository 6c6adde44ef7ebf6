"""``syncd sync NAME`` (one pass now) and ``syncd conflicts`` (what rules settled or hold).

Both read the YAML config (``--config`` or ./syncd.yaml): a sync is defined there, not in
the database. A config with problems is refused with them listed, as ``syncd check`` would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from store import ConflictRecord, LogSpec, Store
from syncd.changes import changes_text
from syncd.cli._context import CLI_SOURCE, DEFAULT_CONFIG, CliState, get_state
from syncd.cli._output import emit_json, info, print_table, shorten, warn
from syncd.errors import ConfigError, UsageError
from syncd.lease import DEFAULT_WAIT_SECONDS, sync_lease

# The config, the engine and the connectors are imported where a command uses them: they cost
# more to import than most commands take to run, and ``syncd --help`` needs none of them.
if TYPE_CHECKING:
    from config import ConfigErrors
    from config.models import Config, SyncConfig
    from connectors.base import Connector
    from syncd.engine import SyncSpec

__all__ = ["changes_text", "conflicts_app", "pause", "resume", "sync"]


class _SecretsUnset(dict[str, str]):
    """The environment, with a stand-in for each connector secret this shell lacks."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        found = os.environ.get(key)
        return found if found is not None else f"unset-{key}"


def _only_connector_secrets_unset(exc: ConfigErrors) -> bool:
    return bool(exc.problems) and all(
        p.key.startswith("connectors.") and "environment variable" in p.message
        for p in exc.problems
    )


def _config(state: CliState, *, secrets_needed: bool = True) -> Config:
    """The configuration; ``secrets_needed=False`` for commands that only read the store
    (``syncd status``): an operator in a shell without the connectors' secrets still sees
    the syncs' state, since nothing is sent to a connector."""
    from config import ConfigErrors, load_config

    path = state.config or DEFAULT_CONFIG
    if not path.is_file():
        raise UsageError(f"no config file at {path}; give --config PATH")
    try:
        return load_config(path)
    except ConfigErrors as exc:
        if not secrets_needed and _only_connector_secrets_unset(exc):
            try:
                return load_config(path, env=_SecretsUnset())
            except ConfigErrors:
                pass
        first = exc.problems[0] if exc.problems else None
        more = (
            f" (and {len(exc.problems) - 1} more; run `syncd check`)"
            if len(exc.problems) > 1
            else ""
        )
        raise ConfigError(f"{first}{more}") from None


def configured_sync(config: Config, name: str) -> SyncConfig:
    """The sync ``name`` of ``config``, or the usage error that lists the ones there are."""
    found = config.syncs.get(name)
    if found is None:
        known = ", ".join(sorted(config.syncs)) or "(none)"
        raise UsageError(f"no sync named {name!r} in the config; syncs: {known}")
    return found


@contextmanager
def _sync_parts(
    state: CliState, name: str, *, lease_wait: float | None = None
) -> Iterator[tuple[SyncSpec, Connector, Store]]:
    """The sync's spec, connector and store; with ``lease_wait``, the store is a view that
    holds the sync's lease (waiting that long for another pass to end, see ``syncd.lease``)."""
    from syncd.engine import build_connector, build_spec

    config = _config(state)
    sync_config = configured_sync(config, name)
    spec = build_spec(config, sync_config)
    connector = build_connector(config, sync_config.connector)
    url = state.db or config.store_url
    try:
        with state.open_store(url) as store:
            if lease_wait is None:
                yield spec, connector, store
            else:
                with sync_lease(store, url, spec.name, wait=lease_wait, notify=warn) as leased:
                    yield spec, connector, leased
    finally:
        connector.close()


_WAIT_HELP = (
    "When another process (the daemon) is running this sync: wait this many seconds for its"
    " pass to end, then refuse."
)


def sync(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The sync's name in the config.")],
    full: Annotated[
        bool, typer.Option("--full", help="Re-read both sides from the start.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and plan only; write nothing anywhere.")
    ] = False,
    allow_deletes: Annotated[
        bool,
        typer.Option("--allow-deletes", help="Confirm the deletes the mass-delete brake stopped."),
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", min=0.0, metavar="SECONDS", help=_WAIT_HELP)
    ] = DEFAULT_WAIT_SECONDS,
) -> None:
    """Run one pass of a sync now and print what it did.

    The pass holds the sync's lease: it never runs beside the daemon's (or another
    command's) pass of the same sync, but waits for it up to --wait seconds, then refuses.
    A --dry-run writes nothing and takes no lease.
    """
    from syncd.engine import SyncPaused, run_sync
    from syncd.engine.reconcile import reconcile_deletes

    state = get_state(ctx)
    lease_wait = None if dry_run else wait
    with _sync_parts(state, name, lease_wait=lease_wait) as (spec, connector, store):
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), transient=True, disable=state.json
        ) as bar:
            task = bar.add_task(f"{name}: reading", total=None)
            done = {"inbound": 0, "outbound": 0}

            def progress(direction: str, count: int) -> None:
                done[direction] += count
                bar.update(
                    task,
                    description=f"{name}: {done['inbound']} read, {done['outbound']} pushed",
                )

            try:
                summary = run_sync(
                    spec,
                    connector,
                    store,
                    full=full,
                    dry_run=dry_run,
                    allow_deletes=allow_deletes,
                    progress=progress,
                )
                if full and not dry_run and not summary.paused_reason:
                    # A full pass also finds deletes a change feed cannot show (a plain table).
                    bar.update(task, description=f"{name}: reconciling deletes")
                    removed = reconcile_deletes(spec, connector, store, allow_deletes=allow_deletes)
                    summary.counts.update(removed.counts)
                    summary.paused_reason = removed.paused_reason
            except SyncPaused as paused:
                raise UsageError(
                    f"{paused}; `syncd resume {name}` resumes it (after a mass-delete stop,"
                    f" `syncd sync {name} --allow-deletes` confirms the deletes)"
                ) from None
    if state.json:
        planned = [_planned_json(p) for p in summary.planned] if dry_run else None
        emit_json(
            {"sync": name, "dry_run": dry_run, **summary.as_dict()}
            | ({"planned": planned} if dry_run else {})
        )
    else:
        if dry_run and summary.planned:
            print_table(
                ["direction", "action", "crm id", "external id", "changes", "note"],
                (
                    (
                        p.direction.value,
                        p.action.value,
                        p.crm_id or "-",
                        p.external_id or "-",
                        shorten(changes_text(p.changes), 80),
                        shorten(p.message or "", 60),
                    )
                    for p in summary.planned
                ),
                title=f"{name}: what a pass would do",
            )
        prefix = "dry run, nothing written: " if dry_run else ""
        info(f"{name}: {prefix}{summary.line()}")
    if summary.paused_reason:
        info(f"paused: {summary.paused_reason}")
        raise typer.Exit(1)


def pause(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The sync's name in the config.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the others.")] = "",
) -> None:
    """Stop a sync from running until it is resumed."""
    state = get_state(ctx)
    with _sync_parts(state, name) as (spec, _connector, store):
        store.set_sync_paused(
            spec.name, True, f"paused by an operator{': ' + reason if reason else ''}"
        )
    info(f"{name}: paused")


def resume(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The sync's name in the config.")],
) -> None:
    """Let a paused sync run again (after fixing what paused it)."""
    state = get_state(ctx)
    with _sync_parts(state, name) as (spec, _connector, store):
        was = store.sync_state(spec.name)
        store.set_sync_paused(spec.name, False, None)
    info(f"{name}: resumed" + ("" if was.paused else " (it was not paused)"))


def _planned_json(planned: LogSpec) -> dict[str, object]:
    return {
        "direction": planned.direction.value,
        "action": planned.action.value,
        "crm_id": planned.crm_id,
        "external_id": planned.external_id,
        "changes": planned.changes,
        "message": planned.message,
    }


conflicts_app = typer.Typer(
    help="Conflicts: fields changed on both sides, settled or held.", no_args_is_help=True
)


def _conflict_row(c: ConflictRecord) -> tuple[object, ...]:
    state = "open" if c.open else ("resolved" if c.resolved_at else "settled")
    return (
        c.id,
        c.sync,
        f"{c.crm_object}/{c.crm_id}",
        c.external_id,
        c.field,
        c.rule,
        state,
        shorten(str(c.crm_value), 24),
        shorten(str(c.external_value), 24),
        c.winner or "-",
    )


@conflicts_app.command("list")
def conflicts_list(
    ctx: typer.Context,
    sync_name: Annotated[str | None, typer.Option("--sync", help="Only this sync.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only held (manual) ones.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
) -> None:
    """Conflicts, newest first: both values, the rule and who won."""
    state = get_state(ctx)
    with state.open_store() as store:
        found = store.list_conflicts(sync=sync_name, open_only=open_only, limit=limit)
    if state.json:
        emit_json([asdict(c) for c in found])
        return
    print_table(
        [
            "id",
            "sync",
            "record",
            "external",
            "field",
            "rule",
            "state",
            "crm",
            "external value",
            "winner",
        ],
        (_conflict_row(c) for c in found),
        title="conflicts",
    )


@conflicts_app.command("show")
def conflicts_show(ctx: typer.Context, conflict_id: Annotated[int, typer.Argument()]) -> None:
    """One conflict with its base, both values, the loser and why."""
    state = get_state(ctx)
    with state.open_store() as store:
        found = store.get_conflict(conflict_id)
    if state.json:
        emit_json(asdict(found))
        return
    for key, value in asdict(found).items():
        info(f"{key:>18}: {value}")


@conflicts_app.command("resolve")
def conflicts_resolve(
    ctx: typer.Context,
    conflict_id: Annotated[int, typer.Argument()],
    take: Annotated[
        str | None, typer.Option("--take", help="crm or external: whose value both sides keep.")
    ] = None,
    value: Annotated[str | None, typer.Option("--value", help="A value of your own.")] = None,
    wait: Annotated[
        float, typer.Option("--wait", min=0.0, metavar="SECONDS", help=_WAIT_HELP)
    ] = DEFAULT_WAIT_SECONDS,
) -> None:
    """Decide a conflict; the next pass carries the value to the other side.

    The decision writes the record and its link's base under the sync's lease, so it never
    lands in the middle of a pass of that sync (it waits up to --wait seconds for one).
    """
    from syncd.engine.conflicts import resolve_conflict

    if take not in (None, "crm", "external"):
        raise UsageError("--take must be crm or external")
    state = get_state(ctx)
    with state.open_store() as peek:
        sync_name = peek.get_conflict(conflict_id).sync
    side: Literal["crm", "external"] | None = take  # type: ignore[assignment]
    with _sync_parts(state, sync_name, lease_wait=wait) as (spec, _connector, store):
        resolved = resolve_conflict(
            store, spec, conflict_id, take=side, value=value, source=CLI_SOURCE
        )
    if state.json:
        emit_json(asdict(resolved))
        return
    info(f"conflict {conflict_id} resolved: {resolved.field} = {resolved.resolved_value!r}")
