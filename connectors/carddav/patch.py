"""Write a card back as the text it was, except for the lines a write changed.

vobject re-serialises a whole card its own way: it sorts the lines, upper-cases names
(``X-ABLabel``), re-folds, and escapes ``;`` inside values (a vCard 4.0
``tel:+45-1234;ext=12`` comes out as ``tel:+45-1234\\;ext=12``, no longer a valid URI). The
card belongs to the people who edit it in their address book apps, so an update keeps every
line syncd did not change byte for byte, in its place; only changed, added and removed lines
differ. When the text cannot be lined up with the parsed card (vCard 2.1 quoted-printable
soft breaks, nested components), :func:`render` returns None and the caller serialises the
whole card as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vobject.base import Component, ContentLine

__all__ = ["Snapshot", "render", "snapshot"]

_BREAK = re.compile(r"\r\n|\n|\r")
_NAME = re.compile(r"^(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)")
_STRUCTURE = frozenset({"begin", "end"})


@dataclass
class _Raw:
    name: str | None  # lower-case property name; None for a blank line
    text: str  # exactly as in the card, folds and line ending included


@dataclass
class Snapshot:
    """The card's text lined up with its parsed lines, taken before a write changes them."""

    raw: list[_Raw]
    newline: str
    #: id(line) -> (index in ``raw``, how vobject serialised the line before the write)
    lines: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: The parsed lines, held so that no id in ``lines`` is reused by a new line object.
    keep: list[ContentLine] = field(default_factory=list)


def snapshot(text: str, card: Component) -> Snapshot | None:
    """Line up ``text`` with ``card`` (parsed from it); None when they do not line up."""
    raw = _logical_lines(text)
    if sum(1 for r in raw if r.name == "begin") != 1 or sum(1 for r in raw if r.name == "end") != 1:
        return None
    by_name: dict[str, list[int]] = {}
    for index, item in enumerate(raw):
        if item.name is not None and item.name not in _STRUCTURE:
            by_name.setdefault(item.name, []).append(index)
    names = {str(k).lower() for k in card.contents}
    if set(by_name) != names:
        return None
    first = _BREAK.search(text)
    shot = Snapshot(raw, first.group(0) if first else "\r\n")
    for key, lines in card.contents.items():
        positions = by_name.get(str(key).lower(), [])
        if len(positions) != len(lines) or not all(isinstance(x, ContentLine) for x in lines):
            return None
        for line, position in zip(lines, positions, strict=True):
            serialised = _serialise(line)
            if serialised is None:
                return None
            shot.lines[id(line)] = (position, serialised)
            shot.keep.append(line)
    return shot


def render(shot: Snapshot, card: Component) -> str | None:
    """The card's new text: unchanged lines as they were, the others as vobject writes them."""
    at: dict[int, list[str]] = {}
    before_end: list[str] = []
    for key, lines in card.contents.items():
        name = str(key).lower()
        texts: list[tuple[int | None, str]] = []
        for line in lines:
            if not isinstance(line, ContentLine):
                return None
            serialised = _serialise(line)
            if serialised is None:
                return None
            known = shot.lines.get(id(line))
            if known is not None and known[1] == serialised:
                texts.append((known[0], shot.raw[known[0]].text))
            else:
                texts.append((known[0] if known else None, _ending(serialised, shot.newline)))
        old = [i for i, r in enumerate(shot.raw) if r.name == name]
        kept = [position for position, _ in texts if position is not None]
        if kept != sorted(kept):
            # Reordered (a list field written in a new order): the lines go where the first was.
            at.setdefault(old[0], []).extend(t for _, t in texts)
            continue
        front: list[str] = []
        current: int | None = None
        for position, text in texts:
            if position is not None:
                current = position
                at.setdefault(position, []).append(text)
            elif current is not None:
                at[current].append(text)
            else:
                front.append(text)
        if front:
            if kept:
                at[kept[0]][:0] = front
            elif old:
                at.setdefault(old[0], []).extend(front)
            else:
                before_end.extend(front)
    out: list[str] = []
    for index, item in enumerate(shot.raw):
        if item.name is None or item.name == "begin":
            out.append(item.text)
        elif item.name == "end":
            if before_end and out and not _BREAK.search(out[-1][-2:]):
                out[-1] += shot.newline  # the line before END had no line ending
            out.extend(before_end)
            out.append(item.text)
        else:
            out.extend(at.get(index, []))
    return "".join(out)


def _logical_lines(text: str) -> list[_Raw]:
    """Physical lines joined where a line starts with a space or tab (RFC 6350 folding)."""
    physical: list[str] = []
    position = 0
    for match in _BREAK.finditer(text):
        physical.append(text[position : match.end()])
        position = match.end()
    if position < len(text):
        physical.append(text[position:])
    raw: list[_Raw] = []
    for line in physical:
        if raw and raw[-1].name is not None and line[:1] in (" ", "\t"):
            raw[-1].text += line
            continue
        content = line.rstrip("\r\n")
        named = _NAME.match(content)
        raw.append(_Raw(named.group(1).lower() if named and content.strip() else None, line))
    return raw


def _serialise(line: ContentLine) -> str | None:
    try:
        text: str = line.serialize()
    except Exception:  # vobject raises many kinds; the caller then writes the whole card
        return None
    return text


def _ending(text: str, newline: str) -> str:
    text = text if text.endswith("\r\n") else text + "\r\n"
    return text if newline == "\r\n" else text.replace("\r\n", newline)
