"""The ``hubspot`` connector: HubSpot CRM objects, associations and webhooks."""

from __future__ import annotations

from ._http import AuthError, HubSpotError
from ._options import (
    HubSpotObjectOptions,
    HubSpotOptions,
    HubSpotWebhookOptions,
    RateLimitOptions,
    RetryOptions,
)
from ._webhook import WebhookPayloadError
from .connector import HubSpotConnector

__all__ = [
    "AuthError",
    "HubSpotConnector",
    "HubSpotError",
    "HubSpotObjectOptions",
    "HubSpotOptions",
    "HubSpotWebhookOptions",
    "RateLimitOptions",
    "RetryOptions",
    "WebhookPayloadError",
]
