"""``syncd journal``: the ordered log of every committed write, as the sync engine reads it."""

from __future__ import annotations

from typing import Annotated

import typer

from store import JournalEntry
from syncd.cli._context import get_state
from syncd.cli._output import emit_json, print_table, shorten
from syncd.cli._shapes import change_summary, journal_json, source_text

__all__ = ["journal", "print_journal"]


def print_journal(entries: list[JournalEntry], *, title: str = "journal") -> None:
    print_table(
        ["seq", "time", "object", "record", "op", "source", "changes"],
        (
            (
                e.seq,
                e.written_at,
                e.object,
                e.record_id,
                e.op,
                source_text(e.source_type, e.source_id),
                shorten(change_summary(e), 70),
            )
            for e in entries
        ),
        title=title,
    )


def journal(
    ctx: typer.Context,
    after: Annotated[
        int, typer.Option("--after", min=0, help="Only entries with a seq above this one.")
    ] = 0,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="At most this many entries.")
    ] = 100,
) -> None:
    """Journal entries in commit order: seq, time, object, record, op, source, changes."""
    state = get_state(ctx)
    with state.open_store() as store:
        entries = store.read_journal(after=after, limit=limit)
    if state.json:
        emit_json([journal_json(e) for e in entries])
        return
    print_journal(entries)
    if len(entries) == limit:
        typer.echo(f"more: syncd journal --after {entries[-1].seq}", err=True)
