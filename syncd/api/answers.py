"""Answers built from response models: by alias (``from``, not ``from_``), with the status
the route decided (HubSpot's clients decode a batch answer by whether it is 200/201 or 207)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse

from store import utcnow
from syncd.api.models import StandardError

__all__ = ["batch_answer", "json_answer"]


def json_answer(model: Any, status: int) -> JSONResponse:
    return JSONResponse(
        model.model_dump(mode="json", by_alias=True, exclude_none=True), status_code=status
    )


def batch_answer(
    complete: Any,
    partial: Any,
    results: Sequence[Any],
    errors: Sequence[StandardError],
    started: datetime,
    *,
    ok_status: int,
) -> JSONResponse:
    """A batch's answer as HubSpot gives it: ``ok_status`` when every input was done, else 207
    with ``numErrors`` and the per-input errors beside the results that were written."""
    if not errors:
        body = complete(results=list(results), startedAt=started, completedAt=utcnow())
        return json_answer(body, ok_status)
    body = partial(
        results=list(results),
        startedAt=started,
        completedAt=utcnow(),
        numErrors=len(errors),
        errors=list(errors),
    )
    return json_answer(body, 207)
