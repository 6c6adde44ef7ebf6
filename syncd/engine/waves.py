"""Updates that hand a unique value from one record to another, in the order they can land.

Bo moves to a new email and Ann takes Bo's old one, both in one pass. A store or a system
that checks every input of a batch against the records as they were before the batch
(syncd's own store, HubSpot's batch API) refuses Ann's update as a duplicate though the
same batch frees the value; the sides then stay apart until a retry. So updates are split
into waves: one that gives up a value is written in an earlier wave than one taking it.
Pure: the caller says what each update holds and writes; this module orders indexes.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncd.engine.diff import spelled

__all__ = ["freeing_waves", "ring_breakers"]


def freeing_waves(moves: Sequence[tuple[object, object] | None]) -> list[list[int]]:
    """Indexes of ``moves`` in waves, each update that frees a value before one that takes it.

    ``moves[i]`` is ``(held, written)``: the value update ``i``'s record holds now and the
    one it writes, or ``None`` when the update does not touch the value. Values compare as
    a system may spell them back (case, spaces); an empty value is held by nobody. A system
    without a unique check (a CardDAV address book) may have two records holding one value:
    its taker waits for both. Updates that take each other's values in a ring (a swap)
    cannot land one at a time: they go together in the last wave, with any update waiting
    for them; a system that writes a batch in one transaction (SQL) lands them there, and
    for the others the engine breaks the ring (``ring_breakers``, ``swaps``).
    """
    waits = _waits(moves)
    waves: list[list[int]] = []
    placed: set[int] = set()
    left = list(range(len(moves)))
    while left:
        wave = [i for i in left if waits.get(i, set()) <= placed]
        if not wave:  # only rings, and what waits for them, are left
            wave = left
        waves.append(wave)
        placed.update(wave)
        left = [i for i in left if i not in placed]
    return waves


def ring_breakers(moves: Sequence[tuple[object, object] | None]) -> list[int]:
    """Indexes of updates whose records must give their value up first (write it empty)
    so that no ring is left and every update can land in waves: one member per ring.

    Empty for ``moves`` that ``freeing_waves`` orders completely. A breaker still takes
    its new value afterwards, in its wave.
    """
    waits = _waits(moves)
    breakers: list[int] = []
    placed: set[int] = set()
    left = list(range(len(moves)))
    while left:
        wave = [i for i in left if waits.get(i, set()) <= placed]
        if wave:
            placed.update(wave)
            left = [i for i in left if i not in placed]
            continue
        # Every update left waits for another one left: following the waits from any of
        # them comes round to a ring. Its first member found gives its value up.
        path: list[int] = []
        at = left[0]
        while at not in path:
            path.append(at)
            at = min(waits[at] - placed)
        breakers.append(at)
        for givers in waits.values():
            givers.discard(at)
    return breakers


def _waits(moves: Sequence[tuple[object, object] | None]) -> dict[int, set[int]]:
    """For each update that takes a value: the updates that must give it up first."""
    taking: dict[int, str] = {}  # index -> the value the update writes
    holders: dict[str, list[int]] = {}  # a value held now -> the updates moving it away
    for index, move in enumerate(moves):
        if move is None:
            continue
        held, written = (spelled(value) or None for value in move)
        if written is not None and written != held:
            taking[index] = written
        if held is not None and held != written:
            holders.setdefault(held, []).append(index)
    return {
        index: {giver for giver in holders.get(value, ()) if giver != index}
        for index, value in taking.items()
    }
