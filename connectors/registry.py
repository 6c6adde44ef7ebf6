"""Connector classes by the ``type:`` the YAML names, imported only when asked for.

A plain table, so what a config may name is visible here; importing lazily keeps a config
that uses only one connector from loading every other connector's dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType

from connectors.base import Connector, ConnectorError

__all__ = ["CONNECTOR_TYPES", "connector_class"]

CONNECTOR_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "sql": "connectors.sql:SqlConnector",
        "rest": "connectors.rest:RestConnector",
        "hubspot": "connectors.hubspot:HubSpotConnector",
        "carddav": "connectors.carddav:CardDavConnector",
        "memory": "connectors.memory:MemoryConnector",
    }
)


def connector_class(type_name: str) -> type[Connector]:
    """The class configured by ``type: type_name``; ConnectorError lists the known types."""
    target = CONNECTOR_TYPES.get(type_name) if isinstance(type_name, str) else None
    if target is None:
        known = ", ".join(sorted(CONNECTOR_TYPES))
        raise ConnectorError(
            f"unknown connector type {type_name!r}; known types: {known}", known=known
        )
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    assert isinstance(cls, type) and issubclass(cls, Connector)
    return cls
