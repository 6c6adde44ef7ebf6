"""The sync engine's state as the store keeps it: links, cursors, runs, log rows, conflicts.

Frozen values, like ``store.models``: the engine reads and writes them through
``Store.sync_write`` (one transaction with the CRM writes) and the read methods of
``store.sync.part.SyncPart``; it never sees a row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "ConflictRecord",
    "ConflictSpec",
    "Link",
    "LinkWrite",
    "LogAction",
    "LogDirection",
    "LogSpec",
    "SyncLogEntry",
    "SyncRun",
    "SyncState",
]


@dataclass(frozen=True)
class Link:
    """One external record tied to one CRM record by one sync, with their agreed base.

    ``base`` maps CRM property names to the canonical value both sides held at the last
    successful sync; a property never synced is absent (not None, which is an agreed empty).
    """

    sync: str
    external_id: str
    crm_object: str
    crm_id: int
    base: dict[str, str | None]
    external_updated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    #: The external version (a CardDAV ETag) the base was agreed at; None where none is known.
    external_version: str | None = None


@dataclass(frozen=True)
class LinkWrite:
    """Create or replace the link of ``external_id`` (the whole base is replaced)."""

    external_id: str
    crm_id: int
    base: dict[str, str | None]
    external_updated_at: datetime | None = None
    external_version: str | None = None


class LogDirection(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class LogAction(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    CONFLICT = "conflict"
    ERROR = "error"
    DELETED = "deleted"
    ARCHIVED = "archived"
    LINKED = "linked"
    UNLINKED = "unlinked"


@dataclass(frozen=True)
class LogSpec:
    """One sync log row to append: what happened to one record in one direction."""

    direction: LogDirection
    action: LogAction
    crm_id: int | None = None
    external_id: str | None = None
    changes: dict[str, Any] | None = None
    message: str | None = None
    level: str = "info"


@dataclass(frozen=True)
class SyncLogEntry:
    id: int
    sync: str
    run_id: int | None
    at: datetime
    crm_object: str
    crm_id: int | None
    external_id: str | None
    direction: LogDirection
    action: LogAction
    changes: dict[str, Any] | None
    message: str | None
    level: str


@dataclass(frozen=True)
class ConflictSpec:
    """A field changed on both sides to different values (``open`` for ``manual`` ones)."""

    crm_id: int
    external_id: str
    field: str
    rule: str
    base: str | None
    has_base: bool
    crm_value: str | None
    external_value: str | None
    winner: str | None
    loser_value: str | None
    loser_changed_at: datetime | None
    open: bool
    reason: str


@dataclass(frozen=True)
class ConflictRecord:
    id: int
    sync: str
    run_id: int | None
    crm_object: str
    crm_id: int
    external_id: str
    field: str
    rule: str
    base: str | None
    has_base: bool
    crm_value: str | None
    external_value: str | None
    winner: str | None
    loser_value: str | None
    loser_changed_at: datetime | None
    open: bool
    reason: str
    created_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None
    resolved_value: str | None = None


@dataclass(frozen=True)
class SyncState:
    """Where one sync stands: its inbound cursor, outbound journal position, pause."""

    sync: str
    cursor: dict[str, Any] | None = None
    journal_position: int = 0
    paused: bool = False
    paused_reason: str | None = None
    last_run_at: datetime | None = None
    updated_at: datetime | None = None
    fields: list[str] | None = None


@dataclass(frozen=True)
class SyncRun:
    id: int
    sync: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    summary: dict[str, Any] = field(default_factory=dict)
