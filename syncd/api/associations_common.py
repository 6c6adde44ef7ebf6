"""What the v4 association routes share: ids, type checks and the pieces of their answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Path, Request

from store import AssociationLabel, ObjectSchema, Store, is_record_id
from syncd.api.associations_models import (
    AssociationSpecIn,
    AssociationSpecOut,
    AssociationTypeOut,
    DefaultAssociationOut,
    LabelsBetweenPair,
    ObjectIdOut,
)
from syncd.api.context import api_store
from syncd.api.errors import ApiError
from syncd.api.objecttypes import resolve_object

__all__ = [
    "MAX_PAGE",
    "NO_CONTENT",
    "ObjectType",
    "RecordId",
    "checked_type_ids",
    "default_results",
    "pair_json",
    "pair_types",
    "parse_record_id",
    "resolve_pair",
    "type_json",
]

ObjectType = Annotated[str, Path(max_length=200)]
RecordId = Annotated[str, Path(max_length=40)]
MAX_PAGE = 500
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Done."}}


def parse_record_id(schema: ObjectSchema, raw: str | int) -> int:
    """A record id from a path or body; anything that cannot be one is a 404 like HubSpot's."""
    text = str(raw).strip()
    if text.isdigit() and len(text) <= 19 and is_record_id(int(text)):
        return int(text)
    shown = text if len(text) <= 40 else text[:37] + "..."
    raise ApiError(404, f"no {schema.name} record {shown}", "OBJECT_NOT_FOUND")


def pair_types(store: Store, a: ObjectSchema, b: ObjectSchema) -> dict[int, AssociationLabel]:
    return {x.type_id: x for x in store.list_labels(a.name, b.name)}


def checked_type_ids(
    a: ObjectSchema,
    b: ObjectSchema,
    types: dict[int, AssociationLabel],
    specs: Sequence[AssociationSpecIn],
) -> tuple[int, ...]:
    """The type ids of ``specs``, each checked to exist from a to b in its category."""
    chosen: list[int] = []
    for spec in specs:
        found = types.get(spec.associationTypeId)
        if found is None or found.category != spec.associationCategory:
            known = ", ".join(
                f"{x.category}/{i} ({x.label or 'unlabelled'})" for i, x in sorted(types.items())
            )
            raise ApiError(
                400,
                f"no association type {spec.associationCategory}/{spec.associationTypeId} "
                f"from {a.name} to {b.name}; types: {known or '(none)'}",
                "VALIDATION_ERROR",
            )
        chosen.append(found.type_id)
    return tuple(dict.fromkeys(chosen))


def type_json(label: AssociationLabel) -> AssociationTypeOut:
    # Validated from a mapping: an unlabelled type's ``None`` becomes the ``null`` it sends.
    return AssociationTypeOut.model_validate(
        {"category": label.category, "typeId": label.type_id, "label": label.label}
    )


def pair_json(a: ObjectSchema, b: ObjectSchema, link: Any) -> LabelsBetweenPair:
    return LabelsBetweenPair(
        fromObjectTypeId=a.type_id,
        fromObjectId=str(link.from_id),
        toObjectTypeId=b.type_id,
        toObjectId=str(link.to_id),
        labels=[x.label for x in link.labels if x.label is not None],
    )


def default_results(
    types: dict[int, AssociationLabel], from_id: int, to_id: int
) -> list[DefaultAssociationOut]:
    default = next(x for x in types.values() if x.label is None)
    category = default.category
    return [
        DefaultAssociationOut(
            from_=ObjectIdOut(id=str(src)),
            to=ObjectIdOut(id=str(dst)),
            associationSpec=AssociationSpecOut(associationCategory=category, associationTypeId=t),
        )
        for src, dst, t in (
            (from_id, to_id, default.type_id),
            (to_id, from_id, default.inverse_type_id),
        )
    ]


def resolve_pair(
    request: Request, from_type: str, to_type: str
) -> tuple[Store, ObjectSchema, ObjectSchema]:
    store = api_store(request)
    return store, resolve_object(store, from_type), resolve_object(store, to_type)
