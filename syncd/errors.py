"""The root of every error syncd raises on purpose, grouped by what the caller must do.

This module imports nothing of ours, so every package (even ``store/``, which may import
nothing else of ours) can subclass these.

    SyncdError                 anything syncd raises on purpose; the CLI prints its message
    ├── ConfigError            the configuration is wrong: stop at start, fix the file
    ├── UsageError             a command or API call was asked for something impossible
    ├── RetriableError         a transient failure: back off (``retry_after``) and try again
    ├── FatalError             this sync cannot go on until someone acts: stop the sync
    └── RecordError            one record is wrong: log it, count it, go on with the rest

Each package adds its own subclasses in its ``errors.py`` and attaches the data an operator
needs (object, record id, property, value, rule) as attributes, so structured logs can bind
them. Messages never contain secrets.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "FatalError",
    "RecordError",
    "RetriableError",
    "SyncdError",
    "UsageError",
]


class SyncdError(Exception):
    """An error syncd raises on purpose; ``data`` holds what structured logs bind."""

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data: dict[str, Any] = data

    def __str__(self) -> str:
        return self.message


class ConfigError(SyncdError):
    """The configuration cannot be used; nothing should start until it is fixed."""


class UsageError(SyncdError):
    """The caller asked for something that cannot be done as asked (refused, not failed)."""


class RetriableError(SyncdError):
    """A transient failure; the same call may succeed after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **data: Any) -> None:
        super().__init__(message, retry_after=retry_after, **data)
        self.retry_after = retry_after


class FatalError(SyncdError):
    """The sync (or the process) cannot continue until an operator acts."""


class RecordError(SyncdError):
    """One record cannot be written as given; the rest of the batch goes on."""
