"""What the syncs gave up on, grouped by cause: ``syncd errors`` and the console's errors page.

Inbound: external records the CRM refused (not yet asked to retry). Outbound: CRM records
parked in the outbox after their retries ran out. Grouped by sync, direction and cause
(``syncd.causes``): messages name their record, so grouping by the raw text made one group
per record; each group keeps its records so one of them, or all, can be retried.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from store import Store
from syncd.causes import cause_of

__all__ = ["ErrorGroup", "ParkedRecord", "parked_groups", "retry_group"]


@dataclass(frozen=True)
class ParkedRecord:
    """One record given up on: ``crm_id`` for an outbound one, ``external_id`` inbound."""

    sync: str
    direction: str
    message: str
    crm_id: int | None = None
    external_id: str | None = None

    @property
    def label(self) -> str:
        return f"crm {self.crm_id}" if self.crm_id is not None else f"external {self.external_id}"


@dataclass(frozen=True)
class ErrorGroup:
    """Records of one sync and direction that failed for the same cause."""

    sync: str
    direction: str
    cause: str
    records: list[ParkedRecord] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def example(self) -> ParkedRecord:
        return self.records[0]


def parked_groups(store: Store, sync: str | None = None) -> list[ErrorGroup]:
    """Every parked record of ``sync`` (or of all syncs) by cause, largest group first."""
    parked = store.outbox(sync, parked=True)
    refused = [e for e in store.inbound_errors(sync) if not e.retry_requested]
    groups: dict[tuple[str, str, str], list[ParkedRecord]] = defaultdict(list)
    for entry in parked:
        message = entry.last_error or "(no message)"
        groups[(entry.sync, "outbound", cause_of(message))].append(
            ParkedRecord(entry.sync, "outbound", message, crm_id=entry.crm_id)
        )
    for failure in refused:
        groups[(failure.sync, "inbound", cause_of(failure.error))].append(
            ParkedRecord(failure.sync, "inbound", failure.error, external_id=failure.external_id)
        )
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [ErrorGroup(key[0], key[1], key[2], found) for key, found in ordered]


def retry_group(store: Store, group: ErrorGroup) -> int:
    """Make every record of ``group`` due again; how many were."""
    count = 0
    for record in group.records:
        if record.crm_id is not None:
            count += store.retry_parked(record.sync, crm_id=record.crm_id)
        else:
            count += store.retry_parked(record.sync, external_id=record.external_id)
    return count
