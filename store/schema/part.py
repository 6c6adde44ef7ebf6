"""The store facade's part for definitions: objects, their properties and property groups.

Definitions are read through ``store.db.catalog`` (one load per object and transaction) and
changed by ``store.schema.sql``, which guards built-in ones and refuses a change stored
values would not fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store.db.catalog import LoadedObject, load_object, load_objects
from store.db.part import FacadePart
from store.db.tx import Tx
from store.errors import NotFoundError
from store.models import (
    ChangeSource,
    GroupSpec,
    ObjectSchema,
    ObjectSpec,
    PropertyDef,
    PropertySpec,
    PropertyUpdateReport,
)
from store.schema import sql as schema_sql

__all__ = ["SchemaPart"]


class SchemaPart(FacadePart):
    """Objects, properties and property groups (live groups only: an archived one is gone)."""

    def _object(self, name: str) -> LoadedObject:
        return self._read(lambda conn: load_object(conn, name))

    # ------------------------------------------------------------ objects

    def list_objects(self, *, include_archived: bool = False) -> list[ObjectSchema]:
        return [
            o.schema
            for o in self._read(lambda c: load_objects(c, include_archived=include_archived))
        ]

    def get_object(self, name: str, *, include_archived: bool = False) -> ObjectSchema:
        return self._read(lambda c: load_object(c, name, include_archived=include_archived)).schema

    def create_object(self, spec: ObjectSpec, source: ChangeSource | None = None) -> ObjectSchema:
        def work(tx: Tx) -> ObjectSchema:
            schema_sql.create_object(tx, spec)
            return tx.object(spec.name).schema

        return self._write(source or ChangeSource.cli(), work)

    def update_object(self, name: str, changes: Mapping[str, Any]) -> ObjectSchema:
        def work(tx: Tx) -> ObjectSchema:
            schema_sql.update_object(tx, name, dict(changes))
            return tx.object(name).schema

        return self._write(ChangeSource.cli(), work)

    def archive_object(self, name: str) -> None:
        self._write(ChangeSource.cli(), lambda tx: schema_sql.archive_object(tx, name))

    # ------------------------------------------------------------ properties

    def list_properties(
        self, object_name: str, *, include_archived: bool = False
    ) -> list[PropertyDef]:
        obj = self._object(object_name)
        source = obj.all_properties if include_archived else obj.properties
        return list(source.values())

    def get_property(self, object_name: str, name: str) -> PropertyDef:
        return self._object(object_name).property(name)

    def create_property(self, object_name: str, spec: PropertySpec) -> PropertyDef:
        def work(tx: Tx) -> PropertyDef:
            schema_sql.create_property(tx, object_name, spec)
            return tx.object(object_name).property(spec.name)

        return self._write(ChangeSource.cli(), work)

    def update_property(
        self, object_name: str, name: str, changes: Mapping[str, Any]
    ) -> PropertyUpdateReport:
        return self._write(
            ChangeSource.cli(),
            lambda tx: schema_sql.update_property(tx, object_name, name, dict(changes)),
        )

    def archive_property(self, object_name: str, name: str) -> None:
        self._write(
            ChangeSource.cli(), lambda tx: schema_sql.archive_property(tx, object_name, name)
        )

    def restore_property(self, object_name: str, name: str) -> PropertyDef:
        def work(tx: Tx) -> PropertyDef:
            schema_sql.restore_property(tx, object_name, name)
            return tx.object(object_name).property(name)

        return self._write(ChangeSource.cli(), work)

    def create_group(self, object_name: str, spec: GroupSpec) -> None:
        self._write(ChangeSource.cli(), lambda tx: schema_sql.create_group(tx, object_name, spec))

    # ------------------------------------------------------------ groups

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
