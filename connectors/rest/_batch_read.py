"""How a ``batch_read`` endpoint is asked: which ids go together, and in what shape.

Pure functions over the options, so the connector keeps only the calling and the checking
of answers. Ids go ``max`` at a time, and a query never grows past :data:`MAX_QUERY_CHARS`
(servers and proxies refuse long URLs); an id the chosen shape cannot carry (a comma in a
comma-joined list) is left to be read on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from connectors.rest.options import BatchReadOptions
from connectors.rest.paging import dig

__all__ = ["MAX_QUERY_CHARS", "id_chunks", "listed", "request_parts"]

#: Characters of ids one GET query may carry (URL-escaped), well under common URL limits.
MAX_QUERY_CHARS = 4000


def id_chunks(batch: BatchReadOptions, ids: Sequence[str]) -> tuple[list[list[str]], list[str]]:
    """The ids grouped per call, and those that must be read one by one."""
    chunks: list[list[str]] = []
    alone: list[str] = []
    current: list[str] = []
    size = 0
    for external_id in ids:
        if batch.method == "GET" and batch.ids_style == "comma" and "," in external_id:
            alone.append(external_id)
            continue
        cost = _query_cost(batch, external_id) if batch.method == "GET" else 0
        if cost > MAX_QUERY_CHARS:
            alone.append(external_id)
            continue
        if current and (len(current) >= batch.max or size + cost > MAX_QUERY_CHARS):
            chunks.append(current)
            current, size = [], 0
        current.append(external_id)
        size += cost
    if current:
        chunks.append(current)
    return chunks, alone


def request_parts(
    batch: BatchReadOptions, chunk: Sequence[str]
) -> tuple[str, dict[str, str] | None, Any]:
    """The target, query parameters (GET) and JSON body (POST) that ask for ``chunk``."""
    if batch.method == "GET":
        if batch.ids_style == "comma":
            return batch.path, {batch.ids_param: ",".join(chunk)}, None
        query = urlencode([(batch.ids_param, i) for i in chunk])
        joiner = "&" if "?" in batch.path else "?"
        return f"{batch.path}{joiner}{query}", None, None
    items: list[Any] = [{batch.item_key: i} for i in chunk] if batch.item_key else list(chunk)
    return batch.path, None, _nest(batch.request_path, items)


def listed(batch: BatchReadOptions, body: Any) -> list[Any] | None:
    """The list of records at ``response_path``, or None when the answer holds none there."""
    found = dig(body, batch.response_path) if batch.response_path else body
    return found if isinstance(found, list) else None


def _query_cost(batch: BatchReadOptions, external_id: str) -> int:
    escaped = len(quote(external_id, safe="")) + 3  # and its separator, escaped
    if batch.ids_style == "repeat":
        escaped += len(quote(batch.ids_param, safe="")) + 1
    return escaped


def _nest(path: str, value: Any) -> Any:
    if not path:
        return value
    for part in reversed(path.split(".")):
        value = {part: value}
    return value
