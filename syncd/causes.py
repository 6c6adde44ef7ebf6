"""The cause of a failure message: the message with what names one record taken out.

``syncd errors`` groups parked failures by cause. Messages name the record they are about
(``email ann@x.io is already used by contact 17``), so grouping by the raw text gave one
group per record: 134 groups of one for one cause. ``cause_of`` replaces e-mail addresses,
UUIDs, long hex and digit runs with placeholders, keeping what tells causes apart: the
words, and an HTTP status at the start or after ``HTTP``/``status`` (a 409 is not a 422).

Pure: no I/O.
"""

from __future__ import annotations

import re

__all__ = ["cause_of"]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_HEX = re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{12,}\b")
# A status code kept: 1xx-5xx first in the message, or after "HTTP" / "status".
_STATUS = re.compile(r"(?:^|(?<=HTTP )|(?<=HTTP/1\.1 )|(?<=status )|(?<=status: ))[1-5]\d\d\b")
# Digits that end a word (``e164``, ``v3``, ``sha256``) name a thing, not a record: kept.
_NUMBER = re.compile(r"(?<![A-Za-z_\d])\d+(?:\.\d+)?")
_KEEP = "\x00"


def cause_of(message: str | None) -> str:
    """``message`` with record-specific values replaced: ``<email>``, ``<id>``, ``<n>``."""
    if not message:
        return "(no message)"
    text = " ".join(message.split())
    text = _EMAIL.sub("<email>", text)
    text = _UUID.sub("<id>", text)
    text = _HEX.sub("<id>", text)
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"{_KEEP}{len(kept) - 1}{_KEEP}"

    text = _STATUS.sub(keep, text)
    parts = text.split(_KEEP)
    # Odd parts are the indexes of kept status codes; only the others lose their numbers.
    return "".join(
        kept[int(part)] if index % 2 else _NUMBER.sub("<n>", part)
        for index, part in enumerate(parts)
    )
