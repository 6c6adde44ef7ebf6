"""Every bad property of one write input, as HubSpot lists them: one ``errors[]`` entry each.

The store stops at the first value it refuses (it must write nothing, so one reason is
enough for it); a HubSpot client fixes a form or a mapping from the list of entries and
expects all of them at once (``PROPERTY_DOESNT_EXIST``, ``INVALID_OPTION``, ...). So when the
store refuses an input for a property, the input's values are checked again here, each on its
own, with the store's own value rules (``canonical_value``); nothing is checked on the path
where the store accepted the write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store import (
    AUTOMATIC_PROPERTIES,
    NotFoundError,
    ObjectSchema,
    ValidationError,
    canonical_value,
    suggest,
)
from syncd.api.errors import ApiError, error_detail, error_from_exception, validation_code

__all__ = ["is_property_error", "property_refusal"]


def is_property_error(exc: Exception) -> bool:
    """A refusal about one property's name or value (not a missing record, not a duplicate)."""
    if isinstance(exc, NotFoundError):
        return exc.data.get("property") is not None
    return isinstance(exc, ValidationError) and exc.property_name not in ("*", "associations")


def _problems(schema: ObjectSchema, values: Mapping[str, object]) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = []
    for name, value in values.items():
        prop = schema.properties.get(name)
        if prop is None:
            details.append(
                error_detail(
                    f"{schema.name} has no property {name!r}{suggest(name, schema.properties)}",
                    "PROPERTY_DOESNT_EXIST",
                    property_name=name,
                )
            )
        elif name in AUTOMATIC_PROPERTIES or prop.read_only or prop.field_type == "calculation":
            details.append(
                error_detail(
                    f"{schema.name}.{name} is read-only: the store maintains it",
                    "READ_ONLY_VALUE",
                    property_name=name,
                )
            )
        else:
            try:
                canonical_value(schema.name, prop, value)
            except ValidationError as exc:
                details.append(error_detail(exc.message, validation_code(exc), property_name=name))
    return details


def property_refusal(
    exc: Exception, schema: ObjectSchema, values: Mapping[str, object]
) -> ApiError | None:
    """The 400 for ``exc`` listing every bad property of ``values``; None when ``exc`` is not
    about a property (the caller maps it as before)."""
    if not is_property_error(exc):
        return None
    details: list[Mapping[str, Any]] = list(_problems(schema, values))
    mapped = error_from_exception(exc, object_label=schema.singular_label)
    named = {n for d in details for n in d.get("context", {}).get("propertyName", ())}
    if mapped is not None:
        # What the store saw that a value-by-value look does not (a required value cleared).
        details += [
            e
            for e in mapped.errors
            if not set(e.get("context", {}).get("propertyName", ())) & named
        ]
    if not details:
        return mapped
    return ApiError(
        400,
        "Property values were not valid: " + "; ".join(d["message"] for d in details),
        "VALIDATION_ERROR",
        errors=details,
    )
