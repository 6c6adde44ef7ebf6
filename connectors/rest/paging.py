"""The four ways a list endpoint pages, behind one pair of functions.

A page token is plain JSON (a cursor string, a page number, an offset or the next URL) so
that it can sit in the engine's stored cursor and a run can continue where it stopped.
Number-based paging stops on the first empty page: a server that caps the page size below
what we asked for then still gets read to the end.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from connectors.rest.options import (
    CursorPaging,
    LinkPaging,
    ObjectOptions,
    OffsetPaging,
    PagePaging,
)

__all__ = ["Token", "dig", "next_link", "next_token", "page_request"]

Token = str | int | None

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL = re.compile(r"""rel\s*=\s*"?([^";]*)"?""", re.IGNORECASE)


def page_request(
    obj: ObjectOptions, token: Token, params: dict[str, str], limit: int
) -> tuple[str, dict[str, str]]:
    """The target (path or absolute URL) and query of the page ``token`` names."""
    paging = obj.paging
    query = dict(params)
    if paging is None:
        return obj.path, query
    if isinstance(paging, CursorPaging):
        if paging.limit_param:
            query[paging.limit_param] = str(limit)
        if token is not None:
            query[paging.param] = str(token)
        return obj.path, query
    if isinstance(paging, PagePaging):
        query[paging.param] = str(paging.start if token is None else token)
        query[paging.size_param] = str(paging.size)
        return obj.path, query
    if isinstance(paging, OffsetPaging):
        query[paging.param] = str(0 if token is None else token)
        query[paging.limit_param] = str(min(paging.limit, limit))
        return obj.path, query
    assert isinstance(paging, LinkPaging)
    if token is not None:
        # The next URL carries the whole query (the since filter included).
        return str(token), {}
    if paging.limit_param:
        query[paging.limit_param] = str(limit)
    return obj.path, query


def next_token(
    obj: ObjectOptions,
    token: Token,
    *,
    body: Any,
    headers: httpx.Headers,
    url: str,
    count: int,
    limit: int,
) -> Token:
    """The token of the page after this one, or None when this was the last."""
    paging = obj.paging
    if paging is None:
        return None
    if isinstance(paging, CursorPaging):
        found = dig(body, paging.next_path)
        if isinstance(found, bool) or not isinstance(found, str | int) or found == "":
            return None
        return found
    if count == 0:
        return None
    if isinstance(paging, PagePaging):
        return (paging.start if token is None else int(token)) + 1
    if isinstance(paging, OffsetPaging):
        return (0 if token is None else int(token)) + count
    assert isinstance(paging, LinkPaging)
    return next_link(headers, url)


def next_link(headers: httpx.Headers, url: str) -> str | None:
    """The ``rel="next"`` target of the ``Link`` headers, absolute; None when there is none."""
    for value in headers.get_list("Link"):
        for target, params in _LINK.findall(value):
            rels = " ".join(_REL.findall(params)).lower().split()
            if "next" in rels and target.strip():
                return str(httpx.URL(url).join(target.strip()))
    return None


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path (``data.items``); ``""`` is the data itself."""
    if not path:
        return data
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data
