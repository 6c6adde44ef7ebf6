"""The ``rest`` connector's YAML options: one JSON HTTP API described without code.

Secrets are ``SecretStr`` and the models hide their input in validation errors, so neither a
``repr`` nor a config problem ever prints a token, password or client secret.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.base import ConnectorOptions
from connectors.http import RetryOptions
from connectors.webhooks import WebhookOptions

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "BasicAuth",
    "BatchOptions",
    "BatchReadOptions",
    "BearerAuth",
    "CursorPaging",
    "DailyQuotaOptions",
    "EndpointOptions",
    "LinkPaging",
    "OAuth2Auth",
    "ObjectOptions",
    "OffsetPaging",
    "PagePaging",
    "Paging",
    "RateLimitOptions",
    "RestOptions",
    "RetryOptions",
]


class _Secretive(ConnectorOptions):
    # Input may be a secret: never echo it in a validation error.
    model_config = ConfigDict(hide_input_in_errors=True)


class BearerAuth(_Secretive):
    type: Literal["bearer"]
    token: SecretStr


class BasicAuth(_Secretive):
    type: Literal["basic"]
    username: str
    password: SecretStr


class ApiKeyAuth(_Secretive):
    model_config = ConfigDict(populate_by_name=True)

    type: Literal["api_key"]
    name: str = Field(min_length=1)
    value: SecretStr
    in_: Literal["header", "query"] = Field("header", alias="in")


class OAuth2Auth(_Secretive):
    """OAuth2 client credentials (RFC 6749 4.4); the secret is sent in the form body."""

    type: Literal["oauth2"]
    token_url: str = Field(min_length=1)
    client_id: str
    client_secret: SecretStr
    scope: str | None = None


Auth = Annotated[
    BearerAuth | BasicAuth | ApiKeyAuth | OAuth2Auth,
    Field(discriminator="type"),
]


class RateLimitOptions(ConnectorOptions):
    requests: int = Field(ge=1)
    per_seconds: float = Field(gt=0)


class DailyQuotaOptions(ConnectorOptions):
    calls: int = Field(ge=1)
    reset_utc_hour: int = Field(0, ge=0, le=23)


class CursorPaging(ConnectorOptions):
    """The body names the next page's token; the first request carries none."""

    type: Literal["cursor"]
    param: str
    next_path: str
    #: Query parameter for the page size, when the API takes one (the engine's batch size).
    limit_param: str | None = None


class PagePaging(ConnectorOptions):
    type: Literal["page"]
    param: str = "page"
    size_param: str = "per_page"
    size: int = Field(100, ge=1, le=10_000)
    start: int = Field(1, ge=0)


class OffsetPaging(ConnectorOptions):
    type: Literal["offset"]
    param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(100, ge=1, le=10_000)


class LinkPaging(ConnectorOptions):
    """RFC 8288 ``Link: <...>; rel="next"`` headers (GitHub, Shopify)."""

    type: Literal["link"]
    #: Query parameter for the page size on the first request, when the API takes one.
    limit_param: str | None = None


Paging = Annotated[
    CursorPaging | PagePaging | OffsetPaging | LinkPaging,
    Field(discriminator="type"),
]


