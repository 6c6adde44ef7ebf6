"""The store facade's part for the activity timeline: logging activities and reading them."""

from __future__ import annotations

from store._facade import FacadePart

__all__ = ["ActivitiesApi"]


class ActivitiesApi(FacadePart):
    """Log calls, notes, emails, meetings and tasks on records; read a record's timeline."""
