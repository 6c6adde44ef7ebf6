"""``/crm/v3/properties/{objectType}``: property definitions and property groups.

Definitions are checked by the store (name, type/fieldType fit, options, unique limit); a
duplicate name is a 409 and archiving a built-in property a 400, as in HubSpot. Batch create
and batch read answer per input (207 when some failed); batch archive is all or nothing,
since HubSpot's answer to it (204) has no room for per-input errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from store import GroupSpec, NotFoundError, ObjectSchema, PropertyDef, Store, StoreError, utcnow
from store.errors import RecordWriteError
from syncd.api.answers import batch_answer
from syncd.api.context import api_store, reads_only, write_source
from syncd.api.errors import ApiError
from syncd.api.models import ERROR_RESPONSES, StandardError
from syncd.api.objecttypes import resolve_object
from syncd.api.properties_convert import (
    create_spec,
    property_json,
    standard_error,
    update_changes,
)
from syncd.api.properties_models import (
    BatchNamesBody,
    BatchPropertiesCreateBody,
    BatchPropertiesReadBody,
    BatchPropertyResponse,
    BatchPropertyResponseWithErrors,
    GroupCreateBody,
    GroupList,
    GroupUpdateBody,
    PropertyCreateBody,
    PropertyGroupOut,
    PropertyList,
    PropertyOut,
    PropertyUpdateBody,
)
from syncd.api.routing import HubSpotRoute

__all__ = ["router"]

router = APIRouter(prefix="/crm/v3/properties", tags=["properties"], route_class=HubSpotRoute)

ObjectType = Annotated[str, Path(max_length=200)]
PropertyName = Annotated[str, Path(max_length=100)]
GroupName = Annotated[str, Path(max_length=100)]
_NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Archived."}}
_BATCH_207: dict[int | str, dict[str, Any]] = {
    207: {"model": BatchPropertyResponseWithErrors, "description": "Some inputs failed."}
}


def _default_group(schema: ObjectSchema) -> str:
    return schema.groups[0].name if schema.groups else ""


def _out(schema: ObjectSchema, prop: PropertyDef) -> PropertyOut:
    return property_json(prop, _default_group(schema))


def _not_found(schema: ObjectSchema, name: str) -> ApiError:
    shown = name if len(name) <= 100 else name[:97] + "..."
    return ApiError(
        404,
        f"Property {shown} does not exist on {schema.name}",
        "OBJECT_NOT_FOUND",
    )


def _find(store: Store, schema: ObjectSchema, name: str, *, archived: bool = False) -> PropertyDef:
    """A live property (or, with ``archived``, an archived one); 404 when there is none."""
    if archived:
        for prop in store.list_properties(schema.name, include_archived=True):
            if prop.name == name and prop.archived:
                return prop
        raise _not_found(schema, name)
    try:
        return store.get_property(schema.name, name)
    except NotFoundError:
        raise _not_found(schema, name) from None


# ------------------------------------------------------------------ groups
# Declared before "/{objectType}/{propertyName}", which would otherwise take "groups".


def _group_out(name: str, label: str, order: int) -> PropertyGroupOut:
    return PropertyGroupOut(name=name, label=label, displayOrder=order, archived=False)


def _group_not_found(schema: ObjectSchema, name: str) -> ApiError:
    shown = name if len(name) <= 100 else name[:97] + "..."
    return ApiError(
        404, f"Property group {shown} does not exist on {schema.name}", "OBJECT_NOT_FOUND"
    )


@router.get("/{objectType}/groups", response_model=GroupList, responses=ERROR_RESPONSES)
def list_groups(request: Request, objectType: ObjectType) -> GroupList:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    return GroupList(
        results=[
            _group_out(g.name, g.label, g.display_order) for g in store.list_groups(schema.name)
        ]
    )


@router.post(
    "/{objectType}/groups",
    status_code=201,
    response_model=PropertyGroupOut,
    responses=ERROR_RESPONSES,
)
def create_group(
    request: Request, objectType: ObjectType, body: GroupCreateBody
) -> PropertyGroupOut:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    store.create_group(schema.name, GroupSpec(body.name, body.label, body.displayOrder))
    group = store.get_group(schema.name, body.name)
    return _group_out(group.name, group.label, group.display_order)


@router.get(
    "/{objectType}/groups/{groupName}", response_model=PropertyGroupOut, responses=ERROR_RESPONSES
)
def get_group(request: Request, objectType: ObjectType, groupName: GroupName) -> PropertyGroupOut:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    try:
        group = store.get_group(schema.name, groupName)
    except NotFoundError:
        raise _group_not_found(schema, groupName) from None
    return _group_out(group.name, group.label, group.display_order)


@router.patch(
    "/{objectType}/groups/{groupName}", response_model=PropertyGroupOut, responses=ERROR_RESPONSES
)
def update_group(
    request: Request, objectType: ObjectType, groupName: GroupName, body: GroupUpdateBody
) -> PropertyGroupOut:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    changes: dict[str, object] = {}
    if body.label is not None:
        changes["label"] = body.label
    if body.displayOrder is not None:
        changes["display_order"] = body.displayOrder
    try:
        group = store.update_group(schema.name, groupName, changes, write_source(request))
    except NotFoundError:
        raise _group_not_found(schema, groupName) from None
    return _group_out(group.name, group.label, group.display_order)


@router.delete(
    "/{objectType}/groups/{groupName}",
    status_code=204,
    response_class=Response,
    responses={**_NO_CONTENT, **ERROR_RESPONSES},
)
def archive_group(request: Request, objectType: ObjectType, groupName: GroupName) -> Response:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    try:
        store.archive_group(schema.name, groupName, write_source(request))
    except NotFoundError:
        raise _group_not_found(schema, groupName) from None
    return Response(status_code=204)


# ------------------------------------------------------------------ batch


@router.post(
    "/{objectType}/batch/create",
    status_code=201,
    response_model=BatchPropertyResponse,
    responses={**_BATCH_207, **ERROR_RESPONSES},
)
def batch_create(
    request: Request, objectType: ObjectType, body: BatchPropertiesCreateBody
) -> BatchPropertyResponse | JSONResponse:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    started = utcnow()
    results: list[PropertyOut] = []
    errors: list[StandardError] = []
    for item in body.inputs:
        try:
            created = store.create_property(schema.name, create_spec(item))
        except (ApiError, StoreError, RecordWriteError) as exc:
            errors.append(standard_error(exc, name=[item.name]))
            continue
        results.append(_out(schema, created))
    return _batch_answer(results, errors, started, ok_status=201)


@router.post(
    "/{objectType}/batch/read",
    response_model=BatchPropertyResponse,
    responses={**_BATCH_207, **ERROR_RESPONSES},
)
@reads_only
def batch_read(
    request: Request, objectType: ObjectType, body: BatchPropertiesReadBody
) -> BatchPropertyResponse | JSONResponse:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    started = utcnow()
    known = {
        p.name: p
        for p in store.list_properties(schema.name, include_archived=body.archived)
        if p.archived == body.archived
    }
    results: list[PropertyOut] = []
    errors: list[StandardError] = []
    for name in dict.fromkeys(i.name for i in body.inputs):
        if name in known:
            results.append(_out(schema, known[name]))
        else:
            errors.append(standard_error(_not_found(schema, name), name=[name]))
    return _batch_answer(results, errors, started, ok_status=200)


def _batch_answer(
    results: list[PropertyOut], errors: list[StandardError], started: datetime, *, ok_status: int
) -> JSONResponse:
    return batch_answer(
        BatchPropertyResponse,
        BatchPropertyResponseWithErrors,
        results,
        errors,
        started,
        ok_status=ok_status,
    )


@router.post(
    "/{objectType}/batch/archive",
    status_code=204,
    response_class=Response,
    responses={**_NO_CONTENT, **ERROR_RESPONSES},
)
def batch_archive(request: Request, objectType: ObjectType, body: BatchNamesBody) -> Response:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    names = list(dict.fromkeys(i.name for i in body.inputs))
    for name in names:  # all or nothing: every name is checked before the first is archived
        prop = _find(store, schema, name)
        if prop.builtin:
            raise ApiError(
                400,
                f"{schema.name}.{name} is built in and cannot be archived",
                "VALIDATION_ERROR",
            )
    for name in names:
        store.archive_property(schema.name, name)
    return Response(status_code=204)


# ------------------------------------------------------------------ properties


@router.get("/{objectType}", response_model=PropertyList, responses=ERROR_RESPONSES)
def list_properties(
    request: Request,
    objectType: ObjectType,
    archived: bool = False,
    properties: Annotated[str | None, Query(max_length=20_000)] = None,
) -> PropertyList:
    """Live properties, or with ``archived=true`` only the archived ones (as HubSpot)."""
    store = api_store(request)
    schema = resolve_object(store, objectType)
    wanted = {p.strip() for p in properties.split(",") if p.strip()} if properties else None
    return PropertyList(
        results=[
            _out(schema, p)
            for p in store.list_properties(schema.name, include_archived=archived)
            if p.archived == archived and (wanted is None or p.name in wanted)
        ]
    )


@router.post(
    "/{objectType}", status_code=201, response_model=PropertyOut, responses=ERROR_RESPONSES
)
def create_property(
    request: Request, objectType: ObjectType, body: PropertyCreateBody
) -> PropertyOut:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    return _out(schema, store.create_property(schema.name, create_spec(body)))


@router.get("/{objectType}/{propertyName}", response_model=PropertyOut, responses=ERROR_RESPONSES)
def get_property(
    request: Request, objectType: ObjectType, propertyName: PropertyName, archived: bool = False
) -> PropertyOut:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    return _out(schema, _find(store, schema, propertyName, archived=archived))


@router.patch("/{objectType}/{propertyName}", response_model=PropertyOut, responses=ERROR_RESPONSES)
def update_property(
    request: Request, objectType: ObjectType, propertyName: PropertyName, body: PropertyUpdateBody
) -> PropertyOut:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    changes = update_changes(body)
    _find(store, schema, propertyName)
    if not changes:
        return _out(schema, store.get_property(schema.name, propertyName))
    report = store.update_property(schema.name, propertyName, changes)
    return _out(schema, report.property)


@router.delete(
    "/{objectType}/{propertyName}",
    status_code=204,
    response_class=Response,
    responses={**_NO_CONTENT, **ERROR_RESPONSES},
)
def archive_property(
    request: Request, objectType: ObjectType, propertyName: PropertyName
) -> Response:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    _find(store, schema, propertyName)
    store.archive_property(schema.name, propertyName)
    return Response(status_code=204)
