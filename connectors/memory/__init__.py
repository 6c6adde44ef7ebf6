"""The ``memory`` connector: an external system held in this process (docs/connectors.md).

For trying syncd from YAML without a database or an API, and as the test double that keeps
the whole connector contract (tests/contract/ runs it beside every real connector).
"""

from __future__ import annotations

from connectors.memory.connector import MemoryConnector
from connectors.memory.options import MemoryObjectOptions, MemoryOptions
from connectors.memory.system import (
    MemoryRecord,
    MemorySystem,
    StaleVersion,
    SystemRefusal,
    forget_systems,
    system,
)

__all__ = [
    "MemoryConnector",
    "MemoryObjectOptions",
    "MemoryOptions",
    "MemoryRecord",
    "MemorySystem",
    "StaleVersion",
    "SystemRefusal",
    "forget_systems",
    "system",
]
