"""The HubSpot-compatible REST API over the CRM store (``/crm/v3``, ``/crm/v4``, schemas)."""

from syncd.api.app import API_PREFIXES, create_api
from syncd.api.context import ApiSettings

__all__ = ["API_PREFIXES", "ApiSettings", "create_api"]
