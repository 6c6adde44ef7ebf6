"""The API's published search operators are exactly the ones the store's search accepts.

The API's ``Operator`` is a ``Literal`` (so ``/openapi.json`` lists the values), which cannot
be built from the store's tuple; this keeps the two lists from drifting apart.
"""

from __future__ import annotations

from typing import get_args

from store import OPERATORS
from syncd.api.objects_models import Operator


def test_the_api_publishes_every_store_operator_and_no_other() -> None:
    assert get_args(Operator) == OPERATORS
