"""Bodies of the custom object schema endpoints, in HubSpot's field names.

Response models carry every field HubSpot's Python client requires (``ObjectSchema``,
``ObjectTypeDefinition``, ``AssociationDefinition``); request models bound every string and
list, so a hostile body is a 400 naming the field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from syncd.api.models import ApiModel, Instant, Name, Text
from syncd.api.properties_models import Label, OptionIn, PropertyOut

__all__ = [
    "AssociationDefinitionEgg",
    "AssociationDefinitionOut",
    "ObjectSchemaOut",
    "ObjectTypeDefinitionOut",
    "SchemaCreateBody",
    "SchemaLabels",
    "SchemaLabelsOut",
    "SchemaList",
    "SchemaPatchBody",
    "SchemaPropertyIn",
]

MAX_SCHEMA_PROPERTIES = 1_000
MAX_ASSOCIATED_OBJECTS = 100

ObjectTypeRef = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Names = Annotated[list[Name], Field(max_length=MAX_SCHEMA_PROPERTIES)]
Kind = Annotated[str, StringConstraints(max_length=40)]

# ------------------------------------------------------------------ requests


class SchemaLabels(ApiModel):
    singular: Label | None = None
    plural: Label | None = None


class SchemaPropertyIn(ApiModel):
    """``ObjectTypePropertyCreate``: type and field type default to ``string``/``text``."""

    name: Name
    label: Label
    type: Kind = "string"
    fieldType: Kind = "text"
    groupName: Name | None = None
    description: Text = ""
    options: Annotated[list[OptionIn], Field(max_length=1_000)] = Field(default_factory=list)
    displayOrder: Annotated[int, Field(ge=-1, le=2**31 - 1)] = -1
    hasUniqueValue: bool = False
    hidden: bool = False
    formField: bool = False
    textDisplayHint: Kind | None = None


class SchemaCreateBody(ApiModel):
    """``ObjectSchemaEgg``."""

    name: Name
    labels: SchemaLabels
    description: Text = ""
    primaryDisplayProperty: Name | None = None
    secondaryDisplayProperties: Names = Field(default_factory=list)
    searchableProperties: Names = Field(default_factory=list)
    requiredProperties: Names = Field(default_factory=list)
    properties: Annotated[list[SchemaPropertyIn], Field(max_length=MAX_SCHEMA_PROPERTIES)] = Field(
        default_factory=list
    )
    associatedObjects: Annotated[list[ObjectTypeRef], Field(max_length=MAX_ASSOCIATED_OBJECTS)] = (
        Field(default_factory=list)
    )


class SchemaPatchBody(ApiModel):
    """``ObjectTypeDefinitionPatch``: absent fields stay as they are."""

    labels: SchemaLabels | None = None
    description: Text | None = None
    clearDescription: bool = False
    primaryDisplayProperty: Name | None = None
    secondaryDisplayProperties: Names | None = None
    searchableProperties: Names | None = None
    requiredProperties: Names | None = None
    restorable: bool | None = None


class AssociationDefinitionEgg(ApiModel):
    fromObjectTypeId: ObjectTypeRef
    toObjectTypeId: ObjectTypeRef
    name: Name | None = None


# ------------------------------------------------------------------ responses


class SchemaLabelsOut(BaseModel):
    singular: str
    plural: str


class AssociationDefinitionOut(BaseModel):
    id: str
    fromObjectTypeId: str
    toObjectTypeId: str
    name: str | None = None
    createdAt: Instant | None = None
    updatedAt: Instant | None = None


class ObjectTypeDefinitionOut(BaseModel):
    """``ObjectTypeDefinition``: what PATCH answers."""

    id: str
    name: str
    labels: SchemaLabelsOut
    objectTypeId: str
    fullyQualifiedName: str
    description: str | None = None
    primaryDisplayProperty: str | None = None
    requiredProperties: list[str]
    searchableProperties: list[str]
    secondaryDisplayProperties: list[str]
    archived: bool
    createdAt: Instant
    updatedAt: Instant


class ObjectSchemaOut(ObjectTypeDefinitionOut):
    """``ObjectSchema``: the definition with its properties and association definitions."""

    properties: list[PropertyOut]
    associations: list[AssociationDefinitionOut]


class SchemaList(BaseModel):
    """``CollectionResponseObjectSchemaNoPaging``."""

    results: list[ObjectSchemaOut]
