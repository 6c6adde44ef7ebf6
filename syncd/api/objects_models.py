"""Bodies of the objects endpoints, in HubSpot's field names, bounded before anything is read.

Response models mirror the ones HubSpot's Python client decodes (``SimplePublicObject``,
``BatchResponseSimplePublicObject``...): the same required fields with the same types, so a
client that works against HubSpot decodes ours. Request models refuse what HubSpot would
refuse (more than 100 batch inputs, unknown operators) and bound everything else (text,
property maps, lists), so a hostile body is a 400 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
)

from store import Operator
from syncd.api.models import (
    MAX_BATCH,
    ApiModel,
    Instant,
    Name,
    Paging,
    StandardError,
    Text,
)

__all__ = [
    "MAX_HISTORY_BATCH",
    "MAX_PROPERTIES",
    "MAX_QUERY_CHARS",
    "MAX_SEARCH_LIMIT",
    "AssociatedId",
    "AssociationInput",
    "AssociationTypeInput",
    "BatchArchiveBody",
    "BatchCreateBody",
    "BatchCreateInput",
    "BatchReadBody",
    "BatchResponse",
    "BatchResponseWithErrors",
    "BatchUpdateBody",
    "BatchUpdateInput",
    "BatchUpsertBody",
    "BatchUpsertInput",
    "CreateBody",
    "FilterGroupInput",
    "FilterInput",
    "IdInput",
    "MergeBody",
    "ObjectPage",
    "PropertyMap",
    "SearchBody",
    "SearchPage",
    "SimplePublicObject",
    "SimplePublicObjectWithAssociations",
    "SimplePublicUpsertObject",
    "UpdateBody",
    "UpsertBatchResponse",
    "UpsertBatchResponseWithErrors",
    "ValueWithTimestamp",
]

MAX_PROPERTIES = 1_000  # property names in one map or one list
MAX_HISTORY_BATCH = 50  # "The maximum number of inputs ... for property histories is 50"
MAX_SEARCH_LIMIT = 200
MAX_QUERY_CHARS = 3_000
MAX_ASSOCIATIONS = 100  # associations given with one record
MAX_ID_CHARS = 400  # an id, or a unique value (an email) standing for one

# ------------------------------------------------------------------ requests

# JSON numbers and booleans are taken as the text HubSpot means by them; NaN and Infinity
# (which Python's JSON reader lets through) are not numbers a property can hold.
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Value = Text | int | FiniteFloat | bool | None
PropertyMap = Annotated[dict[Name, Value], Field(max_length=MAX_PROPERTIES)]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


IdText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(_no_nul)
]
# Strict: JSON true is not the record 1.
RecordIdValue = IdText | Annotated[int, Field(ge=0, strict=True)]
NameList = Annotated[list[Name], Field(max_length=MAX_PROPERTIES)]


class AssociationTypeInput(ApiModel):
    associationCategory: Literal["HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"]
    associationTypeId: int = Field(ge=0, le=2**31 - 1)


class PublicObjectId(ApiModel):
    id: RecordIdValue


class AssociationInput(ApiModel):
    to: PublicObjectId
    types: Annotated[list[AssociationTypeInput], Field(min_length=1, max_length=20)]


Associations = Annotated[list[AssociationInput], Field(max_length=MAX_ASSOCIATIONS)]


class CreateBody(ApiModel):
    """``SimplePublicObjectInputForCreate``."""

    properties: PropertyMap
    associations: Associations | None = None


class UpdateBody(ApiModel):
    """``SimplePublicObjectInput``."""

    properties: PropertyMap


class IdInput(ApiModel):
    id: RecordIdValue


class BatchReadBody(ApiModel):
    inputs: Annotated[list[IdInput], Field(min_length=1, max_length=MAX_BATCH)]
    properties: NameList | None = None
    propertiesWithHistory: NameList | None = None
    idProperty: Name | None = None


class BatchCreateInput(ApiModel):
    properties: PropertyMap
    associations: Associations | None = None
    objectWriteTraceId: Name | None = None


class BatchCreateBody(ApiModel):
    inputs: Annotated[list[BatchCreateInput], Field(min_length=1, max_length=MAX_BATCH)]


class BatchUpdateInput(ApiModel):
    id: RecordIdValue
    idProperty: Name | None = None
    properties: PropertyMap
    objectWriteTraceId: Name | None = None


class BatchUpdateBody(ApiModel):
    inputs: Annotated[list[BatchUpdateInput], Field(min_length=1, max_length=MAX_BATCH)]


class BatchUpsertInput(ApiModel):
    id: RecordIdValue
    idProperty: Name | None = None
    properties: PropertyMap
    objectWriteTraceId: Name | None = None


class BatchUpsertBody(ApiModel):
    inputs: Annotated[list[BatchUpsertInput], Field(min_length=1, max_length=MAX_BATCH)]


class BatchArchiveBody(ApiModel):
    inputs: Annotated[list[IdInput], Field(min_length=1, max_length=MAX_BATCH)]


class MergeBody(ApiModel):
    primaryObjectId: RecordIdValue
    objectIdToMerge: RecordIdValue


FilterValue = Text | int | FiniteFloat | bool


class FilterInput(ApiModel):
    propertyName: Name
    operator: Operator
    value: FilterValue | None = None
    values: Annotated[list[FilterValue], Field(max_length=10_000)] | None = None
    highValue: FilterValue | None = None


class FilterGroupInput(ApiModel):
    filters: Annotated[list[FilterInput], Field(max_length=6)]


class SortInput(ApiModel):
    propertyName: Name
    direction: Literal["ASCENDING", "DESCENDING"] = "ASCENDING"


OffsetText = Annotated[str, StringConstraints(pattern=r"^\d{1,9}$")]


class SearchBody(ApiModel):
    """``PublicObjectSearchRequest``; ``sorts`` items are objects or ``"prop"``/``"-prop"``."""

    filterGroups: Annotated[list[FilterGroupInput], Field(max_length=5)] | None = None
    sorts: Annotated[list[SortInput | Name], Field(max_length=1)] | None = None
    query: (
        Annotated[str, StringConstraints(max_length=MAX_QUERY_CHARS), AfterValidator(_no_nul)]
        | None
    ) = None
    properties: NameList | None = None
    limit: int = Field(10, ge=1, le=MAX_SEARCH_LIMIT)
    after: OffsetText | Annotated[int, Field(ge=0, strict=True)] | None = None


# ------------------------------------------------------------------ responses


class ValueWithTimestamp(BaseModel):
    value: str
    timestamp: Instant
    sourceType: str
    sourceId: str | None = None
    sourceLabel: str | None = None
    updatedByUserId: int | None = None


class SimplePublicObject(BaseModel):
    id: str
    properties: dict[str, str | None]
    propertiesWithHistory: dict[str, list[ValueWithTimestamp]] | None = None
    createdAt: Instant
    updatedAt: Instant
    archived: bool
    archivedAt: Instant | None = None
    objectWriteTraceId: str | None = None


class AssociatedId(BaseModel):
    id: str
    type: str


class AssociatedIds(BaseModel):
    results: list[AssociatedId]
    paging: Paging | None = None


class SimplePublicObjectWithAssociations(SimplePublicObject):
    associations: dict[str, AssociatedIds] | None = None


class SimplePublicUpsertObject(SimplePublicObject):
    new: bool


class ObjectPage(BaseModel):
    """``CollectionResponseSimplePublicObjectWithAssociationsForwardPaging``."""

    results: list[SimplePublicObjectWithAssociations]
    paging: Paging | None = None


class SearchPage(BaseModel):
    """``CollectionResponseWithTotalSimplePublicObjectForwardPaging``."""

    total: int
    results: list[SimplePublicObject]
    paging: Paging | None = None


BatchStatus = Literal["PENDING", "PROCESSING", "CANCELED", "COMPLETE"]


class BatchResponse(BaseModel):
    status: BatchStatus = "COMPLETE"
    results: list[SimplePublicObject]
    requestedAt: Instant | None = None
    startedAt: Instant
    completedAt: Instant
    links: dict[str, str] | None = None


class BatchResponseWithErrors(BatchResponse):
    numErrors: int
    errors: list[StandardError]


class UpsertBatchResponse(BaseModel):
    status: BatchStatus = "COMPLETE"
    results: list[SimplePublicUpsertObject]
    requestedAt: Instant | None = None
    startedAt: Instant
    completedAt: Instant
    links: dict[str, str] | None = None


class UpsertBatchResponseWithErrors(UpsertBatchResponse):
    numErrors: int
    errors: list[StandardError]
