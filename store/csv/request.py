"""What one CSV import is asked to do: the file, the object, the mode, the column mapping.

Its own module so the importer and the job that writes the batches both read it, neither
from the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MODES", "AssociateSpec", "ImportRequest"]

MODES = ("create", "update", "upsert")


@dataclass(frozen=True)
class AssociateSpec:
    """Associate each row's records: ``from_object`` (the primary) to ``to_object``."""

    from_object: str
    to_object: str
    label: str | None = None


@dataclass(frozen=True)
class ImportRequest:
    """What to import and how; ``mapping`` is column -> ``[object.]property`` or ``ignore``."""

    path: Path
    object: str
    mode: str = "upsert"
    id_property: str | None = None
    encoding: str = "utf-8"
    error_report: Path | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    associate: AssociateSpec | None = None
    strict: bool = False
    batch_size: int = 500
