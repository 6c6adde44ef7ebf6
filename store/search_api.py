"""The store facade's part for Search and segments: filter groups compiled to SQL on both databases."""

from __future__ import annotations

from store._facade import FacadePart

__all__ = ["SearchApi"]


class SearchApi(FacadePart):
    """Search and segments: filter groups compiled to SQL on both databases."""
