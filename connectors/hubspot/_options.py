"""The ``hubspot`` connector's YAML options."""

from __future__ import annotations

import re

from pydantic import ConfigDict, Field, SecretStr, field_validator

from connectors.base import ConnectorOptions
from connectors.http import RetryOptions
from connectors.webhooks import Scheme, WebhookOptions

__all__ = [
    "HubSpotAssociationOptions",
    "HubSpotObjectOptions",
    "HubSpotOptions",
    "HubSpotWebhookOptions",
    "RateLimitOptions",
    "RetryOptions",
]

# An object type goes into URL paths: only names HubSpot uses (``contacts``, ``line_items``),
# type ids (``0-1``, ``2-123``) and custom fully qualified names (``p123_cars``).
_OBJECT_TYPE = re.compile(r"^(?:[a-z][a-z_]{0,63}|\d-\d{1,12}|p\d{1,12}_[A-Za-z0-9_]{1,100})$")
_PROPERTY = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")


class HubSpotAssociationOptions(ConnectorOptions):
    """One association field of an object: the id of the record associated through v4.

    HubSpot keeps associations apart from properties (the properties that mirror them, such
    as ``associatedcompanyid``, are read-only): the field is read from and written to the v4
    associations API, never sent as a property.
    """

    #: The other side: a configured object's name, or a HubSpot object type.
    to: str
    #: The association label in HubSpot (``Employer``); none means any association when
    #: reading and HubSpot's default (unlabelled) association when writing.
    label: str | None = None

    @field_validator("to")
    @classmethod
    def _to(cls, value: str) -> str:
        if not _OBJECT_TYPE.match(value):
            raise ValueError("expected an object name or a HubSpot object type such as companies")
        return value


class HubSpotObjectOptions(ConnectorOptions):
    """One external object: a HubSpot object type and the properties read from it."""

    object_type: str
    #: Properties read on every fetch; HubSpot's defaults when empty. The last-modified
    #: property is always read too, since it orders changes.
    properties: list[str] = Field(default_factory=list)
    #: A unique property (``email`` for contacts, or a custom unique one) that ``find_by``
    #: and matched creates look records up by with a batch read instead of a search.
    id_property: str | None = None
    #: The property that orders changes; ``lastmodifieddate`` for contacts and
    #: ``hs_lastmodifieddate`` for every other object when not given.
    modified_property: str | None = None
    #: How far back a resumed run re-reads: HubSpot's search index shows a write only
    #: "after a few moments", so a record written just before the last run may be missed.
    lookback_seconds: float = Field(default=60.0, ge=0, le=86_400)
    #: Association fields: field name -> the association it carries (read and written
    #: through the v4 associations API). A sync's ``associations: [{external: <field>}]``
    #: names one of these.
    associations: dict[str, HubSpotAssociationOptions] = Field(default_factory=dict)

    @field_validator("object_type")
    @classmethod
    def _object_type(cls, value: str) -> str:
        if not _OBJECT_TYPE.match(value):
            raise ValueError(
                "expected a HubSpot object type such as contacts, companies, deals, 0-1 or 2-123"
            )
        return value

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _PROPERTY.match(name):
                raise ValueError(f"{name!r} is not a HubSpot property name")
        return value

    @property
    def modified(self) -> str:
        if self.modified_property:
            return self.modified_property
        return (
            "lastmodifieddate" if self.object_type in ("contacts", "0-1") else "hs_lastmodifieddate"
        )


class RateLimitOptions(ConnectorOptions):
    """The private app's burst limit: HubSpot counts requests over a rolling window."""

    requests: int = Field(default=100, ge=1, le=10_000)
    per_seconds: float = Field(default=10.0, gt=0, le=3600)


class HubSpotWebhookOptions(WebhookOptions):
    """The ``webhook:`` section; HubSpot signs with its v3 scheme, so that is the default."""

    signature: Scheme = "hubspot-v3"


class HubSpotOptions(ConnectorOptions):
    """The ``hubspot`` connector's YAML options."""

    # A validation error would otherwise print the input, token included.
    model_config = ConfigDict(hide_input_in_errors=True)

    access_token: SecretStr
    base_url: str = "https://api.hubapi.com"
    objects: dict[str, HubSpotObjectOptions]
    rate_limit: RateLimitOptions = Field(default_factory=RateLimitOptions)
    #: Search has its own per-account limit (5 requests a second) outside the burst limit.
    search_rate_limit: RateLimitOptions = Field(
        default_factory=lambda: RateLimitOptions(requests=5, per_seconds=1.0)
    )
    #: Our HubSpot app's id: events whose ``sourceId`` names it are marked as our own writes.
    app_id: str | None = None
    webhook: HubSpotWebhookOptions | None = None
    #: The public URL HubSpot posts to, exactly as configured in the app: the v3 signature
    #: covers it, and behind a proxy the URL the daemon sees differs.
    webhook_url: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    retry: RetryOptions = Field(default_factory=lambda: RetryOptions.model_validate({}))

    def lost_create_risk(self, external_object: str, match_field: str | None) -> str | None:
        if match_field is not None or external_object not in self.objects:
            return None
        return (
            f"object {external_object} has no way to find a record by a match key: a create "
            "whose answer is lost (timeout, 5xx) cannot be looked up, so it is parked for an "
            "operator; set the sync's match: to a property HubSpot can search"
        )

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s) URL such as https://api.hubapi.com")
        return value.rstrip("/")
