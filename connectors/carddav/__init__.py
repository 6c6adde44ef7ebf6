"""The ``carddav`` connector: contacts in CardDAV address books (see docs/connector-carddav.md)."""

from __future__ import annotations

from connectors.carddav.connector import CardDavConnector
from connectors.carddav.options import CardDavObjectOptions, CardDavOptions

__all__ = ["CardDavConnector", "CardDavObjectOptions", "CardDavOptions"]
