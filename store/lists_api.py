"""The store facade's part for Saved views and static/dynamic lists.: Saved views and static/dynamic lists."""

from __future__ import annotations

from store._facade import FacadePart

__all__ = ["ListsApi"]


class ListsApi(FacadePart):
    """Saved views and static/dynamic lists."""
