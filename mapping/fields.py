"""Field mappings and the two functions that apply them to one record.

A :class:`FieldMapping` ties one external field (a dotted path) to one or more CRM
properties, says which way values flow, and names the transform. ``map_to_crm`` and
``map_to_external`` are pure: the engine hands in one record's values and gets back the
other side's values, and a value that cannot be mapped is a :class:`MappingError` naming the
field, so the engine can log and count the record and go on.

A field absent from the input is left out of the output (a webhook often sends only what
changed), except for transforms that fill missing values (``constant``, ``default``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from mapping.base import SKIP, Constant, Identity, Transform
from mapping.errors import MappingConfigError, MappingError
from mapping.paths import MISSING, check_path, get_path, set_path
from syncd.direction import Direction
from syncd.errors import ConfigError

__all__ = [
    "MAX_VALUE_LENGTH",
    "CrmReader",
    "Direction",
    "FieldMapping",
    "check_mappings",
    "map_to_crm",
    "map_to_external",
]

DIRECTIONS: tuple[str, ...] = tuple(d.value for d in Direction)
MAX_VALUE_LENGTH = 65_536  # the store's limit for one property value


@dataclass(frozen=True)
class FieldMapping:
    """``external`` (dotted path) <-> ``crm`` properties, flowing ``direction``.

    ``crm`` has as many names as the transform's ``arity`` (two for a name split). Only a
    ``constant`` may leave ``external`` empty: it writes the CRM and reads nothing.
    ``direction`` may be given in its YAML spelling (``"to_crm"``); it is kept as a
    :class:`Direction`. A mistake is a :class:`MappingConfigError` whose ``key`` names it.
    """

    crm: tuple[str, ...]
    external: str
    direction: Direction = Direction.TWO_WAY
    transform: Transform = field(default_factory=Identity)

    def __post_init__(self) -> None:
        if isinstance(self.crm, str):
            object.__setattr__(self, "crm", (self.crm,))
        label = f"field {self.external or self.crm!r}"

        def refuse(key: str, problem: str) -> MappingConfigError:
            return MappingConfigError(f"{label}: {problem}", key=(key,), field=self.external)

        if not isinstance(self.transform, Transform):
            raise refuse("transform", "transform must be a Transform")
        if not isinstance(self.direction, Direction):
            if self.direction not in DIRECTIONS:
                raise refuse(
                    "direction",
                    f"direction {self.direction!r} is not one of {', '.join(DIRECTIONS)}",
                )
            object.__setattr__(self, "direction", Direction(self.direction))
        if not self.crm or not all(isinstance(name, str) and name for name in self.crm):
            raise refuse("crm", "crm must name at least one property")
        if len(self.crm) != self.transform.arity:
            raise refuse(
                "crm",
                f"transform {self.transform.name} fills {self.transform.arity} CRM"
                f" properties, {len(self.crm)} given ({', '.join(self.crm)})",
            )
        constant_only = isinstance(self.transform, Constant) and self.direction is Direction.TO_CRM
        if not (self.external == "" and constant_only):
            problem = check_path(self.external)
            if problem:
                raise refuse("external", f"external {problem}")

    @property
    def to_crm(self) -> bool:
        """Whether external values flow into the CRM through this mapping."""
        return self.direction is not Direction.TO_EXTERNAL

    @property
    def to_external(self) -> bool:
        """Whether CRM values flow out to the external system through this mapping."""
        return self.direction is not Direction.TO_CRM


@dataclass(frozen=True)
class Clash:
    """Two fields that would write one place: the later one (``index``) and the first.

    ``key`` is what clashes, ``crm`` (one property written twice; ``position`` is its place
    among the later field's properties) or ``external`` (two paths on the way out, one the
    same as or inside the other). ``name`` is the later field's property or path, ``other``
    the first field's. Indexes are positions in the sequence given to :func:`find_clashes`.
    """

    index: int
    first: int
    key: Literal["crm", "external"]
    name: str
    other: str
    position: int = 0


def find_clashes(
    writers: Sequence[tuple[Sequence[str], str, Direction | None]],
) -> list[Clash]:
    """Every place written twice, in field order: each writer is a field's CRM properties,
    external path and direction (None: it flows nowhere). The one rule for
    :func:`check_mappings` and ``syncd check``, which word and locate the clashes."""
    clashes: list[Clash] = []
    crm_writers: dict[str, int] = {}
    external_writers: dict[str, int] = {}
    for index, (crm, external, direction) in enumerate(writers):
        if direction is None:
            continue
        if direction.to_crm:
            for position, name in enumerate(crm):
                first = crm_writers.setdefault(name, index)
                if first != index:
                    clashes.append(Clash(index, first, "crm", name, name, position))
        if direction.to_external and external:
            for other, first in external_writers.items():
                if (
                    external == other
                    or external.startswith(other + ".")
                    or other.startswith(external + ".")
                ):
                    clashes.append(Clash(index, first, "external", external, other))
                    break
            external_writers.setdefault(external, index)
    return clashes


def check_mappings(mappings: Sequence[FieldMapping]) -> None:
    """Refuse, all problems at once, mappings that would write one place twice."""
    clashes = find_clashes([(m.crm, m.external, m.direction) for m in mappings])
    problems = [
        f"CRM property {c.name!r} is written by {mappings[c.first].external!r}"
        f" and {mappings[c.index].external!r}"
        if c.key == "crm"
        else f"external field {c.name!r} overlaps {c.other!r}"
        for c in clashes
    ]
    if problems:
        raise ConfigError("field mappings conflict: " + "; ".join(problems), problems=problems)


def map_to_crm(
    mappings: Sequence[FieldMapping], external_record: Mapping[str, object]
) -> dict[str, str | None]:
    """The CRM property values of one external record; None clears a property."""
    if not isinstance(external_record, Mapping):
        raise MappingError(
            "expected a record (an object of fields)", value=external_record, transform="record"
        )
    result: dict[str, str | None] = {}
    for mapping in mappings:
        if mapping.direction is Direction.TO_EXTERNAL:
            continue
        _map_one(mapping, external_record, result)
    return result


def _map_one(
    mapping: FieldMapping, external_record: Mapping[str, object], result: dict[str, str | None]
) -> None:
    """One mapping of ``map_to_crm``: its values into ``result``, or a MappingError."""
    transform = mapping.transform
    raw = get_path(external_record, mapping.external) if mapping.external else MISSING
    if raw is MISSING and not transform.fills_missing:
        return
    try:
        mapped = transform.to_crm(None if raw is MISSING else raw)
    except MappingError as exc:
        raise exc.for_field(mapping.external or mapping.crm[0]) from None
    if mapped is SKIP:
        return
    if transform.arity == 1 and len(mapping.crm) == 1:
        # One value for one property: _crm_value's checks, inline for plain text.
        if mapped is None or (type(mapped) is str and len(mapped) <= MAX_VALUE_LENGTH):
            result[mapping.crm[0]] = mapped
        else:
            result[mapping.crm[0]] = _crm_value(mapped, mapping, mapping.external or mapping.crm[0])
        return
    where = mapping.external or mapping.crm[0]
    values = mapped if transform.arity > 1 else (mapped,)
    if not isinstance(values, tuple) or len(values) != len(mapping.crm):
        raise MappingError(
            "transform gave the wrong number of values",
            value=mapped,
            transform=transform.name,
            field=where,
        )
    for name, value in zip(mapping.crm, values, strict=True):
        result[name] = _crm_value(value, mapping, where)


class CrmReader:
    """``map_to_crm`` for one fixed tuple of mappings, worked out once and applied to many
    records: the same values and the same errors, in the same order.

    A sync reads every record of every page through the same mappings, and ``map_to_crm``
    asks each mapping, per record, what it is (direction, path shape, arity, transform).
    Here those answers are settled at construction: each mapping becomes a step that is
    either a top-level field read straight from a plain ``dict`` (``None`` as converter
    for ``identity``, whose text passes through unchanged, else the transform's
    ``to_crm``), or the general code of ``map_to_crm`` for that one mapping (nested paths,
    several properties, transforms that fill missing values). A record that is not a
    plain ``dict`` goes to ``map_to_crm`` whole.
    """

    __slots__ = ("_mappings", "_steps")

    def __init__(self, mappings: Sequence[FieldMapping]) -> None:
        self._mappings = tuple(mappings)
        steps: list[tuple[str | None, str, Callable[[object], object] | None, FieldMapping]] = []
        for mapping in self._mappings:
            if mapping.direction is Direction.TO_EXTERNAL:
                continue
            transform = mapping.transform
            simple = (
                bool(mapping.external)
                and "." not in mapping.external
                and transform.arity == 1
                and len(mapping.crm) == 1
                and not transform.fills_missing
            )
            if not simple:
                steps.append((None, mapping.crm[0], None, mapping))
                continue
            convert = None if type(transform) is Identity else transform.to_crm
            steps.append((mapping.external, mapping.crm[0], convert, mapping))
        self._steps = tuple(steps)

    def __call__(self, external_record: Mapping[str, object]) -> dict[str, str | None]:
        if type(external_record) is not dict:
            return map_to_crm(self._mappings, external_record)
        result: dict[str, str | None] = {}
        get = external_record.get
        for path, name, convert, mapping in self._steps:
            if path is None:
                _map_one(mapping, external_record, result)
                continue
            raw = get(path, MISSING)
            if raw is MISSING:
                continue
            if convert is None:
                if raw is None or (type(raw) is str and len(raw) <= MAX_VALUE_LENGTH):
                    result[name] = raw
                    continue
                _map_one(mapping, external_record, result)  # a number, a bool, a refusal
                continue
            try:
                mapped = convert(raw)
            except MappingError as exc:
                raise exc.for_field(path) from None
            if mapped is SKIP:
                continue
            if mapped is None or (type(mapped) is str and len(mapped) <= MAX_VALUE_LENGTH):
                result[name] = mapped
            else:
                result[name] = _crm_value(mapped, mapping, path)
        return result


def _crm_value(value: object, mapping: FieldMapping, where: str) -> str | None:
    if value is None or (isinstance(value, str) and len(value) <= MAX_VALUE_LENGTH):
        return value
    reason = (
        f"longer than {MAX_VALUE_LENGTH} characters"
        if isinstance(value, str)
        else f"gave {type(value).__name__}, not text"
    )
    raise MappingError(reason, value=value, transform=mapping.transform.name, field=where)


def map_to_external(
    mappings: Sequence[FieldMapping], crm_properties: Mapping[str, str | None]
) -> dict[str, object]:
    """The external fields for one CRM record, nested by dotted path."""
    if not isinstance(crm_properties, Mapping):
        raise MappingError(
            "expected CRM properties (an object of values)",
            value=crm_properties,
            transform="record",
        )
    result: dict[str, object] = {}
    for mapping in mappings:
        if not mapping.to_external or not any(name in crm_properties for name in mapping.crm):
            continue
        values = tuple(crm_properties.get(name) for name in mapping.crm)
        where = "+".join(mapping.crm)
        try:
            mapped = mapping.transform.to_external(
                values if mapping.transform.arity > 1 else values[0]
            )
        except MappingError as exc:
            raise exc.for_field(where) from None
        if mapped is SKIP:
            continue
        set_path(result, mapping.external, mapped)
    return result
