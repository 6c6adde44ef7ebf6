"""Object types as HubSpot clients name them: ``contacts``, ``contact``, ``0-1``, ``p_cars``, ``2-7``.

Resolved against the store's live objects on every call, so a custom object created a moment
ago through ``/crm/v3/schemas`` is reachable at once by name and by type id.
"""

from __future__ import annotations

import re

from store import NotFoundError, ObjectSchema, Store
from syncd.api.errors import ApiError

__all__ = ["resolve_object"]

_QUALIFIED = re.compile(r"^p\d*_(?P<name>[A-Za-z][A-Za-z0-9_]*)$")
_MAX_NAME = 200


def resolve_object(store: Store, object_type: str) -> ObjectSchema:
    """The object ``object_type`` names; 404 in HubSpot's shape when none does."""
    if len(object_type) <= _MAX_NAME:
        wanted = object_type.lower()
        qualified = _QUALIFIED.match(object_type)
        if qualified:
            wanted = qualified["name"].lower()
        try:
            # One object's load (name, type id or label), not the whole catalogue: this runs
            # on every request.
            return store.get_object(wanted)
        except NotFoundError:
            pass
    shown = object_type if len(object_type) <= 60 else object_type[:57] + "..."
    raise ApiError(
        404,
        f"Unable to infer object type from: {shown}",
        "OBJECT_NOT_FOUND",
    )
