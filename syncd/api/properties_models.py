"""Bodies of the properties and property-group endpoints, in HubSpot's field names.

Response models carry every field HubSpot's Python client requires (``Property``,
``PropertyGroup``, ``BatchResponseProperty``...), so a client written against HubSpot decodes
ours. Request models bound every string to what the store's columns hold (labels 200
characters, names 100), so an oversized or hostile body is a 400, never a database error.
Types and field types are checked by the store, whose message lists the valid ones.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
)

from syncd.api.models import MAX_BATCH, ApiModel, Instant, Name, StandardError, Text

__all__ = [
    "MAX_OPTIONS",
    "BatchNamesBody",
    "BatchPropertiesCreateBody",
    "BatchPropertiesReadBody",
    "BatchPropertyResponse",
    "BatchPropertyResponseWithErrors",
    "GroupCreateBody",
    "GroupList",
    "GroupUpdateBody",
    "Label",
    "ModificationMetadata",
    "OptionIn",
    "OptionOut",
    "PropertyCreateBody",
    "PropertyGroupOut",
    "PropertyList",
    "PropertyOut",
    "PropertyUpdateBody",
    "ShortText",
]

MAX_OPTIONS = 1_000  # options of one enumeration
MAX_LABEL_CHARS = 200  # the label columns' width
MAX_OPTION_CHARS = 3_000  # the store refuses longer option values
MAX_ORDER = 2**31 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


Label = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_LABEL_CHARS),
    AfterValidator(_no_nul),
]
ShortText = Annotated[str, StringConstraints(max_length=MAX_OPTION_CHARS), AfterValidator(_no_nul)]
Order = Annotated[int, Field(ge=-1, le=MAX_ORDER)]


# ------------------------------------------------------------------ requests


class OptionIn(ApiModel):
    """``OptionInput``: only ``value`` matters to values; the rest is for people."""

    label: ShortText
    value: ShortText
    displayOrder: Order | None = None
    hidden: bool = False
    description: ShortText | None = None


Options = Annotated[list[OptionIn], Field(max_length=MAX_OPTIONS)]


class PropertyCreateBody(ApiModel):
    """``PropertyCreate``."""

    name: Name
    label: Label
    type: Annotated[str, StringConstraints(max_length=40)]
    fieldType: Annotated[str, StringConstraints(max_length=40)]
    groupName: Name
    description: Text = ""
    options: Options = Field(default_factory=list)
    displayOrder: Order = -1
    hasUniqueValue: bool = False
    hidden: bool = False
    formField: bool = False
    calculationFormula: Text | None = None
    externalOptions: bool = False
    referencedObjectType: Annotated[str, StringConstraints(max_length=40)] | None = None
    textDisplayHint: Annotated[str, StringConstraints(max_length=40)] | None = None


class PropertyUpdateBody(ApiModel):
    """``PropertyUpdate``: every field optional; absent ones stay as they are."""

    label: Label | None = None
    type: Annotated[str, StringConstraints(max_length=40)] | None = None
    fieldType: Annotated[str, StringConstraints(max_length=40)] | None = None
    groupName: Name | None = None
    description: Text | None = None
    options: Options | None = None
    displayOrder: Order | None = None
    hidden: bool | None = None
    formField: bool | None = None
    calculationFormula: Text | None = None


class PropertyName(ApiModel):
    name: Name


class BatchPropertiesCreateBody(ApiModel):
    inputs: Annotated[list[PropertyCreateBody], Field(max_length=MAX_BATCH)]


class BatchPropertiesReadBody(ApiModel):
    archived: bool = False
    inputs: Annotated[list[PropertyName], Field(max_length=MAX_BATCH)]


class BatchNamesBody(ApiModel):
    inputs: Annotated[list[PropertyName], Field(max_length=MAX_BATCH)]


class GroupCreateBody(ApiModel):
    """``PropertyGroupCreate``."""

    name: Name
    label: Label
    displayOrder: Order = -1


class GroupUpdateBody(ApiModel):
    """``PropertyGroupUpdate``."""

    label: Label | None = None
    displayOrder: Order | None = None


# ------------------------------------------------------------------ responses


class OptionOut(BaseModel):
    label: str
    value: str
    displayOrder: int
    hidden: bool
    description: str = ""


class ModificationMetadata(BaseModel):
    archivable: bool
    readOnlyDefinition: bool
    readOnlyValue: bool
    readOnlyOptions: bool | None = None


class PropertyOut(BaseModel):
    """``Property``: a definition as HubSpot shows it."""

    name: str
    label: str
    type: str
    fieldType: str
    groupName: str
    description: str
    options: list[OptionOut]
    displayOrder: int
    hasUniqueValue: bool
    hidden: bool
    formField: bool
    calculated: bool
    externalOptions: bool
    hubspotDefined: bool | None = None
    referencedObjectType: str | None = None
    textDisplayHint: str | None = None
    dataSensitivity: Literal["non_sensitive"] = "non_sensitive"
    modificationMetadata: ModificationMetadata
    createdAt: Instant
    updatedAt: Instant
    archived: bool
    archivedAt: Instant | None = None


class PropertyList(BaseModel):
    """``CollectionResponsePropertyNoPaging``."""

    results: list[PropertyOut]


class PropertyGroupOut(BaseModel):
    name: str
    label: str
    displayOrder: int
    archived: bool


class GroupList(BaseModel):
    """``CollectionResponsePropertyGroupNoPaging``."""

    results: list[PropertyGroupOut]


class BatchPropertyResponse(BaseModel):
    """``BatchResponseProperty``."""

    status: Literal["COMPLETE"] = "COMPLETE"
    results: list[PropertyOut]
    startedAt: Instant
    completedAt: Instant
    requestedAt: Instant | None = None
    links: dict[str, str] | None = None


class BatchPropertyResponseWithErrors(BatchPropertyResponse):
    """``BatchResponsePropertyWithErrors``: the 207 answer."""

    numErrors: int
    errors: list[StandardError]
