"""Bodies of the v4 association endpoints, in HubSpot's field names.

Response models carry every field HubSpot's Python client requires
(``MultiAssociatedObjectWithLabel``, ``LabelsBetweenObjectPair``,
``BatchResponsePublicDefaultAssociation``...). Batch bodies are limited as HubSpot limits
them: 2,000 pairs to create or remove, 1,000 records to read.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from syncd.api.models import ApiModel, Instant, Paging, StandardError, StrOrNull

__all__ = [
    "MAX_BATCH_LINKS",
    "MAX_BATCH_READ",
    "MAX_TYPES",
    "AssociationSpecIn",
    "AssociationSpecOut",
    "AssociationTypeOut",
    "BatchArchiveBody",
    "BatchCreateBody",
    "BatchDefaultBody",
    "BatchDefaultResponse",
    "BatchLabelsResponse",
    "BatchLabelsResponseWithErrors",
    "BatchReadBody",
    "BatchReadResponse",
    "BatchReadResponseWithErrors",
    "DefaultAssociationOut",
    "LabelCreateBody",
    "LabelList",
    "LabelUpdateBody",
    "LabelsBetweenPair",
    "MultiAssociatedObject",
    "ObjectIdIn",
    "ObjectIdOut",
    "PairAssociations",
    "PairAssociationsPage",
]

MAX_BATCH_LINKS = 2_000  # "≤ 2,000 inputs" for batch create (and, here, the other writes)
MAX_BATCH_READ = 1_000
MAX_TYPES = 20  # association types given for one pair (HubSpot allows 10 labels a pair)
TypeId = Annotated[int, Field(ge=0, le=2**31 - 1)]
Category = Literal["HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


IdText = Annotated[str, StringConstraints(min_length=1, max_length=40), AfterValidator(_no_nul)]
LabelText = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_no_nul)]

# ------------------------------------------------------------------ requests


class AssociationSpecIn(ApiModel):
    """``AssociationSpec``: one association type, by category and type id."""

    associationCategory: Category
    associationTypeId: TypeId


Specs = Annotated[list[AssociationSpecIn], Field(min_length=1, max_length=MAX_TYPES)]


class ObjectIdIn(ApiModel):
    """``PublicObjectId``: HubSpot's clients send the id as text, some as a number."""

    id: IdText | Annotated[int, Field(ge=0)]


class DefaultPairIn(ApiModel):
    from_: ObjectIdIn = Field(alias="from")
    to: ObjectIdIn


class LabelledPairIn(ApiModel):
    from_: ObjectIdIn = Field(alias="from")
    to: ObjectIdIn
    types: Specs


class ArchivePairIn(ApiModel):
    from_: ObjectIdIn = Field(alias="from")
    to: Annotated[list[ObjectIdIn], Field(max_length=MAX_BATCH_LINKS)]


class ReadIn(ApiModel):
    id: IdText | Annotated[int, Field(ge=0)]
    after: IdText | None = None


class BatchDefaultBody(ApiModel):
    inputs: Annotated[list[DefaultPairIn], Field(max_length=MAX_BATCH_LINKS)]


class BatchCreateBody(ApiModel):
    inputs: Annotated[list[LabelledPairIn], Field(max_length=MAX_BATCH_LINKS)]


class BatchArchiveBody(ApiModel):
    inputs: Annotated[list[ArchivePairIn], Field(max_length=MAX_BATCH_LINKS)]


class BatchReadBody(ApiModel):
    inputs: Annotated[list[ReadIn], Field(max_length=MAX_BATCH_READ)]


class LabelCreateBody(ApiModel):
    """``PublicAssociationDefinitionCreateRequest``; ``name`` is derived from the label."""

    label: LabelText
    name: LabelText | None = None
    inverseLabel: LabelText | None = None


class LabelUpdateBody(ApiModel):
    """``PublicAssociationDefinitionUpdateRequest``."""

    associationTypeId: TypeId
    label: LabelText
    inverseLabel: LabelText | None = None


# ------------------------------------------------------------------ responses


class AssociationTypeOut(BaseModel):
    """``AssociationSpecWithLabel``: the unlabelled type has ``label: null``."""

    category: str
    typeId: int
    label: StrOrNull


class MultiAssociatedObject(BaseModel):
    """``MultiAssociatedObjectWithLabel``."""

    toObjectId: str
    associationTypes: list[AssociationTypeOut]


class PairAssociationsPage(BaseModel):
    """``CollectionResponseMultiAssociatedObjectWithLabelForwardPaging``."""

    results: list[MultiAssociatedObject]
    paging: Paging | None = None


class LabelsBetweenPair(BaseModel):
    """``LabelsBetweenObjectPair``: what a pair carries after a labelled associate."""

    fromObjectTypeId: str
    fromObjectId: str
    toObjectTypeId: str
    toObjectId: str
    labels: list[str]


class ObjectIdOut(BaseModel):
    id: str


class AssociationSpecOut(BaseModel):
    associationCategory: str
    associationTypeId: int


class DefaultAssociationOut(BaseModel):
    """``PublicDefaultAssociation``."""

    model_config = ConfigDict(populate_by_name=True)

    from_: ObjectIdOut = Field(validation_alias="from", serialization_alias="from")
    to: ObjectIdOut
    associationSpec: AssociationSpecOut


class _BatchAnswer(BaseModel):
    status: Literal["COMPLETE"] = "COMPLETE"
    startedAt: Instant
    completedAt: Instant
    requestedAt: Instant | None = None
    links: dict[str, str] | None = None


class BatchDefaultResponse(_BatchAnswer):
    """``BatchResponsePublicDefaultAssociation`` (its errors ride in the same model)."""

    results: list[DefaultAssociationOut]
    numErrors: int | None = None
    errors: list[StandardError] | None = None


class BatchLabelsResponse(_BatchAnswer):
    """``BatchResponseLabelsBetweenObjectPair``."""

    results: list[LabelsBetweenPair]


class BatchLabelsResponseWithErrors(BatchLabelsResponse):
    numErrors: int
    errors: list[StandardError]


class PairAssociations(BaseModel):
    """``PublicAssociationMultiWithLabel``: one record's associations in a batch read."""

    model_config = ConfigDict(populate_by_name=True)

    from_: ObjectIdOut = Field(validation_alias="from", serialization_alias="from")
    to: list[MultiAssociatedObject]
    paging: Paging | None = None


class BatchReadResponse(_BatchAnswer):
    """``BatchResponsePublicAssociationMultiWithLabel``."""

    results: list[PairAssociations]


class BatchReadResponseWithErrors(BatchReadResponse):
    numErrors: int
    errors: list[StandardError]


class LabelList(BaseModel):
    """``CollectionResponseAssociationSpecWithLabelNoPaging``."""

    results: list[AssociationTypeOut]
