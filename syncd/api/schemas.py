"""Custom object schemas at ``/crm-object-schemas/v3/schemas`` and ``/crm/v3/schemas``.

HubSpot's clients call the first path, its documentation shows the second; both are served
by the same handlers. A schema is named by its name, its fully qualified name (``p_cars``,
``p123_cars``) or its type id (``2-1001``); a schema created here is usable at once by the
objects, properties and associations endpoints, which resolve object types on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from store import ObjectSchema, ObjectSpec, PropertySpec, Store
from store.models import AssociationLabel
from syncd.api.context import api_store, write_source
from syncd.api.errors import ApiError
from syncd.api.models import ERROR_RESPONSES
from syncd.api.objecttypes import resolve_object
from syncd.api.properties_convert import (
    hint_format,
    option_specs,
    property_json,
    refuse_calculation,
)
from syncd.api.routing import HubSpotRoute
from syncd.api.schemas_models import (
    AssociationDefinitionEgg,
    AssociationDefinitionOut,
    ObjectSchemaOut,
    ObjectTypeDefinitionOut,
    SchemaCreateBody,
    SchemaLabelsOut,
    SchemaList,
    SchemaPatchBody,
    SchemaPropertyIn,
)

__all__ = ["SCHEMA_PREFIXES", "router"]

SCHEMA_PREFIXES = ("/crm-object-schemas/v3/schemas", "/crm/v3/schemas")

router = APIRouter(tags=["schemas"], route_class=HubSpotRoute)

ObjectType = Annotated[str, Path(max_length=200)]
AssociationId = Annotated[str, Path(max_length=40)]
_NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Done."}}


# ------------------------------------------------------------------ converting


def _definition(schema: ObjectSchema) -> dict[str, Any]:
    return {
        "id": schema.type_id.split("-", 1)[-1],
        "name": schema.name,
        "labels": SchemaLabelsOut(singular=schema.singular_label, plural=schema.plural_label),
        "objectTypeId": schema.type_id,
        "fullyQualifiedName": f"p_{schema.name}" if schema.custom else schema.name,
        "description": schema.description or None,
        "primaryDisplayProperty": schema.primary_display_property,
        "requiredProperties": list(schema.required_properties),
        "searchableProperties": list(schema.searchable_properties),
        "secondaryDisplayProperties": list(schema.secondary_display_properties),
        "archived": schema.archived,
        "createdAt": schema.created_at,
        "updatedAt": schema.updated_at,
    }


def _type_ids(store: Store) -> dict[str, str]:
    return {o.name: o.type_id for o in store.list_objects(include_archived=True)}


def _association_json(
    label: AssociationLabel, type_ids: dict[str, str]
) -> AssociationDefinitionOut:
    return AssociationDefinitionOut(
        id=str(label.type_id),
        fromObjectTypeId=type_ids[label.from_object],
        toObjectTypeId=type_ids[label.to_object],
        name=label.name or (None if label.label else f"{label.from_object}_to_{label.to_object}"),
    )


def _schema_json(store: Store, schema: ObjectSchema) -> ObjectSchemaOut:
    group = schema.groups[0].name if schema.groups else ""
    type_ids = _type_ids(store)
    return ObjectSchemaOut(
        **_definition(schema),
        properties=[property_json(p, group) for p in schema.properties.values()],
        associations=[
            _association_json(x, type_ids)
            for x in store.association_definitions(schema.name, include_archived=schema.archived)
        ],
    )


def _property_spec(item: SchemaPropertyIn) -> PropertySpec:
    refuse_calculation(item.fieldType, None)
    return PropertySpec(
        name=item.name,
        label=item.label,
        type=item.type,
        field_type=item.fieldType,
        group=item.groupName,
        description=item.description,
        options=option_specs(item.options),
        unique=item.hasUniqueValue,
        format=hint_format(item.textDisplayHint),
        display_order=item.displayOrder,
    )


def _resolve_in_body(store: Store, field: str, object_type: str) -> ObjectSchema:
    """An object named inside a body: unknown is the body's fault (400), not a missing URL."""
    try:
        return resolve_object(store, object_type)
    except ApiError as exc:
        raise ApiError(400, f"{field}: {exc.message}", "VALIDATION_ERROR") from None


def _create_spec(store: Store, body: SchemaCreateBody) -> ObjectSpec:
    if not body.labels.singular or not body.labels.plural:
        raise ApiError(400, "labels.singular and labels.plural are required", "VALIDATION_ERROR")
    props = tuple(_property_spec(p) for p in body.properties)
    primary = body.primaryDisplayProperty or (props[0].name if props else "hs_object_id")
    partners = tuple(
        dict.fromkeys(
            _resolve_in_body(store, "associatedObjects", o).name for o in body.associatedObjects
        )
    )
    return ObjectSpec(
        name=body.name,
        singular_label=body.labels.singular,
        plural_label=body.labels.plural,
        primary_display_property=primary,
        properties=props,
        required_properties=tuple(body.requiredProperties),
        searchable_properties=tuple(body.searchableProperties),
        secondary_display_properties=tuple(body.secondaryDisplayProperties),
        associated_objects=partners,
        description=body.description,
    )


