"""The store facade's part for property groups: reading, relabelling and archiving them.

Creating a group is ``Store.create_group``; what is here completes the set the HubSpot API
needs (list, get, update, archive) without growing ``store/facade.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store.db.catalog import load_object
from store.db.part import FacadePart
from store.errors import NotFoundError
from store.models import ChangeSource, GroupSpec
from store.schema import sql as schema_sql

__all__ = ["SchemaPart"]


class SchemaPart(FacadePart):
    """Property groups of one object, live ones only (an archived group is gone to callers)."""

    def list_groups(self, object_name: str) -> list[GroupSpec]:
        return list(self._read(lambda conn: load_object(conn, object_name)).schema.groups)

    def get_group(self, object_name: str, name: str) -> GroupSpec:
        obj = self._read(lambda conn: load_object(conn, object_name))
        for group in obj.schema.groups:
            if group.name == name:
                return group
        raise NotFoundError(f"{obj.name} has no property group {name!r}", object=obj.name)

    def update_group(
        self,
        object_name: str,
        name: str,
        changes: Mapping[str, Any],
        source: ChangeSource | None = None,
    ) -> GroupSpec:
        """Change ``label`` and/or ``display_order``; the name is the group's identity."""
        return self._write(
            source or ChangeSource.cli(),
            lambda tx: schema_sql.update_group(tx, object_name, name, dict(changes)),
        )

    def archive_group(
        self, object_name: str, name: str, source: ChangeSource | None = None
    ) -> None:
        """Archive an empty group; creating one of the same name later brings it back."""
        self._write(
            source or ChangeSource.cli(),
            lambda tx: schema_sql.archive_group(tx, object_name, name),
        )
