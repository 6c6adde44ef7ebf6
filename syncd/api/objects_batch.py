"""``/crm/v3/objects/{objectType}/batch/{read,create,update,upsert,archive}``.

A batch is refused whole (400, nothing written) when its shape is wrong: no inputs, more
than 100 (50 when reading history), an id twice, an unknown ``idProperty``. Otherwise the
store writes it non-atomically: valid inputs are written and each failing one is reported
as HubSpot reports it, in a 207 with ``errors`` (ids not found grouped in one error, as
HubSpot groups them). Inputs that carry associations are created one by one, each with its
associations in the same transaction, so a record never exists without the links asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from store import ChangeSource, NotFoundError, ObjectSchema, Record, RecordWriteError, Store, utcnow
from syncd.api.context import api_store, reads_only, write_source
from syncd.api.errors import ApiError, error_detail
from syncd.api.models import ERROR_RESPONSES
from syncd.api.objects_assoc import association_types, parse_record_id, plan_links
from syncd.api.objects_common import (
    ObjectTypePath,
    check_id_property,
    render,
    standard_error,
    store_values,
)
from syncd.api.objects_models import (
    MAX_HISTORY_BATCH,
    BatchArchiveBody,
    BatchCreateBody,
    BatchReadBody,
    BatchResponse,
    BatchResponseWithErrors,
    BatchUpdateBody,
    BatchUpsertBody,
    UpsertBatchResponse,
    UpsertBatchResponseWithErrors,
)
from syncd.api.objects_out import chosen_properties, history_properties, object_json
from syncd.api.objecttypes import resolve_object
from syncd.api.routing import HubSpotRoute

__all__ = ["archive_ids", "router"]

router = APIRouter(tags=["objects batch"], route_class=HubSpotRoute)

_BATCH = "/crm/v3/objects/{objectType}/batch"
_PARTIAL: dict[int | str, dict[str, Any]] = {
    207: {"model": BatchResponseWithErrors, "description": "Some inputs failed; see errors."}
}
_UPSERT_PARTIAL: dict[int | str, dict[str, Any]] = {
    207: {"model": UpsertBatchResponseWithErrors, "description": "Some inputs failed."}
}
_ARCHIVE_RETRIES = 3


class _Outcomes:
    """Results and failures of one batch by input position, rendered as HubSpot answers."""

    def __init__(self, schema: ObjectSchema, started: datetime, *, upsert: bool = False) -> None:
        self.schema = schema
        self.started = started
        self.upsert = upsert
        self.results: dict[int, dict[str, Any]] = {}
        self.errors: list[tuple[int, dict[str, Any]]] = []
        self.missing: list[tuple[int, str]] = []

    def fail(
        self,
        index: int,
        exc: Exception,
        given_id: object = None,
        *,
        values: Mapping[str, object] | None = None,
        context: Mapping[str, str] | None = None,
    ) -> None:
        """Input ``index`` was refused; ``values`` (its properties) to name every bad one."""
        if isinstance(exc, NotFoundError) and exc.data.get("property") is None:
            self.missing.append((index, str(given_id if given_id is not None else "")))
            return
        ctx = {k: [v] for k, v in (context or {}).items()}
        if given_id is not None:
            ctx["ids"] = [str(given_id)]
        self.errors.append((index, standard_error(exc, self.schema, ctx, values)))

    def answer(self) -> dict[str, Any] | JSONResponse:
        """The success body (the route's status) when nothing failed, else a 207."""
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": [self.results[i] for i in sorted(self.results)],
            "startedAt": self.started,
            "completedAt": utcnow(),
        }
        errors = [e for _, e in sorted(self.errors, key=lambda pair: pair[0])]
        if self.missing:
            ids = [given for _, given in sorted(self.missing)]
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not find some {self.schema.name} records; they may be "
                    "archived or may not exist. Check that the ids are valid.",
                    "errors": [],
                    "context": {"ids": ids},
                    "links": {},
                }
            )
        if not errors:
            return body
        body["numErrors"] = len(errors)
        body["errors"] = errors
        model = UpsertBatchResponseWithErrors if self.upsert else BatchResponseWithErrors
        return JSONResponse(
            model.model_validate(body).model_dump(
                mode="json", by_alias=True, exclude_unset=True, exclude_none=True
            ),
            status_code=207,
        )


def _duplicates_refused(keys: Sequence[str], where: str) -> None:
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in seen:
            raise ApiError(
                400,
                f"{where}: inputs {seen[key]} and {i} name the same record ({key[:60]!r}); "
                "give each record once",
                "VALIDATION_ERROR",
                errors=[error_detail("duplicate id", "DUPLICATE_ID", where=f"inputs[{i}].id")],
            )
        seen[key] = i


