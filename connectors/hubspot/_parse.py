"""HubSpot bodies → our values, refusing shapes HubSpot does not send.

Every property value travels as a string; dates come back as ISO 8601 but are accepted as
epoch milliseconds too (HubSpot takes both). A body of the wrong shape is a whole-call
error naming what was wrong, never a silently skipped record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base import ExternalRecord

from ._http import HubSpotError

__all__ = [
    "as_list",
    "error_keys",
    "existing_id",
    "ms",
    "paging_after",
    "parse_object",
    "parse_time",
    "results",
]

_EXISTING = re.compile(r"Existing ID:\s*(\d+)")


def bad_answer(what: str, path: str) -> HubSpotError:
    return HubSpotError(f"HubSpot's answer to {path} is not what its API documents: {what}")


def parse_time(value: object) -> datetime | None:
    """An aware datetime from ISO 8601 or epoch milliseconds; None when absent or unreadable."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_ms(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit():
        return _from_ms(float(text))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _from_ms(value: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def as_list(body: object, key: str, path: str) -> list[Any]:
    if not isinstance(body, dict):
        raise bad_answer(f"expected a JSON object, got {type(body).__name__}", path)
    value = body.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_answer(f"{key!r} is {type(value).__name__}, not a list", path)
    return value


def results(body: object, path: str) -> list[Any]:
    return as_list(body, "results", path)


def _value(name: str, value: object, path: str) -> object:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise bad_answer(f"property {name!r} holds a {type(value).__name__}", path)


def parse_object(raw: object, modified: str, path: str) -> ExternalRecord:
    """A ``SimplePublicObject`` as an ExternalRecord; ``fields`` is its properties dict."""
    if not isinstance(raw, dict):
        raise bad_answer(f"a record is {type(raw).__name__}, not an object", path)
    raw_id = raw.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        raise bad_answer("a record has no id", path)
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        raise bad_answer(f"record {raw_id}'s properties are not an object", path)
    fields = {str(k): _value(str(k), v, path) for k, v in properties.items()}
    updated = parse_time(fields.get(modified)) or parse_time(raw.get("updatedAt"))
    return ExternalRecord(
        id=str(raw_id),
        fields=fields,
        updated_at=updated,
        deleted=raw.get("archived") is True,
    )


def error_keys(error: Mapping[str, Any], key: str) -> list[str]:
    """The inputs a batch error names under ``context[key]`` (``ids``, ``objectWriteTraceId``)."""
    context = error.get("context")
    if not isinstance(context, dict):
        return []
    values = context.get(key)
    if isinstance(values, str | int):
        return [str(values)]
    if not isinstance(values, list):
        return []
    return [str(v) for v in values if isinstance(v, str | int) and not isinstance(v, bool)]


def error_text(error: Mapping[str, Any]) -> str:
    message = error.get("message")
    category = error.get("category")
    text = message[:500] if isinstance(message, str) and message else "refused by HubSpot"
    return f"{text} ({category})" if isinstance(category, str) else text


def existing_id(error: Mapping[str, Any]) -> str | None:
    """The record a CONFLICT names: ``context.existingId`` or "Existing ID: N" in the message."""
    ids = error_keys(error, "existingId")
    if ids:
        return ids[0]
    message = error.get("message")
    if isinstance(message, str):
        found = _EXISTING.search(message)
        if found:
            return found.group(1)
    return None


def paging_after(body: object, path: str) -> str | None:
    paging = body.get("paging") if isinstance(body, dict) else None
    if paging is None:
        return None
    nxt = paging.get("next") if isinstance(paging, dict) else None
    after = nxt.get("after") if isinstance(nxt, dict) else None
    if after is None or after == "":
        return None
    if not isinstance(after, str | int) or isinstance(after, bool):
        raise bad_answer("paging.next.after is not a token", path)
    return str(after)
