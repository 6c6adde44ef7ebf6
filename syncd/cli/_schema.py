"""Custom object schema files: HubSpot's schema body in YAML, checked before the store sees it.

``objects create --file`` takes the body HubSpot's ``POST /crm/v3/schemas`` takes (``name``,
``labels``, ``primaryDisplayProperty``, ``properties`` ...); ``objects update --file`` takes
the keys its ``PATCH`` takes. The pydantic models are strict (a YAML ``1`` is not the text
``"1"``) and forbid unknown keys, so a typo is reported, never silently dropped. Each
problem becomes one line naming file, key path and line: ``schema.yaml: properties[2].type:
...``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from store import ObjectSpec, OptionSpec, PropertySpec
from syncd.cli._parse import title_label
from syncd.errors import ConfigError

# config.loader is imported where a file is read: importing it imports the config package,
# which every command would then pay for (see ``syncd.cli``).
if TYPE_CHECKING:
    from config.loader import YamlDocument

__all__ = ["load_object_changes", "load_object_spec"]

PropertyType = Literal["string", "number", "date", "datetime", "enumeration", "bool"]
FieldType = Literal[
    "text",
    "textarea",
    "number",
    "date",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "phonenumber",
    "calculation",
]


class _Body(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, alias_generator=to_camel, populate_by_name=False
    )


M = TypeVar("M", bound=_Body)


class OptionBody(_Body):
    label: str
    value: str
    display_order: int | None = None
    hidden: bool = False


class PropertyBody(_Body):
    name: str
    label: str | None = None
    type: PropertyType = "string"
    field_type: FieldType = "text"
    group_name: str | None = None
    description: str = ""
    options: list[OptionBody] = Field(default_factory=list)
    has_unique_value: bool = False
    read_only: bool = False

    def spec(self) -> PropertySpec:
        return PropertySpec(
            name=self.name,
            label=self.label or title_label(self.name),
            type=self.type,
            field_type=self.field_type,
            group=self.group_name,
            description=self.description,
            options=tuple(
                OptionSpec(
                    value=o.value,
                    label=o.label,
                    display_order=i if o.display_order is None else o.display_order,
                    hidden=o.hidden,
                )
                for i, o in enumerate(self.options)
            ),
            unique=self.has_unique_value,
            read_only=self.read_only,
        )


class LabelsBody(_Body):
    singular: str
    plural: str


class SchemaBody(_Body):
    name: str
    labels: LabelsBody
    primary_display_property: str
    required_properties: list[str] = Field(default_factory=list)
    searchable_properties: list[str] = Field(default_factory=list)
    secondary_display_properties: list[str] = Field(default_factory=list)
    description: str = ""
    associated_objects: list[str] = Field(default_factory=list)
    properties: list[PropertyBody] = Field(min_length=1)

    def spec(self) -> ObjectSpec:
        return ObjectSpec(
            name=self.name,
            singular_label=self.labels.singular,
            plural_label=self.labels.plural,
            primary_display_property=self.primary_display_property,
            properties=tuple(p.spec() for p in self.properties),
            required_properties=tuple(self.required_properties),
            searchable_properties=tuple(self.searchable_properties),
            secondary_display_properties=tuple(self.secondary_display_properties),
            associated_objects=tuple(self.associated_objects),
            description=self.description,
        )


class LabelsChange(_Body):
    singular: str | None = None
    plural: str | None = None


class SchemaChanges(_Body):
    """What ``PATCH /crm/v3/schemas/{object}`` may change; properties have their own commands."""

    labels: LabelsChange | None = None
    primary_display_property: str | None = None
    required_properties: list[str] | None = None
    searchable_properties: list[str] | None = None
    secondary_display_properties: list[str] | None = None
    description: str | None = None
    associated_objects: list[str] | None = None

    def changes(self) -> dict[str, Any]:
        """The store's ``update_object`` keys for what the file set (and only that)."""
        out: dict[str, Any] = {}
        if self.labels is not None:
            if self.labels.singular is not None:
                out["singular_label"] = self.labels.singular
            if self.labels.plural is not None:
                out["plural_label"] = self.labels.plural
        for key in self.model_fields_set - {"labels"}:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def load_object_spec(path: Path) -> ObjectSpec:
    """A custom object schema file as the store's ``ObjectSpec``; every problem reported."""
    from config.loader import read_yaml

    document = read_yaml(path)
    return _validate(document, SchemaBody).spec()


def load_object_changes(path: Path) -> dict[str, Any]:
    """An object changes file as ``update_object`` keys; an empty change is refused."""
    from config.loader import read_yaml

    document = read_yaml(path)
    changes = _validate(document, SchemaChanges).changes()
    if not changes:
        raise ConfigError(f"{path}: nothing to change", file=str(path))
    return changes


def _validate(document: YamlDocument, model: type[M]) -> M:
    try:
        return model.model_validate(document.data)
    except PydanticValidationError as exc:
        problems = [_problem_line(document, model, error) for error in exc.errors()]
        raise ConfigError(
            "\n".join(problems), file=str(document.path), problems=len(problems)
        ) from None


def _problem_line(document: YamlDocument, model: type[BaseModel], error: Any) -> str:
    from config.loader import kind_of

    loc = tuple(error["loc"])
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        allowed = _keys_at(model, loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}?" if near else f"allowed keys: {', '.join(allowed)}"
        problem = f"unknown key; {hint}"
    elif kind == "missing":
        problem = "required key is missing"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        allowed = _keys_at(model, loc)
        problem = (
            f"expected a mapping with keys such as {', '.join(allowed[:4])}, got {kind_of(given)}"
        )
    elif kind == "too_short" and isinstance(given, list):
        problem = "needs at least one entry"
    elif kind == "literal_error":
        problem = f"{error['msg']}; got {given!r}"
    else:
        problem = f"{error['msg']}, got {kind_of(given)}"
    return document.error(loc, problem).message


def _keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts (list indexes are skipped: items share a model)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            break
        if isinstance(part, int):
            continue
        found = next(
            (f for name, f in current.model_fields.items() if (f.alias or name) == part), None
        )
        current = _model_in(found.annotation) if found is not None else None
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
