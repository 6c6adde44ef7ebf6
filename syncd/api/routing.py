"""The route class every API router uses: optional fields left out of answers, not ``null``.

HubSpot's answers omit an optional field that has no value (``paging`` on a last page,
``archivedAt`` on a live property, ``errors`` on a 200); client code tests ``"paging" in body``
or reads it with a default, and typed clients reject a ``null`` where the documented model
has no such value. Leaving ``None`` out here, for every route at once, keeps a new model from
bringing the nulls back. Values inside a record's ``properties`` map are not fields: a
requested property without a value stays ``null``, as HubSpot sends it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from fastapi.routing import APIRoute

from store import read_scope

__all__ = ["HubSpotRoute"]


class HubSpotRoute(APIRoute):
    """An ``APIRoute`` whose response model is serialised without its ``None`` fields.

    A plain (threaded) endpoint runs in a store read scope (``store.db.session``): its store
    calls share one connection, its reads one transaction until it writes.
    """

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        kwargs["response_model_exclude_none"] = True
        if callable(endpoint) and not inspect.iscoroutinefunction(endpoint):
            endpoint = _scoped(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _scoped(endpoint: Any) -> Any:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        with read_scope():
            return endpoint(*args, **kwargs)

    return run
