"""The mass-delete brake's rule: a count limit, and a share limit above a floor."""

from __future__ import annotations

from typing import Any

import pytest

from mapping import FieldMapping
from syncd.engine import SyncSpec


def _spec(**brake: Any) -> SyncSpec:
    return SyncSpec.build(
        "s",
        connector="c",
        external_object="o",
        crm_object="contacts",
        mappings=[FieldMapping(("email",), "email")],
        **brake,
    )


@pytest.mark.parametrize(
    ("deletes", "linked", "trips"),
    [
        (0, 0, False),
        (1, 2, False),  # half of a tiny sync: ordinary, below the floor of 10
        (9, 10, False),
        (10, 100, False),  # at the floor, but only 10%
        (21, 100, True),  # over 20% and past the floor
        (101, 100_000, True),  # over the count limit whatever the share
        (100, 100_000, False),
    ],
)
def test_the_brake_trips_on_count_or_on_share_past_the_floor(
    deletes: int, linked: int, trips: bool
) -> None:
    assert _spec().brake_trips(deletes, linked) is trips


def test_a_floor_of_zero_restores_the_plain_share_rule() -> None:
    assert _spec(brake_min=0).brake_trips(1, 2) is True
