"""Values the ``rest`` connector reads and writes: timestamps in any of the forms APIs use,
dotted paths into bodies, loose comparisons of searched values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from connectors.base import ConnectorError, Cursor
from connectors.rest.errors import QuotaExhaustedError, TransientError

__all__ = [
    "BAD",
    "Bad",
    "format_since",
    "halts",
    "header",
    "iso",
    "item_path",
    "nest",
    "parse_time",
    "same",
    "text",
    "time_or_none",
]


class Bad:
    """A timestamp that is there but cannot be read."""


BAD = Bad()


def parse_time(value: Any) -> datetime | Bad | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return BAD
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return BAD
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        value = number
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds != seconds or abs(seconds) > 1e15:
            return BAD
        if abs(seconds) > 1e11:  # milliseconds
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return BAD
    return BAD


def format_since(since: datetime, style: str) -> str:
    if style == "epoch":
        return str(int(since.timestamp()))
    if style == "epoch_ms":
        return str(int(since.timestamp() * 1000))
    return since.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def time_or_none(cursor: Cursor | None, key: str) -> datetime | None:
    if cursor is None:
        return None
    raw = cursor.get(key)
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def item_path(template: str, external_id: str) -> str:
    return template.replace("{id}", quote(external_id, safe=""))


def nest(path: str, value: Any) -> Any:
    if not path:
        return value
    for part in reversed(path.split(".")):
        value = {part: value}
    return value


def text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def same(found: Any, asked: Any) -> bool:
    if isinstance(found, str) and isinstance(asked, str):
        return found.strip().casefold() == asked.strip().casefold()
    return found == asked or (found is not None and text(found) == text(asked))


def halts(exc: ConnectorError) -> bool:
    """An expired quota or a Retry-After too long to wait: the rest of a batch stops too."""
    return isinstance(exc, QuotaExhaustedError) or (
        isinstance(exc, TransientError) and exc.retry_after is not None
    )


def header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
