"""The store facade's part for operators: how each sync stands, and the sync log's retention.

Reads only, except ``purge_sync_log``, which the daemon's retention job runs daily. Both are
sized for being called often or on big tables: the overview is a fixed handful of
statements for any number of syncs, the purge a loop of short transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from store.db.part import FacadePart
from store.errors import StoreError
from store.models import ChangeSource, SourceType
from store.overview import sql as overview_sql
from store.overview.sql import SyncOverview

__all__ = ["OverviewPart"]

_MAX_BATCH = 50_000


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise StoreError(f"{name} must be a timezone-aware datetime (UTC), got {value!r}")
    return value


class OverviewPart(FacadePart):
    """What ``syncd status``, ``/metrics`` and the retention job read and prune."""

    def sync_overview(
        self, syncs: Sequence[str], now: datetime, *, activity: bool = True, hourly: bool = False
    ) -> dict[str, SyncOverview]:
        """Each named sync's state, runs, lease, queues and recent activity, read in one
        transaction so the numbers agree with each other.

        ``activity`` False skips the sync log (counts of the last hour and day): what a
        metrics scrape, which never shows them, asks for. ``hourly`` also counts the day
        hour by hour (``synced_hourly``, the console's chart) in the same read.
        """
        _aware(now, "now")
        names = list(dict.fromkeys(syncs))
        if not names:
            return {}
        found = self._read(
            lambda conn: overview_sql.overview(conn, names, now, activity=activity, hourly=hourly)
        )
        return {name: found[name] for name in names}

    def activity_by_hour(
        self, syncs: Sequence[str], now: datetime, *, hours: int = 24
    ) -> dict[str, dict[str, list[int]]]:
        """Records each sync changed, per direction (``inbound``, ``outbound``) and hour of
        the ``hours`` before ``now``, oldest hour first: the console's chart."""
        _aware(now, "now")
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 168:
            raise StoreError(f"hours must be a whole number from 1 to 168, got {hours!r}")
        names = list(dict.fromkeys(syncs))
        if not names:
            return {}
        return self._read(lambda conn: overview_sql.activity_by_hour(conn, names, now, hours))

    def daemon_beat(self, holder: str, *, pid: int, host: str, stopped: bool = False) -> None:
        """Stamp this daemon's heartbeat (``stopped`` at a clean exit): what `syncd status`
        reads to tell a running daemon from one that stopped or died."""
        self._write(
            ChangeSource(SourceType.INTEGRATION),
            lambda tx: overview_sql.daemon_beat(
                tx.connection, holder, tx.now, pid=pid, host=host, stopped=stopped
            ),
        )

    def daemons_seen(self, limit: int = 20) -> list[overview_sql.DaemonSeen]:
        """The daemons whose heartbeats are newest, newest first."""
        return self._read(lambda conn: overview_sql.daemons_seen(conn, limit))

    def purge_daemons(self, older_than: datetime) -> int:
        """Forget the heartbeat rows of daemons not seen since ``older_than``."""
        _aware(older_than, "older_than")
        return self._write(
            ChangeSource(SourceType.INTEGRATION),
            lambda tx: overview_sql.purge_daemons(tx.connection, older_than),
        )

    def purge_sync_log(self, older_than: datetime, *, batch: int = 5000) -> int:
        """Delete sync log rows written before ``older_than``, then the finished runs that
        ended before it and have no log rows left; returns how many log rows went.

        Open conflicts, the log rows of the run and record each was recorded in, and their
        runs are kept whatever their age: an operator still has to decide them. Each batch
        is its own transaction, so the daemon keeps syncing while a month of rows goes.
        """
        _aware(older_than, "older_than")
        if isinstance(batch, bool) or not isinstance(batch, int) or not 0 < batch <= _MAX_BATCH:
            raise StoreError(f"purge batch must be 1 to {_MAX_BATCH} rows, got {batch!r}")
        source = ChangeSource(SourceType.INTEGRATION)
        removed = 0
        while True:
            done = self._write(
                source, lambda tx: overview_sql.purge_log_batch(tx.connection, older_than, batch)
            )
            removed += done
            if done < batch:
                break
        while (
            self._write(
                source, lambda tx: overview_sql.purge_runs_batch(tx.connection, older_than, batch)
            )
            >= batch
        ):
            pass
        return removed
