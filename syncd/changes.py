"""A sync log row's deepdiff description as people read it, for the CLI and the console."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["changes_text"]

_ROOT_KEY = re.compile(r"^root\['(.*)'\]$")


def changes_text(changes: Mapping[str, Any] | None) -> str:
    """A deepdiff description as people read it: ``email: a -> b; phone: + 123``."""
    if not changes:
        return ""
    parts: list[str] = []
    for kind, items in changes.items():
        if not isinstance(items, Mapping):
            parts.append(f"{kind}: {items}")
            continue
        for path, detail in items.items():
            match = _ROOT_KEY.match(str(path))
            name = match.group(1) if match else str(path)
            if kind in ("values_changed", "type_changes") and isinstance(detail, Mapping):
                parts.append(f"{name}: {detail.get('old_value')} -> {detail.get('new_value')}")
            elif kind == "dictionary_item_added":
                parts.append(f"{name}: + {detail}")
            elif kind == "dictionary_item_removed":
                parts.append(f"{name}: - {detail}")
            else:
                parts.append(f"{name}: {detail}")
    return "; ".join(parts)
