"""The API publishes exactly the search operators the store accepts.

``Operator`` is one ``Literal`` in the store, from which both the store's checks and the
API's request model take their list; what a client sees is the request model's schema (the
``enum`` of ``/openapi.json``), so that is what this reads.
"""

from __future__ import annotations

from store import OPERATORS
from syncd.api.objects_models import FilterInput


def test_the_api_publishes_every_store_operator_and_no_other() -> None:
    schema = FilterInput.model_json_schema()
    assert tuple(schema["properties"]["operator"]["enum"]) == OPERATORS
