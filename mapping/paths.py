"""Nested external fields by dotted path: ``address.city`` reads ``record["address"]["city"]``.

Dots always mean nesting (there is no escape for a key that holds a dot) and list indexes
are not supported: external records are JSON objects of objects. A null or absent step
means the field is absent; a step that is text or a list where an object belongs is the
record's mistake and a :class:`MappingError`, never a ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Final

from mapping.errors import MappingError

__all__ = ["MISSING", "Missing", "check_path", "get_path", "set_path"]

_TRANSFORM = "path"


class Missing(Enum):
    """The type of :data:`MISSING`: the record does not have the field at all."""

    MISSING = "missing"


MISSING: Final = Missing.MISSING


def check_path(path: str) -> str | None:
    """Why ``path`` is not a usable dotted path, or None when it is."""
    if not isinstance(path, str) or not path:
        return "must be a non-empty field name"
    if any(not step or step != step.strip() for step in path.split(".")):
        return f"{path!r} has an empty step or surrounding spaces"
    return None


def get_path(record: Mapping[str, object], path: str) -> object:
    """The value at ``path``, or :data:`MISSING` when it (or an object above it) is absent."""
    if type(record) is dict and "." not in path:
        # A top-level field of a plain record, the usual case: the loop below, unrolled.
        return record.get(path, MISSING)
    current: object = record
    walked: list[str] = []
    for step in path.split("."):
        if current is None:
            return MISSING
        if not isinstance(current, Mapping):
            where = ".".join(walked) or "the record"
            raise MappingError(
                f"{where} is {type(current).__name__}, not an object",
                value=current,
                transform=_TRANSFORM,
                field=path,
            )
        if step not in current:
            return MISSING
        current = current[step]
        walked.append(step)
    return current


def set_path(target: dict[str, object], path: str, value: object) -> None:
    """Store ``value`` at ``path`` in ``target``, creating the objects above it."""
    steps = path.split(".")
    current = target
    for index, step in enumerate(steps[:-1]):
        child = current.setdefault(step, {})
        if not isinstance(child, dict):
            above = ".".join(steps[: index + 1])
            raise MappingError(
                f"{above} already holds a value, so it cannot hold {path}",
                value=value,
                transform=_TRANSFORM,
                field=path,
            )
        current = child
    if isinstance(current.get(steps[-1]), dict):
        raise MappingError(
            f"{path} already holds nested fields", value=value, transform=_TRANSFORM, field=path
        )
    current[steps[-1]] = value