def _patch_changes(body: SchemaPatchBody) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if body.labels is not None:
        if body.labels.singular is not None:
            changes["singular_label"] = body.labels.singular
        if body.labels.plural is not None:
            changes["plural_label"] = body.labels.plural
    if body.clearDescription:
        changes["description"] = ""
    elif body.description is not None:
        changes["description"] = body.description
    for field, key in (
        ("primaryDisplayProperty", "primary_display_property"),
        ("requiredProperties", "required_properties"),
        ("searchableProperties", "searchable_properties"),
        ("secondaryDisplayProperties", "secondary_display_properties"),
    ):
        value = getattr(body, field)
        if value is not None:
            changes[key] = value
    return changes


def _custom(store: Store, object_type: str) -> ObjectSchema:
    schema = resolve_object(store, object_type)
    if not schema.custom:
        raise ApiError(
            400,
            f"{schema.name} is a standard object; only custom object schemas can be changed",
            "VALIDATION_ERROR",
        )
    return schema


# ------------------------------------------------------------------ handlers


def list_schemas(request: Request, archived: bool = False) -> SchemaList:
    """Custom object schemas; with ``archived=true`` only the archived ones (as HubSpot)."""
    store = api_store(request)
    return SchemaList(
        results=[
            _schema_json(store, s)
            for s in store.list_objects(include_archived=archived)
            if s.custom and s.archived == archived
        ]
    )


def create_schema(request: Request, body: SchemaCreateBody) -> ObjectSchemaOut:
    store = api_store(request)
    created = store.create_object(_create_spec(store, body), write_source(request))
    return _schema_json(store, created)


def get_schema(request: Request, objectType: ObjectType) -> ObjectSchemaOut:
    store = api_store(request)
    return _schema_json(store, resolve_object(store, objectType))


def update_schema(
    request: Request, objectType: ObjectType, body: SchemaPatchBody
) -> ObjectTypeDefinitionOut:
    store = api_store(request)
    schema = _custom(store, objectType)
    changes = _patch_changes(body)
    if changes:
        schema = store.update_object(schema.name, changes)
    return ObjectTypeDefinitionOut(**_definition(schema))


def archive_schema(request: Request, objectType: ObjectType) -> Response:
    store = api_store(request)
    store.archive_object(_custom(store, objectType).name)
    return Response(status_code=204)


def create_association(
    request: Request, objectType: ObjectType, body: AssociationDefinitionEgg
) -> AssociationDefinitionOut:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    a = _resolve_in_body(store, "fromObjectTypeId", body.fromObjectTypeId)
    b = _resolve_in_body(store, "toObjectTypeId", body.toObjectTypeId)
    if schema.name not in (a.name, b.name):
        raise ApiError(
            400,
            f"an association definition of {schema.name} must start or end at it",
            "VALIDATION_ERROR",
        )
    if not (a.custom or b.custom):
        raise ApiError(
            400,
            "association definitions between standard objects are built in",
            "VALIDATION_ERROR",
        )
    made = store.define_association(a.name, b.name, body.name, write_source(request))
    return _association_json(made, _type_ids(store))


def delete_association(
    request: Request, objectType: ObjectType, associationIdentifier: AssociationId
) -> Response:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    if not associationIdentifier.isdigit() or len(associationIdentifier) > 9:
        raise ApiError(
            404,
            f"{schema.name} has no association definition {associationIdentifier[:40]}",
            "OBJECT_NOT_FOUND",
        )
    store.delete_association_definition(
        schema.name, int(associationIdentifier), write_source(request)
    )
    return Response(status_code=204)


def _route(
    method: str, path: str, endpoint: Callable[..., Any], *, status: int = 200, **kw: Any
) -> None:
    responses = {**kw.pop("responses", {}), **ERROR_RESPONSES}
    for prefix in SCHEMA_PREFIXES:
        router.add_api_route(
            prefix + path,
            endpoint,
            methods=[method],
            status_code=status,
            responses=responses,
            **kw,
        )


_route("GET", "", list_schemas, response_model=SchemaList)
_route("POST", "", create_schema, status=201, response_model=ObjectSchemaOut)
_route("GET", "/{objectType}", get_schema, response_model=ObjectSchemaOut)
_route("PATCH", "/{objectType}", update_schema, response_model=ObjectTypeDefinitionOut)
_route(
    "DELETE",
    "/{objectType}",
    archive_schema,
    status=204,
    response_class=Response,
    responses=_NO_CONTENT,
)
_route(
    "POST",
    "/{objectType}/associations",
    create_association,
    status=201,
    response_model=AssociationDefinitionOut,
)
_route(
    "DELETE",
    "/{objectType}/associations/{associationIdentifier}",
    delete_association,
    status=204,
    response_class=Response,
    responses=_NO_CONTENT,
)
