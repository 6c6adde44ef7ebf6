"""``syncd`` with a fault injected at a named point: the crash tests' daemon entry point.

Started as ``python -m tests.daemon._run_with_faults --config ... run ...`` (the ``syncd``
arguments unchanged). Product code carries no test hooks; this script wraps the functions
that mark the points a crash must survive, then runs the ordinary CLI:

- ``inbound_commit``: ``syncd.engine.inbound._finish_page`` returned, i.e. a page's CRM
  writes, links and cursor are in the transaction, which has not committed yet;
- ``outbound_write``: the connector's ``write`` returned (the external side committed) and
  the outbound batch's own commit has not happened yet;
- ``drain_apply``: a webhook batch was applied inside the drain's transaction, not committed.

``SYNCD_FAULT=point:N[:pause=SECONDS]``: at the N-th call the wrapper writes the file named by
``SYNCD_FAULT_MARKER`` and then sleeps (forever, or ``SECONDS``) so that the test can
SIGKILL or signal the process right there. Logging is set to debug so that every pass's
``sync_started``/``sync_finished`` line (with its run id) is on stderr.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

_calls: dict[str, int] = {}
_lock = threading.Lock()


def _fault() -> tuple[str, int, float | None] | None:
    raw = os.environ.get("SYNCD_FAULT")
    if not raw:
        return None
    parts = raw.split(":")
    pause = None
    if len(parts) > 2 and parts[2].startswith("pause="):
        pause = float(parts[2].removeprefix("pause="))
    return parts[0], int(parts[1]), pause


def _wrap(point: str, original: Callable[..., Any]) -> Callable[..., Any]:
    fault = _fault()

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if fault is None or fault[0] != point:
            return result
        with _lock:
            _calls[point] = _calls.get(point, 0) + 1
            hit = _calls[point] == fault[1]
        if hit:
            Path(os.environ["SYNCD_FAULT_MARKER"]).write_text(f"{point}:{os.getpid()}")
            if fault[2] is None:
                while True:  # the test kills us here
                    time.sleep(3600)
            time.sleep(fault[2])
        return result

    return wrapper


def install() -> None:
    import connectors.registry as registry
    import connectors.sql
    import syncd.cli
    import syncd.engine.events
    import syncd.engine.inbound
    from tests.daemon._hook_connector import TYPE_NAME

    registry.CONNECTOR_TYPES = MappingProxyType(
        {**registry.CONNECTOR_TYPES, TYPE_NAME: "tests.daemon._hook_connector:SqlHookConnector"}
    )
    inbound = syncd.engine.inbound
    inbound._finish_page = _wrap("inbound_commit", inbound._finish_page)
    events: Any = syncd.engine.events
    events.apply_page = _wrap("drain_apply", events.apply_page)
    sql = connectors.sql.SqlConnector
    sql.write = _wrap("outbound_write", sql.write)  # type: ignore[method-assign]
    cli: Any = syncd.cli
    configure = cli.configure_logging

    def debug_logging(**_: Any) -> None:
        configure(json_lines=True, level="debug")

    cli.configure_logging = debug_logging


if __name__ == "__main__":
    install()
    from syncd.cli import main

    main()
