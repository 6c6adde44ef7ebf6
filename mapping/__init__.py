"""Field mappings and transforms: external values <-> the CRM's canonical property values.

Pure (no I/O, no clock, nothing of ours but the leaves ``syncd.errors`` and
``syncd.direction``): the engine hands in one
record's values and a tuple of frozen :class:`FieldMapping`; it gets back the other side's
values or a :class:`MappingError` (a record error) naming field, value and transform.
See ``docs/mapping.md``.
"""

from __future__ import annotations

from mapping.base import (
    SKIP,
    VALUE_KINDS,
    Constant,
    Default,
    Identity,
    Transform,
    canonical_decimal,
)
from mapping.canonical import crm_respelled, external_respelled
from mapping.enums import EnumMap
from mapping.errors import MappingConfigError, MappingError
from mapping.fields import (
    MAX_VALUE_LENGTH,
    Clash,
    CrmReader,
    FieldMapping,
    check_mappings,
    find_clashes,
    map_to_crm,
    map_to_external,
)
from mapping.numeric import Boolean, Number
from mapping.paths import MISSING, get_path, set_path
from mapping.registry import TRANSFORMS, build_transform
from mapping.split import SplitJoin
from mapping.temporal import DateFormat, DateTimeFormat
from mapping.text import E164, Lowercase, Trim, Uppercase
from syncd.direction import Direction

__all__ = [
    "E164",
    "MAX_VALUE_LENGTH",
    "MISSING",
    "SKIP",
    "TRANSFORMS",
    "VALUE_KINDS",
    "Boolean",
    "Clash",
    "Constant",
    "CrmReader",
    "DateFormat",
    "DateTimeFormat",
    "Default",
    "Direction",
    "EnumMap",
    "FieldMapping",
    "Identity",
    "Lowercase",
    "MappingConfigError",
    "MappingError",
    "Number",
    "SplitJoin",
    "Transform",
    "Trim",
    "Uppercase",
    "build_transform",
    "canonical_decimal",
    "check_mappings",
    "crm_respelled",
    "external_respelled",
    "find_clashes",
    "get_path",
    "map_to_crm",
    "map_to_external",
    "set_path",
]
