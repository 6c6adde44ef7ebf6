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

__all__ = ["freeing_waves"]


def freeing_waves(moves: Sequence[tuple[object, object] | None]) -> list[list[int]]:
    """Indexes of ``moves`` in waves, each update that frees a value before one that takes it.

    ``moves[i]`` is ``(held, written)``: the value update ``i``'s record holds now and the
    one it writes, or ``None`` when the update does not touch the value. Values compare as
    a system may spell them back (case, spaces); an empty value is held by nobody. A system
    without a unique check (a CardDAV address book) may have two records holding one value:
    its taker waits for both. Updates that take each other's values in a cycle (a swap)
    cannot land one at a time: they go together in the last wave, with any update waiting
    for them, where the store refuses what it must and the retry queue has them, as it
    would unordered.
    """
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
    waits = {
        index: {giver for giver in holders.get(value, ()) if giver != index}
        for index, value in taking.items()
    }
    waves: list[list[int]] = []
    placed: set[int] = set()
    left = list(range(len(moves)))
    while left:
        wave = [i for i in left if waits.get(i, set()) <= placed]
        if not wave:  # only cycles, and what waits for them, are left
            wave = left
        waves.append(wave)
        placed.update(wave)
        left = [i for i in left if i not in placed]
    return waves
