"""connectors package: see DESIGN.md, Where things live."""

from __future__ import annotations

__all__: list[str] = []
