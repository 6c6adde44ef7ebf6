"""The ``carddav`` connector's YAML options.

The password is a ``SecretStr`` and the models hide their input in validation errors, so a
mistyped option never prints the password. A URL carrying ``user:password@`` is refused: the
URL appears in messages, the credentials must not.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator

from connectors.base import ConnectorOptions
from connectors.http import RetryOptions

__all__ = ["CardDavObjectOptions", "CardDavOptions"]


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL of the address book collection")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials; use the username and password options")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment")
    # A collection's URL ends in "/"; servers answer the other spelling with a redirect.
    return value if value.endswith("/") else value + "/"


class CardDavObjectOptions(ConnectorOptions):
    """One external object: one address book, by default the connector's ``url``."""

    model_config = ConfigDict(hide_input_in_errors=True)

    #: This object's address book collection, when it is not the connector's ``url``.
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)


class CardDavOptions(ConnectorOptions):
    """The ``carddav`` connector's options."""

    model_config = ConfigDict(hide_input_in_errors=True)

    #: The address book collection, e.g. ``https://cloud.example.com/remote.php/dav/addressbooks/users/ada/contacts/``.
    url: str
    username: str
    password: SecretStr
    timeout_seconds: float = Field(default=30.0, gt=0)
    verify_tls: bool = True
    #: How often a request failed for a passing reason (429, 503, no connection) is tried.
    retry: RetryOptions = Field(default_factory=lambda: RetryOptions.model_validate({}))
    #: Read changes with the sync-collection REPORT when the server offers it; false forces
    #: the ETag comparison (one PROPFIND per pass, the ETags kept in the cursor).
    use_sync_collection: bool = True
    #: Look for an existing card with the create's match value before creating (a full
    #: listing of the address book per batch that creates; off by default, see the docs).
    match_before_create: bool = False
    objects: dict[str, CardDavObjectOptions]

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("objects")
    @classmethod
    def _objects(cls, value: dict[str, CardDavObjectOptions]) -> dict[str, CardDavObjectOptions]:
        if not value:
            raise ValueError("name at least one address book, e.g. objects: {contacts: {}}")
        return value
