"""What the objects routes share: path types, id look-ups, reads rendered, per-input errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Path, Query

from store import DuplicateError, NotFoundError, ObjectSchema, Record, Store, ValidationError
from syncd.api.errors import ApiError, error_detail, error_from_exception
from syncd.api.objects_assoc import AssociationNames, parse_record_id, target_objects
from syncd.api.objects_models import MAX_PROPERTIES
from syncd.api.objects_out import object_json, split_names
from syncd.api.property_problems import property_refusal

__all__ = [
    "MAX_NAME_CHARS",
    "IdPath",
    "IdPropertyQuery",
    "NamesQuery",
    "ObjectTypePath",
    "check_id_property",
    "find_one",
    "names_param",
    "not_found",
    "refusals",
    "render",
    "standard_error",
    "store_values",
]

MAX_NAME_CHARS = 100

ObjectTypePath = Annotated[
    str, Path(max_length=200, description="`contacts`, `0-1`, `p_cars`, `2-7`...")
]
IdPath = Annotated[
    str,
    Path(max_length=400, description="The record id, or a unique value with `idProperty`."),
]
NamesQuery = Annotated[
    list[str] | None,
    Query(description="Property names, comma-separated or the parameter repeated."),
]
IdPropertyQuery = Annotated[
    str | None,
    Query(max_length=MAX_NAME_CHARS, description="A unique property the id is a value of."),
]


def names_param(values: Sequence[str] | None, where: str) -> list[str]:
    """Names from a query parameter, bounded: 400 for too many or too long a name."""
    names = split_names(values)
    if len(names) > MAX_PROPERTIES:
        raise ApiError(
            400, f"{where}: at most {MAX_PROPERTIES} names, got {len(names)}", "VALIDATION_ERROR"
        )
    for name in names:
        if len(name) > MAX_NAME_CHARS or "\x00" in name:
            raise ApiError(
                400, f"{where}: {name[:40]!r}... is not a property name", "VALIDATION_ERROR"
            )
    return names


def store_values(properties: Mapping[str, object]) -> dict[str, object]:
    """JSON values as the strings HubSpot's API means by them (``true``, ``12.5``)."""
    out: dict[str, object] = {}
    for name, value in properties.items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, int):
            out[name] = str(value)
        elif isinstance(value, float):
            out[name] = repr(value)
        else:
            out[name] = value
    return out


def not_found(schema: ObjectSchema, record_id: object) -> ApiError:
    shown = str(record_id)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ApiError(404, f"no {schema.name} record {shown}", "OBJECT_NOT_FOUND")


@contextmanager
def refusals(schema: ObjectSchema, values: Mapping[str, object] | None = None) -> Iterator[None]:
    """Store refusals worded with the object's label (``Contact already exists...``); a
    refused property of ``values`` answers with every bad property of them."""
    try:
        yield
    except DuplicateError as exc:
        raise error_from_exception(exc, object_label=schema.singular_label) or exc from None
    except (ValidationError, NotFoundError) as exc:
        if values is None:
            raise
        raise property_refusal(exc, schema, values) or exc from None


def check_id_property(schema: ObjectSchema, id_property: str | None) -> str:
    """The property ids are values of; 400 unless it is ``hs_object_id`` or a unique one."""
    name = id_property or "hs_object_id"
    if name == "hs_object_id":
        return name
    prop = schema.properties.get(name)
    if prop is None:
        raise ApiError(
            400,
            f"idProperty: {schema.name} has no property {name[:60]!r}",
            "VALIDATION_ERROR",
            errors=[error_detail("unknown property", "PROPERTY_DOESNT_EXIST", property_name=name)],
        )
    if not prop.unique:
        raise ApiError(
            400,
            f"idProperty: {name} is not a unique property; use hs_object_id or a property "
            "created with hasUniqueValue",
            "VALIDATION_ERROR",
            errors=[
                error_detail("not a unique property", "INVALID_ID_PROPERTY", property_name=name)
            ],
        )
    return name


def find_one(
    store: Store,
    schema: ObjectSchema,
    object_id: str,
    id_property: str | None,
    *,
    archived: bool = False,
) -> Record:
    """The record a path names, by id or by ``idProperty``; 404 when there is none."""
    name = check_id_property(schema, id_property)
    if name != "hs_object_id":
        try:
            record = store.find_record(schema.name, name, object_id)
        except NotFoundError:
            raise not_found(schema, object_id) from None
    else:
        record_id = parse_record_id(object_id)
        if record_id is None:
            raise not_found(schema, object_id)
        try:
            record = store.get_record(schema.name, record_id, include_archived=archived)
        except NotFoundError:
            raise not_found(schema, object_id) from None
    if archived and not record.archived:
        # ``archived=true`` asks for archived records only, as HubSpot reads it.
        raise not_found(schema, object_id)
    return record


def render(
    store: Store,
    schema: ObjectSchema,
    records: Sequence[Record],
    names: Sequence[str],
    history_names: Sequence[str],
    association_objects: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Records as read answers show them: chosen values, history and associations asked."""
    histories = (
        store.property_histories(schema.name, [r.id for r in records], history_names)
        if history_names
        else None
    )
    targets = target_objects(store, association_objects) if association_objects else []
    links = (
        AssociationNames.load(store, schema, targets).of(store, [r.id for r in records])
        if targets
        else {}
    )
    out = []
    for record in records:
        history = None
        if histories is not None:
            history = histories.get(record.id) or {n: [] for n in history_names}
        item = object_json(record, names, history=history)
        if record.id in links:
            item["associations"] = links[record.id]
        out.append(item)
    return out


def standard_error(
    exc: Exception,
    schema: ObjectSchema,
    context: Mapping[str, Sequence[str]],
    values: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """One failed input of a batch as HubSpot reports it in a 207 (``StandardError``), with
    every bad property of the input's ``values`` when it was refused for one."""
    mapped = property_refusal(exc, schema, values) if values is not None else None
    mapped = mapped or error_from_exception(exc, object_label=schema.singular_label)
    if mapped is None:
        raise exc
    return {
        "status": "error",
        "category": mapped.category,
        "message": mapped.message,
        "errors": mapped.errors,
        "context": {k: list(v) for k, v in context.items()},
        "links": {},
    }
