"""The ``sql`` connector (see :mod:`connectors.sql.connector` for its parts)."""

from __future__ import annotations

from connectors.sql.connector import SqlConnector
from connectors.sql.dialect import refused_credentials
from connectors.sql.options import SqlObjectOptions, SqlOptions

__all__ = ["SqlConnector", "SqlObjectOptions", "SqlOptions", "refused_credentials"]
