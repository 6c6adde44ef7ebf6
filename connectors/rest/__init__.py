"""The ``rest`` connector: any JSON HTTP API, configured in YAML (see docs/connector-rest.md)."""

from connectors.rest.connector import RestConnector
from connectors.rest.errors import AuthError, QuotaExhaustedError, WebhookPayloadError
from connectors.rest.options import ObjectOptions, RestOptions

__all__ = [
    "AuthError",
    "ObjectOptions",
    "QuotaExhaustedError",
    "RestConnector",
    "RestOptions",
    "WebhookPayloadError",
]
