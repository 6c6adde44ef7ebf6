"""What one run of one sync carries: its spec, connector, store, run id, counts and log.

Counts are kept per direction and action (``inbound.created``) and become the run summary;
``echoes`` counts records that came back holding exactly what we had written, recognised and
dropped, so an operator can see the loop being closed rather than assume it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import structlog

from connectors.base import Connector
from store import LinkWrite, LogSpec, Store
from syncd.engine.spec import SyncSpec

__all__ = ["RunContext", "RunSummary"]

T = TypeVar("T")


@dataclass
class RunSummary:
    """The counts of one run, by ``direction.action``."""

    counts: Counter[str] = field(default_factory=Counter)
    paused_reason: str | None = None
    quota_resume_at: datetime | None = None
    #: In a dry run, the log rows the pass would have written: what it would do, record by record.
    planned: list[LogSpec] = field(default_factory=list)

    def add(self, key: str, amount: int = 1) -> None:
        if amount:
            self.counts[key] += amount

    def get(self, key: str) -> int:
        return self.counts.get(key, 0)

    @property
    def crm_writes(self) -> int:
        return sum(
            self.counts[f"inbound.{a}"]
            for a in ("created", "updated", "deleted", "archived", "associated")
        )

    @property
    def external_writes(self) -> int:
        # ``linked``: a create that found the record by its match key and updated it.
        return sum(
            self.counts[f"outbound.{a}"] for a in ("created", "linked", "updated", "deleted")
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(sorted(self.counts.items()))
        if self.paused_reason:
            out["paused_reason"] = self.paused_reason
        return out

    def line(self) -> str:
        """One line for people: what the run did, echoes included."""
        parts = [f"{key}={value}" for key, value in sorted(self.counts.items()) if value]
        return " ".join(parts) or "nothing to do"


@dataclass
class RunContext:
    spec: SyncSpec
    connector: Connector
    store: Store
    run_id: int | None
    dry_run: bool = False
    summary: RunSummary = field(default_factory=RunSummary)
    log: Any = None
    #: Asked between pages and batches: a daemon that is stopping ends the pass there, with
    #: everything before it committed and nothing half-written.
    should_stop: Callable[[], bool] = field(default=lambda: False)
    #: A dry run's inbound links (by CRM id) and records queued to go out: its transactions
    #: are rolled back, so outbound reads them from here to plan what the real pass would.
    dry_links: dict[int, LinkWrite] = field(default_factory=dict)
    dry_push: set[int] = field(default_factory=set)
    #: What the pass knows of the sync's own queues, so a page need not ask the store. A
    #: sync's pass holds its lease, and only its own passes park inbound records or open
    #: create intents, so "none at the start of the pass, none added by it since" is
    #: exact. Unknown (True) unless the pass looked: a webhook drain or a reconciliation
    #: asks the store as before.
    parked_inbound: bool = True
    open_intents: bool = True
    #: A first pass (no cursor) of a sync that linked nothing when its inbound began knows
    #: every link there is: those its own pages saved (``linked``). A page none of whose
    #: ids is among them has no link to look up. None: not known, look them up.
    linked: set[str] | None = None

    def report(self, entries: list[LogSpec]) -> None:
        """Echo the sync log's warnings and errors to the process log, record ids bound."""
        for entry in entries:
            if entry.level in ("warning", "error"):
                getattr(self.log, entry.level)(
                    f"record_{entry.action.value}",
                    direction=entry.direction.value,
                    record=entry.crm_id,
                    external_id=entry.external_id,
                    reason=entry.message,
                )

    def once(self, work: Callable[[Any], T]) -> Callable[[Any], T]:
        """``work`` for ``Store.sync_write``, which may run it again from the start (a write
        that lost a race for a unique value, or on SQLite took definitions the catalogue has
        moved from): each run starts from the counts and planned rows the first started
        from, so the run's summary counts what committed, once."""
        counts = self.summary.counts.copy()
        planned = len(self.summary.planned)

        def run(tx: Any) -> T:
            self.summary.counts.clear()
            self.summary.counts.update(counts)
            del self.summary.planned[planned:]
            return work(tx)

        return run

    def __post_init__(self) -> None:
        if self.log is None:
            self.log = structlog.get_logger("syncd.engine").bind(
                sync=self.spec.name, run=self.run_id
            )