class EndpointOptions(ConnectorOptions):
    """One write endpoint; ``{id}`` in the path is the record's id, URL-escaped."""

    method: Literal["POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(min_length=1)


class BatchOptions(ConnectorOptions):
    """A batch endpoint: ``{request_path: [record, ...]}`` in, the same order out."""

    path: str = Field(min_length=1)
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    max: int = Field(100, ge=1, le=1000)
    request_path: str = "inputs"
    response_path: str = "results"


class BatchReadOptions(ConnectorOptions):
    """A read-many endpoint, so reading records by id costs a call per ``max`` ids, not per id.

    ``GET path?ids=1,2,3`` (``ids_style: comma``) or ``?ids=1&ids=2`` (``repeat``); or
    ``POST path`` with the ids at ``request_path`` (``{"ids": ["1", "2"]}``, or with
    ``item_key: id`` ``{"inputs": [{"id": "1"}, ...]}``). The records are the list at
    ``response_path``, in any order.
    """

    path: str = Field(min_length=1)
    method: Literal["GET", "POST"] = "GET"
    max: int = Field(100, ge=1, le=1000)
    #: GET: the query parameter that carries the ids.
    ids_param: str = Field("ids", min_length=1)
    #: GET: ``comma`` joins the ids in one value, ``repeat`` sends the parameter per id.
    ids_style: Literal["comma", "repeat"] = "comma"
    #: POST: dotted key of the id list in the body ("" = the body is the list).
    request_path: str = "ids"
    #: POST: each id is sent as ``{item_key: id}`` instead of bare.
    item_key: str | None = Field(None, min_length=1)
    #: Dotted path to the list of records in the answer ("" = the body is the list).
    response_path: str = "results"

    @field_validator("path")
    @classmethod
    def _no_item(cls, value: str) -> str:
        if "{id}" in value:
            raise ValueError("a batch read asks for many ids at once: its path has no {id}")
        return value

    @model_validator(mode="after")
    def _fits_method(self) -> BatchReadOptions:
        given = self.model_fields_set
        if self.method == "GET":
            wrong = sorted(given & {"request_path", "item_key"})
            if wrong:
                raise ValueError(
                    f"{' and '.join(wrong)} shape a POST body; with method GET the ids go in "
                    "the query (ids_param, ids_style)"
                )
        else:
            wrong = sorted(given & {"ids_param", "ids_style"})
            if wrong:
                raise ValueError(
                    f"{' and '.join(wrong)} shape a GET query; with method POST the ids go in "
                    "the body (request_path, item_key)"
                )
        return self


class ObjectOptions(ConnectorOptions):
    path: str = Field(min_length=1)
    records_path: str = ""
    id_field: str = "id"
    updated_field: str = "updated_at"
    updated_since_param: str | None = None
    #: How the since value is written: ISO 8601 in UTC with ``Z``, or epoch seconds/ms.
    updated_since_format: Literal["iso", "epoch", "epoch_ms"] = "iso"
    paging: Paging | None = None
    create: EndpointOptions | None = None
    update: EndpointOptions | None = None
    delete: EndpointOptions | None = None
    body_path: str | None = None
    batch_create: BatchOptions | None = None
    batch_update: BatchOptions | None = None
    batch_read: BatchReadOptions | None = None
    find_param: str | None = None
    lookback_seconds: float = Field(5.0, ge=0)
    #: A field of the record the API keeps as given, where syncd writes its key on create
    #: (e.g. ``syncd_id``), so a create whose answer was lost is found again by it.
    create_key_field: str | None = Field(None, min_length=1)
    #: The list endpoint's query parameter that filters by ``create_key_field`` (default:
    #: the field's name).
    create_key_param: str | None = Field(None, min_length=1)
    #: The header the API dedupes creates by (e.g. ``Idempotency-Key``): the engine's key
    #: is sent in it, and a create whose answer was lost is sent again with the same key.
    idempotency_header: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _key_param_needs_field(self) -> ObjectOptions:
        if self.create_key_param is not None and self.create_key_field is None:
            raise ValueError("create_key_param filters by create_key_field; set that too")
        return self

    def key_param(self) -> str | None:
        """The query parameter that finds a record by the key syncd wrote on it."""
        return self.create_key_param or self.create_key_field

    @field_validator("update", "delete")
    @classmethod
    def _has_id(cls, value: EndpointOptions | None) -> EndpointOptions | None:
        if value is not None and "{id}" not in value.path:
            raise ValueError("the path must contain {id}, where the record's id goes")
        return value

    def create_endpoint(self) -> EndpointOptions:
        return self.create or EndpointOptions(method="POST", path=self.path)

    def update_endpoint(self) -> EndpointOptions:
        return self.update or EndpointOptions(method="PATCH", path=_item(self.path))

    def delete_endpoint(self) -> EndpointOptions:
        return self.delete or EndpointOptions(method="DELETE", path=_item(self.path))

    def read_path(self) -> str:
        return self.update_endpoint().path


def _item(path: str) -> str:
    return path.rstrip("/") + "/{id}"


class RestOptions(_Secretive):
    """The ``rest`` connector's options."""

    base_url: str = Field(pattern=r"^https?://")
    auth: Auth | None = None
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    rate_limit: RateLimitOptions | None = None
    retry: RetryOptions = Field(default_factory=lambda: RetryOptions.model_validate({}))
    daily_quota: DailyQuotaOptions | None = None
    #: Bodies larger than this are refused, so a broken or hostile API cannot exhaust memory.
    max_response_bytes: int = Field(20_000_000, ge=1024, le=1_000_000_000)
    webhook: WebhookOptions | None = None
    #: Dotted path to the list of events in a webhook body ("" = the body itself).
    webhook_events_path: str = ""
    objects: dict[str, ObjectOptions]

    def lost_create_risk(self, external_object: str, match_field: str | None) -> str | None:
        obj = self.objects.get(external_object)
        if obj is None or obj.create_key_field or obj.idempotency_header:
            return None
        if match_field is not None and obj.find_param == match_field:
            return None
        field = match_field or "<the match field>"
        return (
            f"object {external_object} has no way to find a record by its match key: a "
            "create whose answer is lost (timeout, dropped connection, 502) cannot be looked "
            "up, so it is parked for an operator instead of sent again; set "
            f"find_param: {field} if the API filters by it, create_key_field: <a field the "
            "API keeps and filters by> for syncd's own key, or idempotency_header: "
            "Idempotency-Key if the API dedupes creates by that header"
        )
