"""The order in which updates handing a unique value from record to record can land.

Both the CRM store and HubSpot's batch API check a batch against the records as they were
before it, so the waves are the whole of what keeps a moved email from being refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from syncd.engine.waves import freeing_waves, ring_breakers


def test_updates_that_touch_no_held_value_go_in_one_wave() -> None:
    assert freeing_waves([None, ("a@x.io", "c@x.io"), None]) == [[0, 1, 2]]


def test_no_updates_no_waves() -> None:
    assert freeing_waves([]) == []


def test_the_update_taking_a_value_goes_after_the_one_giving_it_up() -> None:
    # Ann (0) takes Bo's email; Bo (1) moves on.
    assert freeing_waves([("a@x.io", "b@x.io"), ("b@x.io", "c@x.io")]) == [[1], [0]]


def test_a_chain_of_moves_lands_from_its_free_end() -> None:
    moves = [("a@x.io", "b@x.io"), ("b@x.io", "c@x.io"), ("c@x.io", "d@x.io")]
    assert freeing_waves(moves) == [[2], [1], [0]]


def test_values_compare_as_a_system_spells_them_back() -> None:
    assert freeing_waves([(" A@X.io", "b@x.io"), ("B@x.IO ", "c@x.io")]) == [[1], [0]]


def test_a_respelling_takes_and_frees_nothing() -> None:
    assert freeing_waves([("a@x.io", "A@x.io"), ("b@x.io", "a@x.io")]) == [[0, 1]]


def test_a_swap_goes_in_one_wave_since_no_order_can_land_it() -> None:
    assert freeing_waves([("a@x.io", "b@x.io"), ("b@x.io", "a@x.io")]) == [[0, 1]]


def test_a_swap_and_what_waits_for_it_go_last() -> None:
    moves = [("a@x.io", "b@x.io"), ("b@x.io", "a@x.io"), ("c@x.io", "a@x.io"), None]
    assert freeing_waves(moves) == [[3], [0, 1, 2]]


def test_a_value_two_records_hold_is_taken_after_both_give_it_up() -> None:
    moves = [("c@x.io", "a@x.io"), ("a@x.io", "d@x.io"), ("a@x.io", "e@x.io")]
    assert freeing_waves(moves) == [[1, 2], [0]]


def test_emptying_a_value_frees_it() -> None:
    assert freeing_waves([(None, "a@x.io"), ("a@x.io", None)]) == [[1], [0]]
    assert freeing_waves([("", "a@x.io"), ("a@x.io", "")]) == [[1], [0]]


_emails = st.sampled_from(["a@x.io", "b@x.io", "c@x.io", "d@x.io", None])


@given(st.lists(st.one_of(st.none(), st.tuples(_emails, _emails)), max_size=8))
def test_every_update_lands_once_and_none_waits_for_one_after_it(
    moves: list[tuple[str | None, str | None] | None],
) -> None:
    waves = freeing_waves(moves)
    placed = [i for wave in waves for i in wave]
    assert sorted(placed) == list(range(len(moves)))
    assert all(waves)
    # The giver lands first, unless both are in the last wave: a ring and what waits for
    # it, which no order can land.
    for giver_wave, taker_wave in _givers_not_first(moves):
        assert giver_wave == taker_wave == len(waves) - 1


def _givers_not_first(
    moves: list[tuple[str | None, str | None] | None],
) -> list[tuple[int, int]]:
    """The waves ``freeing_waves`` gives each update that gives a value up and one taking
    it, wherever the giver does not land first."""
    wave_of = {i: n for n, wave in enumerate(freeing_waves(moves)) for i in wave}
    late = []
    for taker, move in enumerate(moves):
        if move is None or move[1] is None or move[0] == move[1]:
            continue
        for giver, other in enumerate(moves):
            if other is None or giver == taker or other[0] != move[1] or other[1] == other[0]:
                continue
            if wave_of[giver] >= wave_of[taker]:
                late.append((wave_of[giver], wave_of[taker]))
    return late


def _lands_in_order(moves: list[tuple[str | None, str | None] | None]) -> bool:
    return not _givers_not_first(moves)


def _released(
    moves: Sequence[tuple[str | None, str | None] | None], breakers: list[int]
) -> list[tuple[str | None, str | None] | None]:
    return [
        (None, move[1]) if i in breakers and move is not None else move
        for i, move in enumerate(moves)
    ]


def test_a_chain_needs_no_breaker() -> None:
    assert ring_breakers([("a@x.io", "b@x.io"), ("b@x.io", "c@x.io")]) == []


def test_a_swap_is_broken_by_emptying_one_of_its_two() -> None:
    moves = [("a@x.io", "b@x.io"), ("b@x.io", "a@x.io")]
    assert ring_breakers(moves) == [0]
    assert freeing_waves(_released(moves, [0])) == [[1], [0]]


def test_what_waits_for_a_ring_is_never_the_one_emptied() -> None:
    """Cy takes Ann's email and waits for the swap of Ann and Bo: emptying Cy frees nothing."""
    moves = [("c@x.io", "a@x.io"), ("a@x.io", "b@x.io"), ("b@x.io", "a@x.io")]
    (breaker,) = ring_breakers(moves)
    assert breaker in (1, 2)


def test_each_ring_gets_one_breaker() -> None:
    moves = [
        ("a@x.io", "b@x.io"),
        ("b@x.io", "a@x.io"),
        ("c@x.io", "d@x.io"),
        ("d@x.io", "e@x.io"),
        ("e@x.io", "c@x.io"),
    ]
    breakers = ring_breakers(moves)
    assert len(breakers) == 2
    assert len(set(breakers) & {0, 1}) == 1 and len(set(breakers) & {2, 3, 4}) == 1


@given(st.lists(st.one_of(st.none(), st.tuples(_emails, _emails)), max_size=8))
def test_once_the_breakers_give_their_values_up_every_update_lands_in_order(
    moves: list[tuple[str | None, str | None] | None],
) -> None:
    breakers = ring_breakers(moves)
    assert len(set(breakers)) == len(breakers)
    assert all(moves[i] is not None for i in breakers)
    assert _lands_in_order(_released(moves, breakers))
    if _lands_in_order(moves):
        assert breakers == []
