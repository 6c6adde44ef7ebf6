"""``/crm/v4/objects/.../associations``: one record's associations, and the v4 router.

Association types travel as HubSpot's ``{associationCategory, associationTypeId}``; the ids
are the store's type ids (HubSpot's own for the built-in pairs: contact→company 279, 1 for
Primary...). A labelled PUT, single or batch, leaves the pair with exactly the types sent
(plus the default type every association has): labels not sent are removed, as HubSpot
replaces a pair's labels unless the old ones are sent again. Batches live in
``associations_batch``, labels in ``associations_labels``; this router includes both.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from store import LinkRequest, utcnow
from syncd.api import associations_batch, associations_labels
from syncd.api.associations_common import (
    MAX_PAGE,
    NO_CONTENT,
    ObjectType,
    RecordId,
    checked_type_ids,
    default_results,
    pair_json,
    pair_types,
    parse_record_id,
    resolve_pair,
    type_json,
)
from syncd.api.associations_models import (
    MAX_TYPES,
    AssociationSpecIn,
    BatchDefaultResponse,
    LabelsBetweenPair,
    MultiAssociatedObject,
    PairAssociationsPage,
)
from syncd.api.context import write_source
from syncd.api.errors import ApiError
from syncd.api.models import ERROR_RESPONSES, NextPage, Paging
from syncd.api.routing import HubSpotRoute

__all__ = ["router"]

router = APIRouter(prefix="/crm/v4", tags=["associations"], route_class=HubSpotRoute)


# ------------------------------------------------------------------ one record


@router.get(
    "/objects/{objectType}/{objectId}/associations/{toObjectType}",
    response_model=PairAssociationsPage,
    responses=ERROR_RESPONSES,
)
def list_associations(
    request: Request,
    objectType: ObjectType,
    objectId: RecordId,
    toObjectType: ObjectType,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
    after: Annotated[str | None, Query(max_length=40)] = None,
) -> PairAssociationsPage:
    store, a, b = resolve_pair(request, objectType, toObjectType)
    record_id = parse_record_id(a, objectId)
    start = 0
    if after is not None:
        if not after.isdigit() or len(after) > 19:
            raise ApiError(400, f"after {after!r} is not a paging cursor", "VALIDATION_ERROR")
        start = int(after)
    page = store.associations_page(a.name, record_id, b.name, after=start, limit=limit)
    return PairAssociationsPage(
        results=[
            MultiAssociatedObject(
                toObjectId=str(x.to_id), associationTypes=[type_json(t) for t in x.labels]
            )
            for x in page.associations
        ],
        paging=Paging(next=NextPage(after=str(page.next_after)))
        if page.next_after is not None
        else None,
    )


@router.put(
    "/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
    status_code=201,
    response_model=LabelsBetweenPair,
    responses=ERROR_RESPONSES,
)
def associate_labelled(
    request: Request,
    objectType: ObjectType,
    objectId: RecordId,
    toObjectType: ObjectType,
    toObjectId: RecordId,
    body: Annotated[list[AssociationSpecIn], Body(min_length=1, max_length=MAX_TYPES)],
) -> LabelsBetweenPair:
    """Set the pair's labels to exactly those sent (the default type always stays)."""
    store, a, b = resolve_pair(request, objectType, toObjectType)
    link = LinkRequest(
        parse_record_id(a, objectId),
        parse_record_id(b, toObjectId),
        checked_type_ids(a, b, pair_types(store, a, b), body),
    )
    (outcome,) = store.set_associations(a.name, b.name, [link], write_source(request), replace=True)
    if isinstance(outcome, Exception):
        raise outcome
    return pair_json(a, b, outcome)


@router.put(
    "/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}",
    response_model=BatchDefaultResponse,
    responses=ERROR_RESPONSES,
)
def associate_default(
    request: Request,
    fromObjectType: ObjectType,
    fromObjectId: RecordId,
    toObjectType: ObjectType,
    toObjectId: RecordId,
) -> BatchDefaultResponse:
    started = utcnow()
    store, a, b = resolve_pair(request, fromObjectType, toObjectType)
    link = LinkRequest(parse_record_id(a, fromObjectId), parse_record_id(b, toObjectId))
    (outcome,) = store.set_associations(a.name, b.name, [link], write_source(request))
    if isinstance(outcome, Exception):
        raise outcome
    return BatchDefaultResponse(
        results=default_results(pair_types(store, a, b), link.from_id, link.to_id),
        startedAt=started,
        completedAt=utcnow(),
    )


@router.delete(
    "/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
    status_code=204,
    response_class=Response,
    responses={**NO_CONTENT, **ERROR_RESPONSES},
)
def dissociate(
    request: Request,
    objectType: ObjectType,
    objectId: RecordId,
    toObjectType: ObjectType,
    toObjectId: RecordId,
) -> Response:
    """Remove every association type between the two records (the records stay)."""
    store, a, b = resolve_pair(request, objectType, toObjectType)
    from_id, to_id = parse_record_id(a, objectId), parse_record_id(b, toObjectId)
    store.get_record(a.name, from_id)
    store.get_record(b.name, to_id)
    store.remove_association_types(
        a.name, b.name, [LinkRequest(from_id, to_id)], write_source(request)
    )
    return Response(status_code=204)


router.include_router(associations_batch.router)
router.include_router(associations_labels.router)
