"""What a CardDAV connector remembers between calls, bounded: ETags, card texts, listings.

The engine hands a write only the changed fields, so an update needs the whole card it read
to change just those properties and keep the rest (photos, X- properties): the texts of
cards read are kept (up to :data:`CARD_CACHE_CHARS`), with their ETags (up to
:data:`ETAG_CACHE`), so ``If-Match`` guards exactly the version read. A run's listing of
changed hrefs is kept between its pages and dropped at the last one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CARD_CACHE_CHARS", "ETAG_CACHE", "GONE", "CardCache", "Listing"]

#: ETags remembered per connector (an entry is a few hundred bytes).
ETAG_CACHE = 200_000
#: Card texts remembered for updates, in characters; older ones are fetched again.
CARD_CACHE_CHARS = 32 * 1024 * 1024
#: A listing's mark for a card that is gone (a tombstone).
GONE = "\x00gone"


@dataclass
class Listing:
    """A run's listing of changed hrefs, kept between its pages (dropped at the last one)."""

    key: tuple[Any, ...]
    #: href -> ETag (None when the listing gave none), or ``GONE`` for a tombstone.
    entries: dict[str, str | None] = field(default_factory=dict)


class CardCache:
    """ETags, card texts and listings of one connector; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._etags: OrderedDict[str, str] = OrderedDict()
        self._cards: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._card_chars = 0
        self._listings: dict[str, Listing] = {}

    def card(self, href: str) -> tuple[tuple[str, str] | None, str | None]:
        """The (ETag, text) of the card as read, if kept, and the ETag last seen for it."""
        with self._lock:
            return self._cards.get(href), self._etags.get(href)

    def clear(self) -> None:
        with self._lock:
            self._etags.clear()
            self._cards.clear()
            self._card_chars = 0
            self._listings.clear()

    def remember(self, href: str, etag: str, text: str) -> None:
        with self._lock:
            self._etags[href] = etag
            self._etags.move_to_end(href)
            while len(self._etags) > ETAG_CACHE:
                self._etags.popitem(last=False)
            old = self._cards.pop(href, None)
            if old is not None:
                self._card_chars -= len(old[1])
            self._cards[href] = (etag, text)
            self._card_chars += len(text)
            while self._card_chars > CARD_CACHE_CHARS and self._cards:
                _, (_, dropped) = self._cards.popitem(last=False)
                self._card_chars -= len(dropped)

    def forget(self, href: str) -> None:
        with self._lock:
            self._etags.pop(href, None)
            old = self._cards.pop(href, None)
            if old is not None:
                self._card_chars -= len(old[1])

    def etag(self, href: str) -> str | None:
        with self._lock:
            return self._etags.get(href)

    def listing(self, obj: str, key: tuple[Any, ...], resume: bool) -> Listing | None:
        if resume:
            return None
        with self._lock:
            listing = self._listings.get(obj)
        return listing if listing is not None and listing.key == key else None

    def keep_listing(self, obj: str, listing: Listing) -> None:
        with self._lock:
            self._listings[obj] = listing

    def drop_listing(self, obj: str) -> None:
        with self._lock:
            self._listings.pop(obj, None)
