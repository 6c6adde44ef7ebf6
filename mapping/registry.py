"""Transforms by the name the YAML configuration uses (``transform: e164``).

A plain table, not discovery: what a config may name is visible here. It is the one table
of transforms: each class declares what it reads (``Transform.reads``) and which CRM property
types its values fit (``Transform.writes``), and ``syncd check`` reads those. Options are
checked once, at start: an unknown name or option, or a bad option value, is a
:class:`MappingConfigError` that lists what is valid and carries the setting at fault as
``key``, so ``syncd check`` can show it with the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from types import MappingProxyType

from mapping.base import Constant, Default, Identity, Transform
from mapping.enums import EnumMap
from mapping.errors import MappingConfigError
from mapping.numeric import Boolean, Number
from mapping.split import SplitJoin
from mapping.temporal import DateFormat, DateTimeFormat
from mapping.text import E164, Lowercase, Trim, Uppercase

__all__ = ["TRANSFORMS", "build_transform"]

TRANSFORMS: Mapping[str, type[Transform]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (
            Identity,
            Lowercase,
            Uppercase,
            Trim,
            E164,
            DateFormat,
            DateTimeFormat,
            Number,
            Boolean,
            EnumMap,
            SplitJoin,
            Constant,
            Default,
        )
    }
)


def build_transform(name: str, options: Mapping[str, object] | None = None) -> Transform:
    """The transform called ``name``, configured with ``options``."""
    cls = TRANSFORMS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise MappingConfigError(
            f"unknown transform {name!r}; known transforms: {', '.join(sorted(TRANSFORMS))}",
            key=("transform",),
            transform=name,
            known=sorted(TRANSFORMS),
        )
    options = dict(options or {})
    allowed = sorted(f.name for f in fields(cls) if f.init)  # type: ignore[arg-type]
    unknown = sorted(str(key) for key in options if key not in allowed)
    if unknown:
        valid = ", ".join(allowed) or "(none)"
        raise MappingConfigError(
            f"transform {name}: unknown option {', '.join(unknown)}; options: {valid}",
            key=("options",),
            transform=name,
            options=allowed,
        )
    try:
        return cls(**options)
    except TypeError as exc:  # pragma: no cover - the option names were checked above
        raise MappingConfigError(
            f"transform {name}: {exc}", key=("options",), transform=name
        ) from None
