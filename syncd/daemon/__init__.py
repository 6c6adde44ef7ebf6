"""The long-running daemon (``syncd run``): scheduler, HTTP server, workers, leases."""

from __future__ import annotations

from syncd.daemon.daemon import STOP_SECONDS, Daemon, DaemonOptions

__all__ = ["STOP_SECONDS", "Daemon", "DaemonOptions"]
