"""``POST /crm/v3/objects/{objectType}/search``: HubSpot's search, offsets and limits included.

HubSpot's ``after`` here is a position ("10", "20"...) that clients pass back as it came, and
HubSpot refuses to look past the 10,000th match; both hold here, so a client that copes with
HubSpot's cap (restarting its query from the last value it read) behaves the same against
syncd. Filter groups and sorts go to the store as HubSpot wrote them; its refusals (too
many filters, an unknown property, a value that does not fit) come back as 400s naming
the part of the body at fault.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from store import parse_sorts
from syncd.api.context import api_store, reads_only
from syncd.api.errors import ApiError, error_detail
from syncd.api.models import ERROR_RESPONSES
from syncd.api.objects_common import ObjectTypePath
from syncd.api.objects_models import SearchBody, SearchPage
from syncd.api.objects_out import chosen_properties, object_json, query_properties
from syncd.api.objecttypes import resolve_object
from syncd.api.routing import HubSpotRoute

__all__ = ["MAX_RESULTS", "router"]

router = APIRouter(tags=["search"], route_class=HubSpotRoute)

MAX_RESULTS = 10_000  # "The search endpoints are limited to 10,000 total results"


@router.post(
    "/crm/v3/objects/{objectType}/search",
    response_model=SearchPage,
    response_model_exclude_unset=True,
    responses=ERROR_RESPONSES,
    summary="Search records by filter groups, sorts and free text",
)
@reads_only
def search(request: Request, objectType: ObjectTypePath, body: SearchBody) -> dict[str, Any]:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    offset = int(body.after) if body.after is not None else 0
    if offset >= MAX_RESULTS:
        raise ApiError(
            400,
            f"after: {offset} is past the last of the {MAX_RESULTS:,} results a search can "
            "reach; narrow the filters (e.g. on the sort property) and search again",
            "VALIDATION_ERROR",
            errors=[error_detail("past the search result cap", "INVALID_OFFSET", where="after")],
        )
    groups = [
        {"filters": [f.model_dump(exclude_none=True) for f in group.filters]}
        for group in body.filterGroups or ()
    ]
    # "-createdate" / "createdate:desc" strings or {propertyName, direction} objects.
    sorts = parse_sorts([s if isinstance(s, str) else s.model_dump() for s in body.sorts or ()])
    page = store.search_records(
        schema.name,
        groups,
        sorts,
        limit=min(body.limit, MAX_RESULTS - offset),
        offset=offset,
        query=body.query if body.query and body.query.strip() else None,
        query_properties=query_properties(schema),
    )
    names = chosen_properties(schema, body.properties)
    out: dict[str, Any] = {
        "total": page.total,
        "results": [object_json(record, names) for record in page.records],
    }
    if page.next_offset is not None:
        after = str(page.next_offset)
        out["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
    return out
