"""pydantic's validation errors in an admin's words, at the key path of the YAML file.

pydantic's ``loc`` mixes real keys with the names of union branches (``("crm", "str")``)
and never says which keys were valid; here each error becomes a key path that exists in the
data, a message that never repeats the value (it may be a secret), and a suggestion.
"""

from __future__ import annotations

import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from config.loader import YamlDocument
from config.problems import nearest

__all__ = ["Problem", "problems"]

_QUOTED = re.compile(r"'([^']*)'")
_BOOL_TAG = "tag:yaml.org,2002:bool"

_WORDS = {
    "string_type": "expected a text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "list_type": "expected a list",
    "missing": "is required",
    "none_required": "expected nothing",
}


@dataclass(frozen=True)
class Problem:
    """One error, its key path relative to the validated data."""

    path: tuple[str | int, ...]
    message: str
    suggestion: str | None = None
    at_key: bool = False


def problems(
    model: type[BaseModel], exc: ValidationError, data: object, document: YamlDocument
) -> list[Problem]:
    """``exc`` as located problems; several errors at one key (union branches) are one."""
    merged: dict[tuple[str | int, ...], Problem] = {}
    for error in exc.errors(include_url=False, include_input=True):
        loc = tuple(error["loc"])
        path = _real_path(loc, data)
        message, suggestion, at_key = _describe(model, error, path)
        known = merged.get(path)
        if known is None:
            merged[path] = Problem(path, message, suggestion, at_key)
        elif message not in known.message:
            extra = message.removeprefix("expected ")
            merged[path] = Problem(
                path, f"{known.message} or {extra}", known.suggestion or suggestion, known.at_key
            )
    return [_with_yaml_hint(p, document) for p in merged.values()]


def _real_path(loc: tuple[Any, ...], data: object) -> tuple[str | int, ...]:
    """The parts of ``loc`` that are keys of ``data``, and a last missing or unknown key."""
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif index == len(loc) - 1 and isinstance(node, dict) and isinstance(part, str):
            path.append(part)  # a missing key
    return tuple(path)


def _describe(
    model: type[BaseModel], error: Any, path: tuple[str | int, ...]
) -> tuple[str, str | None, bool]:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "extra_forbidden":
        valid = _keys_at(model, path[:-1])
        suggestion = nearest(path[-1], valid) if path else None
        listed = f"; valid keys: {', '.join(valid)}" if valid and suggestion is None else ""
        return f"unknown key{listed}", suggestion, True
    if kind in ("literal_error", "enum"):
        choices = _QUOTED.findall(str(context.get("expected", "")))
        value = error.get("input")
        return (
            f"expected one of: {', '.join(choices)}",
            nearest(value, choices) if isinstance(value, str) else None,
            False,
        )
    if kind in _WORDS:
        return _WORDS[kind], None, False
    message = str(error["msg"])
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif kind == "assertion_error":
        message = message.removeprefix("Assertion failed, ")
    return message[:1].lower() + message[1:], None, False


def _with_yaml_hint(problem: Problem, document: YamlDocument) -> Problem:
    node = document.node_at(problem.path)
    if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL_TAG:
        return Problem(
            problem.path,
            f"{problem.message} (YAML reads unquoted {node.value} as a boolean: quote it)",
            problem.suggestion,
            problem.at_key,
        )
    return problem


def _keys_at(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """The field names of the model found at ``path`` inside ``model``; [] if none."""
    current: Any = model
    for part in path:
        current = _step(current, part)
        if current is None:
            return []
    found = _model_of(current)
    return list(found.model_fields) if found is not None else []


def _step(annotation: Any, part: str | int) -> Any:
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            field = option.model_fields.get(part) if isinstance(part, str) else None
            if field is not None:
                return field.annotation
            continue
        origin, args = get_origin(option), get_args(option)
        if origin is list and isinstance(part, int) and args:
            return args[0]
        if origin is dict and isinstance(part, str) and len(args) == 2:
            return args[1]
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _options(annotation: Any) -> tuple[Any, ...]:
    """The branches of a union (``X | None``), or the annotation itself."""
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return tuple(a for a in get_args(annotation) if a is not type(None))
    # Annotated[X, ...] (SerializeAsAny and friends) wraps the real type.
    if hasattr(annotation, "__metadata__"):
        return _options(get_args(annotation)[0])
    return (annotation,)