def _key(value: object, id_property: str) -> str:
    text = str(value).strip()
    if id_property == "hs_object_id":
        parsed = parse_record_id(value)
        return str(parsed) if parsed is not None else text
    return text.lower()


def _lookup(
    store: Store, schema: ObjectSchema, id_property: str, ids: Sequence[object], *, archived: bool
) -> list[Record | RecordWriteError]:
    if id_property != "hs_object_id":
        return store.find_records(schema.name, id_property, list(ids))
    parsed = [parse_record_id(i) for i in ids]
    found = store.get_records(
        schema.name, [p for p in parsed if p is not None], include_archived=archived
    )
    out: list[Record | RecordWriteError] = []
    for given, record_id in zip(ids, parsed, strict=True):
        record = found.get(record_id) if record_id is not None else None
        if record is None or (archived and not record.archived):
            out.append(NotFoundError(f"no {schema.name} record {given}", object=schema.name))
        else:
            out.append(record)
    return out


@router.post(
    _BATCH + "/read",
    response_model=BatchResponse,
    response_model_exclude_unset=True,
    responses={**ERROR_RESPONSES, **_PARTIAL},
    summary="Read up to 100 records (50 with property history)",
)
@reads_only
def batch_read(
    request: Request,
    objectType: ObjectTypePath,
    body: BatchReadBody,
    archived: Annotated[bool, Query()] = False,
) -> Any:
    started = utcnow()
    store = api_store(request)
    schema = resolve_object(store, objectType)
    if body.propertiesWithHistory and len(body.inputs) > MAX_HISTORY_BATCH:
        raise ApiError(
            400,
            f"The maximum number of inputs supported in a batch request for property histories "
            f"is {MAX_HISTORY_BATCH}; got {len(body.inputs)}",
            "VALIDATION_ERROR",
        )
    id_property = check_id_property(schema, body.idProperty)
    given = [item.id for item in body.inputs]
    _duplicates_refused([_key(g, id_property) for g in given], "inputs")
    outcomes = _Outcomes(schema, started)
    found = _lookup(store, schema, id_property, given, archived=archived)
    records: list[tuple[int, Record]] = []
    for index, (wanted, record) in enumerate(zip(given, found, strict=True)):
        if isinstance(record, Record):
            records.append((index, record))
        else:
            outcomes.fail(index, record, wanted)
    rendered = render(
        store,
        schema,
        [r for _, r in records],
        chosen_properties(schema, body.properties),
        history_properties(schema, body.propertiesWithHistory),
    )
    for (index, _), item in zip(records, rendered, strict=True):
        outcomes.results[index] = item
    return outcomes.answer()


@router.post(
    _BATCH + "/create",
    status_code=201,
    response_model=BatchResponse,
    response_model_exclude_unset=True,
    responses={**ERROR_RESPONSES, **_PARTIAL},
    summary="Create up to 100 records",
)
def batch_create(request: Request, objectType: ObjectTypePath, body: BatchCreateBody) -> Any:
    started = utcnow()
    store = api_store(request)
    schema = resolve_object(store, objectType)
    source = write_source(request)
    outcomes = _Outcomes(schema, started)
    types = association_types(store, schema) if any(i.associations for i in body.inputs) else {}
    plain: list[int] = []
    for index, item in enumerate(body.inputs):
        context = _trace(item.objectWriteTraceId, index)
        if not item.associations:
            plain.append(index)
            continue
        try:
            links = plan_links(schema, item.associations, types)
            record = store.create_record(
                schema.name, store_values(item.properties), source, associations=links
            )
        except NotFoundError as exc:
            refused: Exception = exc
            if exc.data.get("property") is None:  # the record to associate with is missing
                refused = ApiError(400, f"associations: {exc.message}", "VALIDATION_ERROR")
            outcomes.fail(index, refused, context=context)
            continue
        except (ApiError, RecordWriteError) as exc:
            outcomes.fail(index, exc, values=store_values(item.properties), context=context)
            continue
        outcomes.results[index] = object_json(record, None, trace_id=item.objectWriteTraceId)
    if plain:
        result = store.create_records(
            schema.name,
            [store_values(body.inputs[i].properties) for i in plain],
            source,
            atomic=False,
        )
        failed = {f.index: f.error for f in result.failures}
        written = iter(result.records)
        for position, index in enumerate(plain):
            trace = body.inputs[index].objectWriteTraceId
            if position in failed:
                values = store_values(body.inputs[index].properties)
                outcomes.fail(index, failed[position], values=values, context=_trace(trace, index))
            else:
                outcomes.results[index] = object_json(next(written), None, trace_id=trace)
    return outcomes.answer()


def _trace(trace: str | None, index: int) -> dict[str, str]:
    context = {"inputIndex": str(index)}
    if trace is not None:
        context["objectWriteTraceId"] = trace
    return context


