"""``/crm/v4/associations/{from}/{to}/labels``: association labels (definitions).

Only USER_DEFINED labels can be renamed or deleted, and a label still carried by records is
not deleted (remove it from them first), so no association is ever left without its type.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from syncd.api.associations_common import NO_CONTENT, ObjectType, resolve_pair, type_json
from syncd.api.associations_models import LabelCreateBody, LabelList, LabelUpdateBody
from syncd.api.context import write_source
from syncd.api.models import ERROR_RESPONSES
from syncd.api.routing import HubSpotRoute

__all__ = ["router"]

router = APIRouter(prefix="/associations", tags=["associations"], route_class=HubSpotRoute)


@router.get(
    "/{fromObjectType}/{toObjectType}/labels",
    response_model=LabelList,
    responses=ERROR_RESPONSES,
)
def list_labels(
    request: Request, fromObjectType: ObjectType, toObjectType: ObjectType
) -> LabelList:
    store, a, b = resolve_pair(request, fromObjectType, toObjectType)
    return LabelList(results=[type_json(x) for x in store.list_labels(a.name, b.name)])


@router.post(
    "/{fromObjectType}/{toObjectType}/labels",
    response_model=LabelList,
    responses=ERROR_RESPONSES,
)
def create_label(
    request: Request, fromObjectType: ObjectType, toObjectType: ObjectType, body: LabelCreateBody
) -> LabelList:
    """A user-defined label (paired when ``inverseLabel`` is given); both directions' types."""
    store, a, b = resolve_pair(request, fromObjectType, toObjectType)
    made = store.create_label(a.name, b.name, body.label, body.inverseLabel)
    ids = {x.type_id for x in made} | {x.inverse_type_id for x in made}
    both = {
        x.type_id: x
        for x in [*store.list_labels(a.name, b.name), *store.list_labels(b.name, a.name)]
        if x.type_id in ids
    }
    return LabelList(results=[type_json(both[i]) for i in sorted(both)])


@router.put(
    "/{fromObjectType}/{toObjectType}/labels",
    status_code=204,
    response_class=Response,
    responses={**NO_CONTENT, **ERROR_RESPONSES},
)
def update_label(
    request: Request, fromObjectType: ObjectType, toObjectType: ObjectType, body: LabelUpdateBody
) -> Response:
    store, a, b = resolve_pair(request, fromObjectType, toObjectType)
    store.update_label(
        a.name, b.name, body.associationTypeId, body.label, body.inverseLabel, write_source(request)
    )
    return Response(status_code=204)


@router.delete(
    "/{fromObjectType}/{toObjectType}/labels/{associationTypeId}",
    status_code=204,
    response_class=Response,
    responses={**NO_CONTENT, **ERROR_RESPONSES},
)
def delete_label(
    request: Request,
    fromObjectType: ObjectType,
    toObjectType: ObjectType,
    associationTypeId: Annotated[int, Path(ge=0, le=2**31 - 1)],
) -> Response:
    store, a, b = resolve_pair(request, fromObjectType, toObjectType)
    store.delete_label(a.name, b.name, associationTypeId, write_source(request))
    return Response(status_code=204)
