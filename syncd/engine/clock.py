"""When did the external side change a record? The time ``most_recent`` compares.

An external record's update time is only as good as the client that wrote it: a CardDAV
client that does not bump ``REV``, a table whose ``updated_at`` no trigger maintains, a
system with no update time at all. When the record's values differ from the base (so it did
change since the last sync) but its update time did not move since then (or is missing),
the change happened some time between the last sync and now: syncd takes the moment it
first sees the change, now, so a stale clock never lets an older CRM edit overwrite a newer
external one. An update time that did move is trusted, even an old one (a row committed late
with its own, earlier, timestamp).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from store import Link

__all__ = ["external_changed_at"]


def external_changed_at(
    updated_at: datetime | None,
    link: Link | None,
    base: Mapping[str, str | None] | None,
    values: Mapping[str, str | None],
    now: datetime,
) -> datetime | None:
    """``updated_at``, unless it cannot be the time of a change made since the last sync.

    ``values`` are the record's mapped values; a field absent from them or from the base
    says nothing. With no link or no base (a first sync) there is no "since": the record's
    own time stands.
    """
    if link is None or not base:
        return updated_at
    changed = any(name in base and base[name] != value for name, value in values.items())
    if not changed:
        return updated_at
    if updated_at is None or updated_at == link.external_updated_at:
        return now
    if link.external_updated_at is None and updated_at <= link.updated_at:
        # The link was last saved by our own write (which keeps no external time): a time
        # not after that save is our write's own, or older, so it did not move since.
        return now
    return updated_at
