"""Property definitions between HubSpot's JSON and the store's ``PropertySpec``/``PropertyDef``.

The store names two things differently from HubSpot: its calculated field type is
``calculation`` (HubSpot: ``calculation_equation``), and its ``email``/``domain`` value
formats are HubSpot's ``textDisplayHint`` ``email``/``domain_name``. Both are translated
here, in one place, in both directions.
"""

from __future__ import annotations

from typing import Any

from store import OptionSpec, PropertyDef, PropertySpec
from syncd.api.errors import ApiError, error_detail, error_from_exception
from syncd.api.models import ErrorDetail, StandardError
from syncd.api.properties_models import (
    ModificationMetadata,
    OptionIn,
    OptionOut,
    PropertyCreateBody,
    PropertyOut,
    PropertyUpdateBody,
)

__all__ = [
    "create_spec",
    "hint_format",
    "option_specs",
    "property_json",
    "refuse_calculation",
    "standard_error",
    "update_changes",
]

_FORMAT_HINTS = {"email": "email", "domain": "domain_name"}
_HINT_FORMATS = {hint: fmt for fmt, hint in _FORMAT_HINTS.items()}
_OWNER_PROPERTY = "hubspot_owner_id"  # its options come from the owners, not the definition
# What HubSpot lists for a bool property created without options of its own.
_BOOL_OPTIONS = (
    OptionSpec(value="true", label="Yes", display_order=0),
    OptionSpec(value="false", label="No", display_order=1),
)


def property_json(prop: PropertyDef, default_group: str = "") -> PropertyOut:
    """A stored definition in HubSpot's ``Property`` shape."""
    calculated = prop.field_type == "calculation"
    return PropertyOut(
        name=prop.name,
        label=prop.label,
        type=prop.type,
        fieldType="calculation_equation" if calculated else prop.field_type,
        groupName=prop.group or default_group,
        description=prop.description,
        options=[
            OptionOut(label=o.label, value=o.value, displayOrder=o.display_order, hidden=o.hidden)
            for o in prop.options or (_BOOL_OPTIONS if prop.type == "bool" else ())
        ],
        displayOrder=prop.display_order,
        hasUniqueValue=prop.unique,
        hidden=False,
        formField=not (prop.read_only or calculated),
        calculated=calculated,
        externalOptions=prop.name == _OWNER_PROPERTY,
        referencedObjectType="OWNER" if prop.name == _OWNER_PROPERTY else None,
        hubspotDefined=True if prop.builtin else None,
        textDisplayHint=_FORMAT_HINTS.get(prop.format or ""),
        modificationMetadata=ModificationMetadata(
            archivable=not prop.builtin,
            readOnlyDefinition=prop.builtin,
            readOnlyValue=prop.read_only or calculated,
            readOnlyOptions=False,
        ),
        createdAt=prop.created_at,
        updatedAt=prop.updated_at,
        archived=prop.archived,
        archivedAt=prop.updated_at if prop.archived else None,
    )


def refuse_calculation(field_type: str | None, formula: str | None) -> None:
    if formula is not None or field_type in ("calculation_equation", "calculation"):
        raise ApiError(
            400,
            "calculation properties are not supported: syncd does not evaluate "
            "calculationFormula; create a plain property and write its values",
            "VALIDATION_ERROR",
            errors=[error_detail("calculation properties are not supported", "INVALID_INPUT")],
        )


def hint_format(hint: str | None) -> str | None:
    """The store's value format a ``textDisplayHint`` asks for (None: display only)."""
    return _HINT_FORMATS.get(hint or "")


def option_specs(options: list[OptionIn]) -> tuple[OptionSpec, ...]:
    return tuple(
        OptionSpec(
            value=o.value,
            label=o.label,
            display_order=o.displayOrder
            if o.displayOrder is not None and o.displayOrder >= 0
            else i,
            hidden=o.hidden,
        )
        for i, o in enumerate(options)
    )


def create_spec(body: PropertyCreateBody) -> PropertySpec:
    """The store's spec for a ``PropertyCreate`` body; the store checks type and field type."""
    refuse_calculation(body.fieldType, body.calculationFormula)
    return PropertySpec(
        name=body.name,
        label=body.label,
        type=body.type,
        field_type=body.fieldType,
        group=body.groupName,
        description=body.description,
        options=option_specs(body.options),
        unique=body.hasUniqueValue,
        format=hint_format(body.textDisplayHint),
        display_order=body.displayOrder,
    )


def update_changes(body: PropertyUpdateBody) -> dict[str, Any]:
    """The store's ``update_property`` changes for the fields a ``PropertyUpdate`` sent."""
    refuse_calculation(body.fieldType, body.calculationFormula)
    changes: dict[str, Any] = {}
    for field, key in (
        ("label", "label"),
        ("type", "type"),
        ("fieldType", "field_type"),
        ("groupName", "group"),
        ("description", "description"),
    ):
        value = getattr(body, field)
        if value is not None:
            changes[key] = value
    if body.options is not None:
        changes["options"] = option_specs(body.options)
    if body.displayOrder is not None:
        changes["display_order"] = body.displayOrder
    return changes


def standard_error(exc: Exception, **context: list[str]) -> StandardError:
    """One input's failure inside a 207 answer, in HubSpot's ``StandardError`` shape."""
    mapped = error_from_exception(exc)
    if mapped is None:
        raise exc
    return StandardError(
        category=mapped.category,
        message=mapped.message,
        errors=[ErrorDetail.model_validate(e) for e in mapped.errors],
        context=dict(context),
        links={},
    )
