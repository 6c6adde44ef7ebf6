"""Shape checks shared by the parity tests (our own HTTP client and HubSpot's SDKs)."""

from __future__ import annotations

from typing import Any


def nulls(value: Any, path: str = "$") -> list[str]:
    """Every ``null`` in an answer, except where HubSpot sends one too.

    HubSpot leaves an optional field out rather than sending ``null`` (issue 18), except a
    record's requested property without a value and an unlabelled association type's label.
    """
    found: list[str] = []
    if value is None:
        return [path]
    if isinstance(value, list):
        for i, item in enumerate(value):
            found += nulls(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "properties" and isinstance(item, dict):
                continue  # {name: value|null}: a requested property without a value is null
            if key == "label" and "typeId" in value:
                continue  # an unlabelled association type: HubSpot sends ``label: null``
            found += nulls(item, f"{path}.{key}")
    return found