@router.post(
    _BATCH + "/update",
    response_model=BatchResponse,
    response_model_exclude_unset=True,
    responses={**ERROR_RESPONSES, **_PARTIAL},
    summary="Update up to 100 records by id or by a unique property",
)
def batch_update(request: Request, objectType: ObjectTypePath, body: BatchUpdateBody) -> Any:
    started = utcnow()
    store = api_store(request)
    schema = resolve_object(store, objectType)
    id_props = [check_id_property(schema, item.idProperty) for item in body.inputs]
    _duplicates_refused(
        [f"{p}:{_key(i.id, p)}" for i, p in zip(body.inputs, id_props, strict=True)], "inputs"
    )
    outcomes = _Outcomes(schema, started)
    targets: dict[int, int] = {}
    for id_property in sorted(set(id_props)):
        positions = [n for n, p in enumerate(id_props) if p == id_property]
        found = _lookup(
            store, schema, id_property, [body.inputs[n].id for n in positions], archived=False
        )
        for n, record in zip(positions, found, strict=True):
            if isinstance(record, Record):
                targets[n] = record.id
            else:
                outcomes.fail(n, record, body.inputs[n].id)
    order = sorted(targets)
    if order:
        result = store.update_records(
            schema.name,
            [(targets[n], store_values(body.inputs[n].properties)) for n in order],
            write_source(request),
            atomic=False,
        )
        _collect(outcomes, result.records, result.failures, order, body.inputs)
    return outcomes.answer()


def _collect(
    outcomes: _Outcomes,
    records: Sequence[Record],
    failures: Sequence[Any],
    order: Sequence[int],
    inputs: Sequence[Any],
    created: frozenset[int] | None = None,
) -> None:
    failed = {f.index: f.error for f in failures}
    written = iter(records)
    for position, index in enumerate(order):
        item = inputs[index]
        if position in failed:
            outcomes.fail(index, failed[position], item.id, values=store_values(item.properties))
            continue
        record = next(written)
        rendered = object_json(record, None, trace_id=item.objectWriteTraceId)
        if created is not None:
            rendered["new"] = record.id in created
        outcomes.results[index] = rendered


@router.post(
    _BATCH + "/upsert",
    response_model=UpsertBatchResponse,
    response_model_exclude_unset=True,
    responses={**ERROR_RESPONSES, **_UPSERT_PARTIAL},
    summary="Create or update up to 100 records by a unique property",
)
def batch_upsert(request: Request, objectType: ObjectTypePath, body: BatchUpsertBody) -> Any:
    started = utcnow()
    store = api_store(request)
    schema = resolve_object(store, objectType)
    id_props = {check_id_property(schema, item.idProperty) for item in body.inputs}
    if len(id_props) > 1:
        raise ApiError(
            400,
            f"inputs: every input of an upsert uses the same idProperty; got {sorted(id_props)}",
            "VALIDATION_ERROR",
        )
    (id_property,) = id_props
    _duplicates_refused([_key(i.id, id_property) for i in body.inputs], "inputs")
    outcomes = _Outcomes(schema, started, upsert=True)
    result = store.upsert_records(
        schema.name,
        id_property,
        [(item.id, store_values(item.properties)) for item in body.inputs],
        write_source(request),
        atomic=False,
    )
    _collect(
        outcomes,
        result.records,
        result.failures,
        range(len(body.inputs)),
        body.inputs,
        created=result.created,
    )
    return outcomes.answer()


@router.post(
    _BATCH + "/archive",
    status_code=204,
    response_class=Response,
    responses=ERROR_RESPONSES,
    summary="Archive up to 100 records (missing ones are not an error)",
)
def batch_archive(request: Request, objectType: ObjectTypePath, body: BatchArchiveBody) -> Response:
    store = api_store(request)
    schema = resolve_object(store, objectType)
    _duplicates_refused([_key(i.id, "hs_object_id") for i in body.inputs], "inputs")
    ids = [p for p in (parse_record_id(i.id) for i in body.inputs) if p is not None]
    archive_ids(store, schema, ids, write_source(request))
    return Response(status_code=204)


def archive_ids(
    store: Store, schema: ObjectSchema, ids: Sequence[int], source: ChangeSource
) -> None:
    """Archive those of ``ids`` that are live records; absent ones are skipped, as HubSpot does."""
    for _ in range(_ARCHIVE_RETRIES):
        found: Mapping[int, Record] = store.get_records(schema.name, ids)
        # A merged-away id answers with its winner: that one is not the record named.
        live = [i for i in ids if i in found and found[i].id == i]
        if not live:
            return
        try:
            store.archive_records(schema.name, live, source)
            return
        except NotFoundError:
            continue  # one went (purged) between the read and the write: read again
