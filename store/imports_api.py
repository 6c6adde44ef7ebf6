"""The store facade's part for CSV import and export of records and property definitions.: CSV import and export of records and property definitions."""

from __future__ import annotations

from store._facade import FacadePart

__all__ = ["ImportsApi"]


class ImportsApi(FacadePart):
    """CSV import and export of records and property definitions."""
