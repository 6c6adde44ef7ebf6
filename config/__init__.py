"""config package: the YAML configuration (see DESIGN.md, Where things live, and
docs/configuration.md).

``load_config`` is what the daemon runs on: typed, frozen models, or ``ConfigErrors`` with
every problem located (file:line:col). ``check_config`` adds what only the store knows.
"""

from __future__ import annotations

from config.check import check_config, check_static
from config.load import load_config, read_config, sort_problems
from config.loader import load_store_url
from config.models import (
    AssociationConfig,
    Config,
    ConnectorConfig,
    DeleteBrake,
    DeleteRules,
    FieldConfig,
    FilterRule,
    MatchConfig,
    Schedule,
    SyncConfig,
    SyncFilters,
)
from config.problems import ConfigErrors, ConfigProblem

__all__ = [
    "AssociationConfig",
    "Config",
    "ConfigErrors",
    "ConfigProblem",
    "ConnectorConfig",
    "DeleteBrake",
    "DeleteRules",
    "FieldConfig",
    "FilterRule",
    "MatchConfig",
    "Schedule",
    "SyncConfig",
    "SyncFilters",
    "check_config",
    "check_static",
    "load_config",
    "load_store_url",
    "read_config",
    "sort_problems",
]
