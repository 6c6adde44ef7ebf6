"""Associations as the objects endpoints speak of them: by HubSpot's association type id.

A create names the type (``associationTypeId``) and the other record's id but not the other
object, so the type id alone says which object and which label; the store knows a label by
its text, so the id is translated through the labels leading out of this object. Reads show
each association as ``{id, type}`` under the other object's name, the type as HubSpot names
it (``contact_to_company``, ``contact_to_company_unlabeled``...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from store import AssociationLabel, ObjectSchema, Store
from syncd.api.errors import ApiError, error_detail
from syncd.api.objects_models import AssociationInput
from syncd.api.objecttypes import resolve_object

__all__ = [
    "AssociationNames",
    "Link",
    "association_types",
    "parse_record_id",
    "plan_links",
    "target_objects",
]

_MAX_RECORD_ID = 2**63
_PRIMARY = "PRIMARY"

# (object name, record id, label or None for the default type): what ``create_record`` takes.
Link = tuple[str, int, str | None]


def parse_record_id(value: object) -> int | None:
    """A record id from the path or a body (``"123"`` or ``123``); None if it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 0 < number < _MAX_RECORD_ID else None


def association_types(store: Store, schema: ObjectSchema) -> dict[int, AssociationLabel]:
    """Every association type leading out of ``schema``, by its type id."""
    found: dict[int, AssociationLabel] = {}
    for other in store.list_objects():
        for label in store.list_labels(schema.name, other.name):
            found[label.type_id] = label
    return found


def plan_links(
    schema: ObjectSchema,
    inputs: Sequence[AssociationInput],
    types: dict[int, AssociationLabel],
) -> list[Link]:
    """The store's (object, id, label) for each requested type; 400 for an unknown one."""
    links: dict[Link, None] = {}
    for i, item in enumerate(inputs):
        to_id = parse_record_id(item.to.id)
        if to_id is None:
            raise ApiError(
                400,
                f"associations[{i}].to.id: {str(item.to.id)[:40]!r} is not a record id",
                "VALIDATION_ERROR",
                errors=[error_detail("not a record id", "INVALID_ASSOCIATION", where="to.id")],
            )
        for kind in item.types:
            label = types.get(kind.associationTypeId)
            if label is None:
                raise ApiError(
                    400,
                    f"associations[{i}]: association type {kind.associationTypeId} does not "
                    f"lead from {schema.name} to any object; list the types with "
                    f"GET /crm/v4/associations/{schema.name}/{{toObjectType}}/labels",
                    "VALIDATION_ERROR",
                    errors=[
                        error_detail(
                            f"unknown associationTypeId {kind.associationTypeId}",
                            "INVALID_ASSOCIATION_TYPE",
                            where="associationTypeId",
                        )
                    ],
                )
            links[(label.to_object, to_id, label.label)] = None
    return list(links)


def target_objects(store: Store, names: Sequence[str]) -> list[ObjectSchema]:
    """The objects a read's ``associations`` parameter names; unknown names are skipped."""
    targets: dict[str, ObjectSchema] = {}
    for name in names:
        try:
            schema = resolve_object(store, name)
        except ApiError:
            continue
        targets.setdefault(schema.name, schema)
    return list(targets.values())


def _singular(schema: ObjectSchema) -> str:
    return "_".join(schema.singular_label.lower().split()) or schema.name


@dataclass(frozen=True)
class AssociationNames:
    """HubSpot's names of the association types from one object to the objects asked for."""

    schema: ObjectSchema
    names: dict[str, dict[int, str]]  # target object -> type id -> name

    @classmethod
    def load(
        cls, store: Store, schema: ObjectSchema, targets: Sequence[ObjectSchema]
    ) -> AssociationNames:
        names: dict[str, dict[int, str]] = {}
        for target in targets:
            labels = store.list_labels(schema.name, target.name)
            pair = f"{_singular(schema)}_to_{_singular(target)}"
            has_primary = any(x.name == _PRIMARY for x in labels)
            names[target.name] = {x.type_id: _type_name(x, pair, has_primary) for x in labels}
        return cls(schema, names)

    def of(self, store: Store, record_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """``associations`` of each record: ``{object: {results: [{id, type}]}}``."""
        out: dict[int, dict[str, Any]] = {}
        for target, type_names in self.names.items():
            linked = store.linked_records(self.schema.name, record_ids, target)
            for record_id, pairs in linked.items():
                out.setdefault(record_id, {})[target] = {
                    "results": [
                        {"id": str(to_id), "type": type_names.get(type_id, str(type_id))}
                        for to_id, type_id in pairs
                    ]
                }
        return out


def _type_name(label: AssociationLabel, pair: str, has_primary: bool) -> str:
    if label.name == _PRIMARY:
        return pair
    if label.label is None:
        return f"{pair}_unlabeled" if has_primary else pair
    if label.name:
        return label.name.lower()
    return str(label.type_id)
