"""Request and response pieces every route shares: error bodies, paging, safe text.

Text fields refuse NUL characters (PostgreSQL cannot store them, and no CRM value needs one)
and are bounded, so a hostile body is a 400 naming the field, never a database error.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from store import format_datetime

__all__ = [
    "ERROR_RESPONSES",
    "MAX_BATCH",
    "MAX_VALUE_CHARS",
    "ApiModel",
    "ErrorBody",
    "ErrorDetail",
    "Instant",
    "Name",
    "NextPage",
    "Paging",
    "StandardError",
    "StrOrNull",
    "Text",
]

MAX_BATCH = 100  # "Object API batch endpoints are limited to 100 inputs per request."
MAX_VALUE_CHARS = 65_536  # HubSpot's limit for a string property value
MAX_NAME_CHARS = 100


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


Text = Annotated[str, StringConstraints(max_length=MAX_VALUE_CHARS), AfterValidator(_no_nul)]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(_no_nul)
]


class _Null(enum.Enum):
    """Stands for a ``null`` HubSpot sends: not ``None``, so ``exclude_none`` keeps it."""

    NULL = "null"


def _null_kept(value: object) -> object:
    return _Null.NULL if value is None else value


# Answers leave ``None`` fields out (``routing.HubSpotRoute``), as HubSpot leaves optional
# fields out; a field HubSpot always sends, ``null`` included (an association type's
# ``label``), is typed ``StrOrNull`` so it stays in the answer as ``null``.
StrOrNull = Annotated[
    str
    | Annotated[
        _Null,
        PlainSerializer(lambda _: None, return_type=None),
        WithJsonSchema({"type": "null"}),
    ],
    BeforeValidator(_null_kept),
]


class ApiModel(BaseModel):
    """Request bodies: HubSpot's field names; fields HubSpot would ignore are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ErrorDetail(BaseModel):
    message: str
    code: str | None = None
    in_: str | None = Field(None, alias="in")
    context: dict[str, list[str]] | None = None
    subCategory: str | None = None


class ErrorBody(BaseModel):
    """HubSpot's error document (every field optional to a client, all sent by us)."""

    status: str = "error"
    message: str
    correlationId: str
    category: str
    errors: list[ErrorDetail] | None = None
    context: dict[str, Any] | None = None
    links: dict[str, str] | None = None


# A stored instant as HubSpot writes one: ISO 8601 with milliseconds and a Z.
Instant = Annotated[
    datetime,
    PlainSerializer(format_datetime, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class StandardError(BaseModel):
    """One failure inside a 207 batch answer (every field HubSpot's client requires)."""

    status: str = "error"
    id: str | None = None
    category: str
    subCategory: Any | None = None
    message: str
    errors: list[ErrorDetail]
    context: dict[str, list[str]]
    links: dict[str, str]


class NextPage(BaseModel):
    after: str
    link: str | None = None


class Paging(BaseModel):
    next: NextPage | None = None


_ERROR_STATUSES = {
    400: "The request was not valid; nothing was written.",
    401: "No valid bearer token.",
    403: "The token lacks the scope this call needs.",
    404: "No such object type or record.",
    409: "A unique value already belongs to another record.",
    413: "The request body is larger than the server accepts.",
    429: "The token's rate limit was reached; see the X-HubSpot-RateLimit headers.",
    503: "The store could not be reached to check the token; retry after Retry-After seconds.",
}

# Documented on every route so /openapi.json lists every status a client can be answered with.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _ERROR_STATUSES.items()
}
