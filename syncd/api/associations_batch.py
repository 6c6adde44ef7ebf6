"""``/crm/v4/associations/{from}/{to}/batch/...``: associations in batches.

Writes run in one transaction and answer per input: batch create 201, or 207 with the
failed inputs; batch associate/default always 200 (HubSpot's only answer to it), with
``errors`` when some failed. Removals (archive, labels/archive) answer 204 and skip pairs
that are not linked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from store import LinkRequest, ObjectSchema, Store, is_record_id, utcnow
from store.errors import RecordWriteError
from syncd.api.answers import batch_answer
from syncd.api.associations_common import (
    MAX_PAGE,
    NO_CONTENT,
    ObjectType,
    checked_type_ids,
    default_results,
    pair_json,
    pair_types,
    parse_record_id,
    resolve_pair,
    type_json,
)
from syncd.api.associations_models import (
    MAX_BATCH_LINKS,
    BatchArchiveBody,
    BatchCreateBody,
    BatchDefaultBody,
    BatchDefaultResponse,
    BatchLabelsResponse,
    BatchLabelsResponseWithErrors,
    BatchReadBody,
    BatchReadResponse,
    BatchReadResponseWithErrors,
    MultiAssociatedObject,
    ObjectIdOut,
    PairAssociations,
)
from syncd.api.context import reads_only, write_source
from syncd.api.errors import ApiError
from syncd.api.models import ERROR_RESPONSES, NextPage, Paging, StandardError
from syncd.api.properties_convert import standard_error
from syncd.api.routing import HubSpotRoute

__all__ = ["router"]

router = APIRouter(prefix="/associations", tags=["associations"], route_class=HubSpotRoute)


def _parse_ids(a: ObjectSchema, b: ObjectSchema, raw_from: Any, raw_to: Any) -> tuple[int, int]:
    return parse_record_id(a, raw_from), parse_record_id(b, raw_to)


def _run_links(
    request: Request,
    store: Store,
    a: ObjectSchema,
    b: ObjectSchema,
    prepared: list[LinkRequest | ApiError],
    contexts: list[dict[str, list[str]]],
    *,
    replace: bool,
) -> tuple[list[tuple[int, Any]], list[StandardError]]:
    """Write the valid links in one transaction; (input index, pair) done and errors."""
    valid = [(i, x) for i, x in enumerate(prepared) if isinstance(x, LinkRequest)]
    outcomes = (
        store.set_associations(
            a.name, b.name, [x for _, x in valid], write_source(request), replace=replace
        )
        if valid
        else []
    )
    done: list[tuple[int, Any]] = []
    failed: dict[int, Exception] = {i: x for i, x in enumerate(prepared) if isinstance(x, ApiError)}
    for (index, _), outcome in zip(valid, outcomes, strict=True):
        if isinstance(outcome, RecordWriteError):
            failed[index] = outcome
        else:
            done.append((index, outcome))
    errors = [standard_error(failed[i], **contexts[i]) for i in sorted(failed)]
    return done, errors


@router.post(
    "/{fromObjectType}/{toObjectType}/batch/associate/default",
    response_model=BatchDefaultResponse,
    responses=ERROR_RESPONSES,
)
def batch_associate_default(
    request: Request, fromObjectType: ObjectType, toObjectType: ObjectType, body: BatchDefaultBody
) -> BatchDefaultResponse:
    """Always 200 (HubSpot's answer to this call), with ``errors`` when some inputs failed."""
    started = utcnow()
    store, a, b = resolve_pair(request, fromObjectType, toObjectType)
    prepared: list[LinkRequest | ApiError] = []
    contexts = []
    for item in body.inputs:
        contexts.append({"fromObjectId": [str(item.from_.id)], "toObjectId": [str(item.to.id)]})
        try:
            prepared.append(LinkRequest(*_parse_ids(a, b, item.from_.id, item.to.id)))
        except ApiError as exc:
            prepared.append(exc)
    done, errors = _run_links(request, store, a, b, prepared, contexts, replace=False)
    types = pair_types(store, a, b)
    results = [r for _, x in done for r in default_results(types, x.from_id, x.to_id)]
    return BatchDefaultResponse(
        results=results,
        startedAt=started,
        completedAt=utcnow(),
        numErrors=len(errors) if errors else None,
        errors=errors or None,
    )


@router.post(
    "/{fromObjectType}/{toObjectType}/batch/create",
    status_code=201,
    response_model=BatchLabelsResponse,
    responses={
        207: {"model": BatchLabelsResponseWithErrors, "description": "Some inputs failed."},
        **ERROR_RESPONSES,
    },
)
def batch_create(
    request: Request, fromObjectType: ObjectType, toObjectType: ObjectType, body: BatchCreateBody
) -> JSONResponse:
    """Each pair ends with exactly the types sent for it, like the single labelled PUT."""
    started = utcnow()
    store, a, b = resolve_pair(request, fromObjectType, toObjectType)
    types = pair_types(store, a, b)
    prepared: list[LinkRequest | ApiError] = []
    contexts = []
    for item in body.inputs:
        contexts.append({"fromObjectId": [str(item.from_.id)], "toObjectId": [str(item.to.id)]})
        try:
            ids = _parse_ids(a, b, item.from_.id, item.to.id)
            prepared.append(LinkRequest(*ids, checked_type_ids(a, b, types, item.types)))
        except ApiError as exc:
            prepared.append(exc)
    done, errors = _run_links(request, store, a, b, prepared, contexts, replace=True)
    results = [pair_json(a, b, x) for _, x in done]
    return batch_answer(
        BatchLabelsResponse, BatchLabelsResponseWithErrors, results, errors, started, ok_status=201
    )


@router.post(
    "/{fromObjectType}/{toObjectType}/batch/read",
    response_model=BatchReadResponse,
    responses={
        207: {"model": BatchReadResponseWithErrors, "description": "Some inputs failed."},
        **ERROR_RESPONSES,
    },
)
@reads_only
def batch_read(
    request: Request, fromObjectType: ObjectType, toObjectType: ObjectType, body: BatchReadBody
) -> JSONResponse:
    """Up to 500 associations per record, with a per-record ``after`` to page on."""
    started = utcnow()
    store, a, b = resolve_pair(request, fromObjectType, toObjectType)
    wanted: list[tuple[int, int]] = []
    failed: dict[int, Exception] = {}
    slots: list[int] = []
    for index, item in enumerate(body.inputs):
        try:
            record_id = parse_record_id(a, item.id)
            after = item.after or "0"
            if not after.isdigit() or len(after) > 19:
                raise ApiError(400, f"after {after!r} is not a paging cursor", "VALIDATION_ERROR")
        except ApiError as exc:
            failed[index] = exc
            continue
        slots.append(index)
        wanted.append((record_id, int(after)))
    pages = store.associations_pages(a.name, wanted, b.name, limit=MAX_PAGE) if wanted else []
    results: list[PairAssociations] = []
    for index, (record_id, _), page in zip(slots, wanted, pages, strict=True):
        if isinstance(page, RecordWriteError):
            failed[index] = page
            continue
        results.append(
            PairAssociations(
                from_=ObjectIdOut(id=str(record_id)),
                to=[
                    MultiAssociatedObject(
                        toObjectId=str(x.to_id),
                        associationTypes=[type_json(t) for t in x.labels],
                    )
                    for x in page.associations
                ],
                paging=Paging(next=NextPage(after=str(page.next_after)))
                if page.next_after is not None
                else None,
            )
        )
    errors = [standard_error(failed[i], id=[str(body.inputs[i].id)]) for i in sorted(failed)]
    return batch_answer(
        BatchReadResponse, BatchReadResponseWithErrors, results, errors, started, ok_status=200
    )


def _quiet_ids(raw_from: Any, raw_to: Any) -> tuple[int, int] | None:
    """Ids for a removal: what cannot be a record id cannot be linked, so it is skipped."""
    f, t = str(raw_from).strip(), str(raw_to).strip()
    if f.isdigit() and t.isdigit() and len(f) <= 19 and len(t) <= 19:
        if is_record_id(int(f)) and is_record_id(int(t)):
            return int(f), int(t)
    return None


@router.post(
    "/{fromObjectType}/{toObjectType}/batch/archive",
    status_code=204,
    response_class=Response,
    responses={**NO_CONTENT, **ERROR_RESPONSES},
)
def batch_archive(
    request: Request, fromObjectType: ObjectType, toObjectType: ObjectType, body: BatchArchiveBody
) -> Response:
    """Remove every association between each pair; pairs that are not linked are skipped."""
    store, a, b = resolve_pair(request, fromObjectType, toObjectType)
    links = [
        LinkRequest(*ids)
        for item in body.inputs
        for to in item.to
        if (ids := _quiet_ids(item.from_.id, to.id)) is not None
    ]
    if len(links) > MAX_BATCH_LINKS:
        raise ApiError(
            400,
            f"at most {MAX_BATCH_LINKS} pairs can be removed at once, got {len(links)}",
            "VALIDATION_ERROR",
        )
    if links:
        store.remove_association_types(a.name, b.name, links, write_source(request))
    return Response(status_code=204)


@router.post(
    "/{fromObjectType}/{toObjectType}/batch/labels/archive",
    status_code=204,
    response_class=Response,
    responses={**NO_CONTENT, **ERROR_RESPONSES},
)
def batch_archive_labels(
    request: Request, fromObjectType: ObjectType, toObjectType: ObjectType, body: BatchCreateBody
) -> Response:
    """Remove the given types from each pair; removing the default type removes them all."""
    store, a, b = resolve_pair(request, fromObjectType, toObjectType)
    types = pair_types(store, a, b)
    links = []
    for item in body.inputs:
        type_ids = checked_type_ids(a, b, types, item.types)
        ids = _quiet_ids(item.from_.id, item.to.id)
        if ids is not None:
            links.append(LinkRequest(*ids, type_ids))
    if links:
        store.remove_association_types(a.name, b.name, links, write_source(request))
    return Response(status_code=204)
