"""Structured logs: JSON lines for machines, readable lines for people, always on stderr.

Stdout belongs to a command's output (``--json`` must stay parseable), so log lines never go
there. Off a terminal each line is one JSON object a log shipper can index by ``sync``,
``run`` and ``record``; on a terminal they read as aligned, coloured text.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import structlog

__all__ = ["configure_logging"]


_WRITE_LOCK = threading.Lock()


class _StderrLogger:
    """Writes to whatever ``sys.stderr`` is at the moment of writing (tests swap it)."""

    def __init__(self, *_args: Any) -> None:
        pass

    def msg(self, message: str) -> None:
        # One write per line, under a lock: threads (scheduler jobs, the HTTP server) must
        # not interleave a line with another's, or a JSON reader sees `{...}{...}`.
        with _WRITE_LOCK:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def configure_logging(*, json_lines: bool | None = None, level: str = "info") -> None:
    """Set structlog up once per process; ``json_lines`` None means "unless on a terminal"."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    # Tracebacks are plain text: a rich traceback shows each frame's locals, which may hold a
    # token or a database password, and takes seconds to render.
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    exceptions: list[Any] = [structlog.processors.format_exc_info] if json_lines else []
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *exceptions,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_StderrLogger,
        cache_logger_on_first_use=False,
    )
