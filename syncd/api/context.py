"""What an API handler needs from the request: the store, the caller, the source to write as.

The guard middleware (``guard.py``) has already checked the bearer token, its scope and its
rate limit before a handler runs; it leaves the caller in ``request.state.principal``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request

from store import ChangeSource, SourceType, Store

__all__ = [
    "READ",
    "STORE_STATE",
    "WRITE",
    "ApiSettings",
    "Principal",
    "api_store",
    "principal",
    "reads_only",
    "route_reads_only",
    "write_source",
]

READ = "read"
WRITE = "write"

_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])
_READS_ONLY = "__syncd_reads_only__"


def reads_only(endpoint: _Endpoint) -> _Endpoint:
    """Mark a POST route that only reads (search, batch read), so a ``read`` token may call it.

    The mark sits on the route's own function, so the guard decides from the route a request
    matches, never from how its path happens to end (a custom object named ``search``).
    """
    setattr(endpoint, _READS_ONLY, True)
    return endpoint


def route_reads_only(endpoint: Callable[..., Any] | None) -> bool:
    """Whether ``endpoint`` was marked with :func:`reads_only`."""
    return bool(getattr(endpoint, _READS_ONLY, False))


@dataclass(frozen=True)
class Principal:
    """The token a request came with: its name (written into history) and its scopes."""

    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or (scope == READ and WRITE in self.scopes)


@dataclass(frozen=True)
class ApiSettings:
    """The API's limits; the ``api:`` section of the configuration fills them."""

    enabled: bool = True
    # HubSpot's Professional burst limit: 190 requests per rolling 10 seconds, per token.
    rate_limit_max: int = 190
    rate_limit_interval_ms: int = 10_000
    max_body_bytes: int = 4 * 1024 * 1024


#: The key of the API's store in each request's state (``app._WithStore`` puts it there).
STORE_STATE = "syncd_store"


def api_store(request: Request) -> Store:
    store: Store = getattr(request.state, STORE_STATE)
    return store


def principal(request: Request) -> Principal:
    found: Principal = request.state.principal
    return found


def write_source(request: Request) -> ChangeSource:
    """Writes through the API carry source API and the token's name into property history."""
    return ChangeSource(SourceType.API, principal(request).name)
