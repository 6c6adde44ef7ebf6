"""``/crm/v3/objects/{objectType}``: list, create, read, update, archive and merge records.

The batch endpoints live in ``objects_batch`` and search in ``objects_search``; their routes
join this module's ``router``, the one the application includes. Every write carries
``write_source(request)``, so property history names the API and the token that wrote.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from store import NotFoundError
from syncd.api import objects_batch, objects_search
from syncd.api.context import api_store, write_source
from syncd.api.errors import ApiError, error_detail
from syncd.api.models import ERROR_RESPONSES
from syncd.api.objects_assoc import association_types, parse_record_id, plan_links
from syncd.api.objects_common import (
    IdPath,
    IdPropertyQuery,
    NamesQuery,
    ObjectTypePath,
    find_one,
    names_param,
    not_found,
    refusals,
    render,
    store_values,
)
from syncd.api.objects_models import (
    CreateBody,
    MergeBody,
    ObjectPage,
    SimplePublicObject,
    SimplePublicObjectWithAssociations,
    UpdateBody,
)
from syncd.api.objects_out import chosen_properties, history_properties, object_json
from syncd.api.objecttypes import resolve_object
from syncd.api.routing import HubSpotRoute

__all__ = ["router"]

router = APIRouter(tags=["objects"], route_class=HubSpotRoute)

_BASE = "/crm/v3/objects/{objectType}"
_MAX_AFTER_CHARS = 20


@router.get(
    _BASE,
    response_model=ObjectPage,
    response_model_exclude_unset=True,
    responses=ERROR_RESPONSES,
    summary="List records, oldest first",
)
def list_records(
    request: Request,
    objectType: ObjectTypePath,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    after: Annotated[str | None, Query(max_length=_MAX_AFTER_CHARS)] = None,
    properties: NamesQuery = None,
    propertiesWithHistory: NamesQuery = None,
    associations: NamesQuery = None,
    archived: bool = False,
) -> dict[str, Any]:
    """``after`` is the ``paging.next.after`` of the previous page (the last id shown)."""
    store = api_store(request)
    schema = resolve_object(store, objectType)
    after_id = 0
    if after is not None and after != "0":
        parsed = parse_record_id(after)
        if parsed is None:
            raise ApiError(
                400,
                f"after: {after!r} is not a paging cursor; pass back paging.next.after",
                "VALIDATION_ERROR",
                errors=[error_detail("not a paging cursor", "INVALID_CURSOR", where="after")],
            )
        after_id = parsed
    history = history_properties(
        schema, names_param(propertiesWithHistory, "propertiesWithHistory")
    )
    records = store.list_records(schema.name, after=after_id, limit=limit + 1, archived=archived)
    page, more = records[:limit], len(records) > limit
    body: dict[str, Any] = {
        "results": render(
            store,
            schema,
            page,
            chosen_properties(schema, names_param(properties, "properties")),
            history,
            names_param(associations, "associations"),
        )
    }
    if more:
        last = str(page[-1].id)
        link = str(request.url.include_query_params(after=last))
        body["paging"] = {"next": {"after": last, "link": link}}
    return body


@router.post(
    _BASE,
    status_code=201,
    response_model=SimplePublicObject,
    response_model_exclude_unset=True,
    responses=ERROR_RESPONSES,
    summary="Create a record, optionally with associations",
)
def create_record(request: Request, objectType: ObjectTypePath, body: CreateBody) -> dict[str, Any]:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    links = []
    if body.associations:
        links = plan_links(schema, body.associations, association_types(store, schema))
    values = store_values(body.properties)
    with refusals(schema, values):
        try:
            record = store.create_record(
                schema.name,
                values,
                write_source(request),
                associations=links,
            )
        except NotFoundError as exc:
            if exc.data.get("property") is not None:
                raise
            # The record is new, so what is missing is a record to associate with.
            raise ApiError(
                400,
                f"associations: {exc.message}",
                "VALIDATION_ERROR",
                errors=[error_detail(exc.message, "INVALID_ASSOCIATION", where="associations")],
            ) from None
    return object_json(record, None)


@router.get(
    _BASE + "/{objectId}",
    response_model=SimplePublicObjectWithAssociations,
    response_model_exclude_unset=True,
    responses=ERROR_RESPONSES,
    summary="Read a record by id or by a unique property",
)
def read_record(
    request: Request,
    objectType: ObjectTypePath,
    objectId: IdPath,
    properties: NamesQuery = None,
    propertiesWithHistory: NamesQuery = None,
    associations: NamesQuery = None,
    archived: bool = False,
    idProperty: IdPropertyQuery = None,
) -> dict[str, Any]:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    record = find_one(store, schema, objectId, idProperty, archived=archived)
    return render(
        store,
        schema,
        [record],
        chosen_properties(schema, names_param(properties, "properties")),
        history_properties(schema, names_param(propertiesWithHistory, "propertiesWithHistory")),
        names_param(associations, "associations"),
    )[0]


@router.patch(
    _BASE + "/{objectId}",
    response_model=SimplePublicObject,
    response_model_exclude_unset=True,
    responses=ERROR_RESPONSES,
    summary="Update a record's properties",
)
def update_record(
    request: Request,
    objectType: ObjectTypePath,
    objectId: IdPath,
    body: UpdateBody,
    idProperty: IdPropertyQuery = None,
) -> dict[str, Any]:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    record = find_one(store, schema, objectId, idProperty)
    values = store_values(body.properties)
    with refusals(schema, values):
        try:
            updated = store.update_record(schema.name, record.id, values, write_source(request))
        except NotFoundError as exc:
            if exc.data.get("property") is not None:
                raise
            raise not_found(schema, objectId) from None  # archived meanwhile
    return object_json(updated, None)


@router.delete(
    _BASE + "/{objectId}",
    status_code=204,
    response_class=Response,
    responses=ERROR_RESPONSES,
    summary="Archive a record (a missing one is not an error)",
)
def archive_record(request: Request, objectType: ObjectTypePath, objectId: IdPath) -> Response:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    record_id = parse_record_id(objectId)
    if record_id is not None:
        objects_batch.archive_ids(store, schema, [record_id], write_source(request))
    return Response(status_code=204)


@router.post(
    _BASE + "/merge",
    response_model=SimplePublicObject,
    response_model_exclude_unset=True,
    responses=ERROR_RESPONSES,
    summary="Merge two records: the primary keeps its values and takes the other's links",
)
def merge_records(request: Request, objectType: ObjectTypePath, body: MergeBody) -> dict[str, Any]:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    winner = parse_record_id(body.primaryObjectId)
    loser = parse_record_id(body.objectIdToMerge)
    if winner is None:
        raise not_found(schema, body.primaryObjectId)
    if loser is None:
        raise not_found(schema, body.objectIdToMerge)
    with refusals(schema):
        merged = store.merge_records(schema.name, winner, loser, write_source(request))
    return object_json(merged, None)


router.include_router(objects_batch.router)
router.include_router(objects_search.router)
