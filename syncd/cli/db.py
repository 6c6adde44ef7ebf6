"""``syncd db``: the store's schema. Opening the store migrates it; this makes that explicit."""

from __future__ import annotations

import typer

from store import current_revision, head_revision, make_engine, redact_url
from syncd.cli._context import get_state
from syncd.cli._output import emit_json, info

__all__ = ["app"]

app = typer.Typer(help="The store's database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply pending migrations and the built-in catalogue; print the revision reached."""
    state = get_state(ctx)
    url = state.store_url()
    with state.open_store(url):
        pass  # Store.open migrates: a store that opened is at head
    # The store has no accessor for its revision; read it back as Alembic records it.
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    if state.json:
        emit_json({"database": redact_url(url), "revision": revision, "head": head_revision()})
        return
    marker = " (head)" if revision == head_revision() else f" (head is {head_revision()})"
    info(f"{redact_url(url)}: schema at revision {revision}{marker}")
