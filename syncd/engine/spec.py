"""One sync as the engine runs it: mappings, per-property rules and directions, resolved once.

Built from the YAML's ``SyncConfig`` (``syncd.engine.build``) out of the field mappings the
configuration compiled when it was loaded, so the engine's inner loops read plain frozen
values, never the configuration models, and no transform is built twice. What the engine
would otherwise work out per record (the dict of fields by name, whether resolving could
refuse anything) is worked out here, once per spec. Tests build it directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conflict import Direction, Rule
from mapping import Constant, CrmReader, FieldMapping

__all__ = ["ASSOCIATION_PREFIX", "AssociationSpec", "FieldSpec", "SyncSpec"]

#: Base and decision keys of association fields, so they cannot clash with property names.
ASSOCIATION_PREFIX = "@assoc:"


@dataclass(frozen=True)
class FieldSpec:
    """One CRM property (or association) the sync carries, with how it may flow."""

    name: str
    direction: Direction
    rule: Rule | None = None


@dataclass(frozen=True)
class AssociationSpec:
    """An external field holding another record's external id <-> a CRM association.

    ``target_sync`` is the sync whose links translate that id to a CRM record id.
    """

    external: str
    crm_object: str
    label: str | None
    target_sync: str
    direction: Direction = Direction.TWO_WAY

    @property
    def key(self) -> str:
        return ASSOCIATION_PREFIX + self.external


@dataclass(frozen=True)
class SyncSpec:
    name: str
    connector: str
    external_object: str
    crm_object: str
    mappings: tuple[FieldMapping, ...]
    fields: tuple[FieldSpec, ...]
    direction: Direction = Direction.TWO_WAY
    default_rule: Rule = Rule.CRM_WINS
    match_crm: str | None = None
    match_external: str | None = None
    delete_from_external: str = "ignore"
    delete_from_crm: str = "ignore"
    #: ``keep_edit`` or ``delete``: what a delete does to an edit the other side made since.
    delete_on_edit: str = "keep_edit"
    brake_count: int = 100
    brake_share: float = 0.2
    brake_min: int = 10

    def brake_trips(self, deletes: int, linked: int) -> bool:
        """Whether ``deletes`` of ``linked`` records is more than this sync may delete at once."""
        if deletes <= 0:
            return False
        return deletes > self.brake_count or (
            deletes >= self.brake_min and deletes > self.brake_share * max(linked, 1)
        )

    crm_filters: tuple[Any, ...] = ()
    external_filters: tuple[Any, ...] = ()
    associations: tuple[AssociationSpec, ...] = ()
    batch_size: int = 500
    retry_attempts: int = 8
    reading_mappings: tuple[FieldMapping, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # Diffing needs the external side's value of every field in CRM form, whichever way
        # the field flows, so reading uses the same mappings opened to both directions.
        object.__setattr__(self, "reading_mappings", tuple(_readable(m) for m in self.mappings))
        # Looked up per field of every record created: a dict, not a scan of the fields.
        by_name = {f.name: f for f in self.fields}
        object.__setattr__(self, "_by_name", by_name)
        # Whether the rules and directions are parsed values and the fields distinct, so
        # resolving could refuse nothing but a naive time (``diff.plan_record`` reads it).
        plain = (
            isinstance(self.default_rule, Rule)
            and all(
                isinstance(f.direction, Direction) and (f.rule is None or isinstance(f.rule, Rule))
                for f in self.fields
            )
            and len(by_name) == len(self.fields)
        )
        object.__setattr__(self, "_plain", plain)
        # Every record of every page is read through the same mappings: worked out once.
        object.__setattr__(self, "_reader", CrmReader(self.reading_mappings))
        object.__setattr__(self, "_field_names", tuple(f.name for f in self.fields))
        # The only mappings that may respell a value outside (``external_respelled`` skips
        # the others): most syncs have none, and then a linked record needs no look.
        object.__setattr__(
            self,
            "_respelling",
            tuple(
                m for m in self.mappings if m.transform.canonical and m.to_external and m.external
            ),
        )

    def read_crm(self, fields: Mapping[str, Any]) -> dict[str, str | None]:
        """``map_to_crm(self.reading_mappings, fields)``, through the mappings compiled once."""
        reader: CrmReader = self.__dict__["_reader"]
        return reader(fields)

    @property
    def field_names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = self.__dict__["_field_names"]
        return names

    @property
    def respelling_mappings(self) -> tuple[FieldMapping, ...]:
        """The mappings ``mapping.external_respelled`` may find a respelled value in."""
        found: tuple[FieldMapping, ...] = self.__dict__["_respelling"]
        return found

    def field(self, name: str) -> FieldSpec:
        by_name: dict[str, FieldSpec] = self.__dict__["_by_name"]
        return by_name[name]

    @property
    def plain(self) -> bool:
        """Whether resolving this spec's fields could refuse nothing but a naive time:
        every rule and direction parsed, no field named twice (set once, at construction)."""
        plain: bool = self.__dict__["_plain"]
        return plain

    def without_brake(self) -> SyncSpec:
        """This spec with the mass-delete brake off (deletes an operator confirmed, or a
        set the caller has already judged as a whole)."""
        return dataclasses.replace(self, brake_count=10**12, brake_share=float("inf"))

    @property
    def pulls(self) -> bool:
        return self.direction.to_crm

    @property
    def pushes(self) -> bool:
        return self.direction.to_external

    @classmethod
    def build(
        cls,
        name: str,
        *,
        connector: str,
        external_object: str,
        crm_object: str,
        mappings: Sequence[FieldMapping],
        rules: dict[str, Rule | None] | None = None,
        **options: Any,
    ) -> SyncSpec:
        """A spec whose field list follows the mappings (one entry per CRM property)."""
        direction = Direction(options.pop("direction", Direction.TWO_WAY))
        narrowed = tuple(_narrow(m, direction) for m in mappings)
        fields: list[FieldSpec] = []
        for mapping in narrowed:
            for prop in mapping.crm:
                fields.append(FieldSpec(prop, mapping.direction, (rules or {}).get(prop)))
        for assoc in options.get("associations", ()):
            fields.append(FieldSpec(assoc.key, _narrow_direction(assoc.direction, direction)))
        return cls(
            name=name,
            connector=connector,
            external_object=external_object,
            crm_object=crm_object,
            mappings=narrowed,
            fields=tuple(fields),
            direction=direction,
            **options,
        )


def _narrow_direction(own: Direction, sync: Direction) -> Direction:
    # One that cannot flow at all was left out by the configuration (``config.check``
    # reports it); a spec built by hand keeps it as given.
    return own.within(sync) or own


def _narrow(mapping: FieldMapping, sync: Direction) -> FieldMapping:
    """A field never flows wider than its sync (a to_crm sync writes nothing outside)."""
    narrowed = _narrow_direction(mapping.direction, sync)
    if narrowed is mapping.direction:
        return mapping
    return dataclasses.replace(mapping, direction=narrowed)


def _readable(mapping: FieldMapping) -> FieldMapping:
    if mapping.direction is Direction.TWO_WAY or not mapping.external:
        return mapping
    if isinstance(mapping.transform, Constant):
        return mapping
    return dataclasses.replace(mapping, direction=Direction.TWO_WAY)
