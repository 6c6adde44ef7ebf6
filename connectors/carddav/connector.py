"""The ``carddav`` connector: contacts in a CardDAV address book (Nextcloud, iCloud, Google).

One external object is one address book collection; a record is one vCard, its id the card's
href (the server path, stable for the card's life). Reading changes uses the sync-collection
REPORT (RFC 6578) with the server's sync token, or, where the server has none, a PROPFIND
whose ETags are compared with those of the last pass. Cards are fetched with
addressbook-multiget in batches, never one GET per card.

Writes are conditional: an update sends ``If-Match`` with the ETag the card had when it was
read, so an edit someone made in their phone meanwhile is never overwritten (the server
answers 412, the request fails retriably, and the next pass reads the new version first). A
create PUTs to a name derived from the engine's idempotency key with ``If-None-Match: *``,
so a retry after a lost answer finds its own card instead of making a second one.

The ETags and the texts of cards read are kept in memory per connector (bounded, ``cache``),
because the engine hands a write only the changed fields: an update needs the whole card it
read to change just those properties and keep the rest (photos, X- properties) as they are.
Requests, their retries and what their failures mean live in ``requests``; the WebDAV
protocol and its XML in ``dav``; vCards in ``vcard``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlsplit

import structlog
from vobject.base import Component

from connectors.base import (
    ChangePage,
    ConnectorError,
    ConnectorOptions,
    CreateCheck,
    Cursor,
    ExternalRecord,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from connectors.carddav.cache import GONE, CardCache, Listing
from connectors.carddav.dav import (
    Collection,
    DavClient,
    DavError,
    Member,
    MultistatusReader,
    normalize_path,
)
from connectors.carddav.options import CardDavOptions
from connectors.carddav.requests import DavRequests, RequestError, TokenExpired, Unreachable
from connectors.carddav.vcard import (
    FIELDS,
    LIST_FIELDS,
    VCardError,
    card_fields,
    card_updated_at,
    new_card,
    parse_card,
    write_text,
)
from connectors.errors import AuthError
from connectors.http import (
    ClientSettings,
    HttpClients,
    HttpConnector,
)

__all__ = ["CREATE_NAMESPACE", "CardDavConnector"]

log = structlog.get_logger("connectors.carddav")

#: Hrefs per addressbook-multiget REPORT.
MULTIGET_BATCH = 100
#: The namespace of the uuid5 that names a created card after the engine's idempotency key.
CREATE_NAMESPACE = uuid.UUID("6f1c3f62-1d7e-5a8e-9c57-3c0b2f1d4a10")

CHANGED_ON_SERVER = "changed on the server since it was read (412); it will be read again"


@dataclass
class _Book:
    name: str
    collection: Collection
    sync_supported: bool | None = None


class CardDavConnector(HttpConnector[CardDavOptions]):
    """Reads and writes vCards of CardDAV address books."""

    type_name: ClassVar[str] = "carddav"
    options_model: ClassVar[type[ConnectorOptions]] = CardDavOptions

    def __init__(
        self,
        name: str,
        options: ConnectorOptions,
        *,
        http: HttpClients | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(name, options, http=http)
        self._opts = self.options
        self._sleep = sleep
        self._dav = DavClient(self.http_client)
        self._books = {
            obj: _Book(obj, Collection.of(o.url or self._opts.url))
            for obj, o in self._opts.objects.items()
        }
        self._requests = DavRequests(name, self._opts, sleep=sleep)
        self._cache = CardCache()

    def client_settings(self) -> ClientSettings:
        options = self.options
        return ClientSettings(
            timeout=options.timeout_seconds,
            verify=options.verify_tls,
            auth=(options.username, options.password.get_secret_value()),
            headers={"User-Agent": "syncd-carddav"},
        )

    # -- the contract -------------------------------------------------------------------

    def check_object(self, external_object: str) -> str | None:
        book = self._books.get(external_object)
        if book is None:
            return self._unknown(external_object)
        try:
            members = self._requests.call(
                book.collection.url,
                lambda: self._dav.propfind_collection(book.collection.url),
                attempts=1,
            )
        except AuthError:
            raise  # the sync pauses rather than ask again with refused credentials
        except ConnectorError as exc:
            return str(exc)
        if not any(m.is_addressbook for m in members):
            return (
                f"connector {self.name}: {book.collection.url} is not an address book "
                "collection; give the URL of the address book itself"
            )
        return None

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        if limit < 1:
            raise ConnectorError(f"connector {self.name}: limit must be at least 1, not {limit}")
        book = self._book(external_object)
        if self._uses_sync(book):
            return self._sync_page(book, cursor, limit, resume)
        return self._etag_page(book, cursor, limit, resume)

    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        book = self._book(external_object)
        wanted = list(dict.fromkeys(p for p in (book.collection.member(i) for i in ids) if p))
        found = {r.id: r for r in self._multiget(book, wanted) if not r.deleted}
        return [found[h] for h in wanted if h in found]

    @classmethod
    def association_problem(
        cls, options: ConnectorOptions, external_object: str, field_name: str
    ) -> str | None:
        """A vCard holds no other record's id: CardDAV carries no associations."""
        return (
            f"CardDAV cannot carry associations: a vCard field ({field_name!r}) holds no id of"
            " another synced record; remove this association"
        )

    def finds_before_create(self, external_object: str, field_name: str) -> bool:
        """Only with ``match_before_create`` (a search lists the whole address book)."""
        return self._opts.match_before_create and field_name in FIELDS

    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        """Lists the whole address book and compares: CardDAV has no portable index to ask."""
        book = self._book(external_object)
        if field_name not in FIELDS:
            raise ConnectorError(
                f"connector {self.name}: a card has no field {field_name!r}; "
                f"fields: {', '.join(FIELDS)}",
                field=field_name,
            )
        asked: dict[Any, Any] = {}
        for value in values:
            if value is not None and value not in asked:
                asked[value] = _match_key(field_name, value)
        if not asked:
            return {}
        by_key: dict[Any, list[Any]] = {}
        for value, key in asked.items():
            by_key.setdefault(key, []).append(value)
        result: dict[Any, ExternalRecord] = {}
        hrefs = sorted(self._list_etags(book))
        for start in range(0, len(hrefs), MULTIGET_BATCH):
            for record in self._multiget(book, hrefs[start : start + MULTIGET_BATCH]):
                if record.deleted:
                    continue
                held = record.fields.get(field_name)
                items = held if field_name in LIST_FIELDS and isinstance(held, list) else [held]
                for item in items:
                    for value in by_key.get(_match_key(field_name, item), []):
                        result.setdefault(value, record)
            if len(result) == len(asked):
                break
        return result

    def iter_ids(self, external_object: str) -> Iterator[str]:
        book = self._book(external_object)
        yield from sorted(self._list_etags(book))

    def find_created(
        self, external_object: str, requests: Sequence[WriteRequest]
    ) -> list[CreateCheck]:
        """Looked up where the create put it: a create PUTs to the name its key gives.

        Found, the card is returned so the engine links it before anything reads it as new
        (a card another client edited since is then an edit like any other). Not found,
        sending the create again is safe: it PUTs to the same name with ``If-None-Match: *``.
        """
        if not requests:
            return []
        book = self._book(external_object)
        hrefs = [self._created_href(book, request) for request in requests]
        found = {r.id: r for r in self._multiget(book, hrefs) if not r.deleted}
        return [
            CreateCheck(record=found[href]) if href in found else CreateCheck(safe=True)
            for href in hrefs
        ]

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        book = self._book(external_object)
        if not requests:
            return []
        matched = self._matches(book, requests) if self._opts.match_before_create else {}
        results: list[WriteResult | None] = []
        done: dict[int, tuple[WriteOutcome, str]] = {}
        adopted: set[int] = set()
        unreachable: str | None = None
        for index, request in enumerate(requests):
            if unreachable is not None:
                results.append(_failed(request.external_id, unreachable, retriable=True))
                continue
            try:
                if request.external_id is not None:
                    href = book.collection.member(request.external_id)
                    if href is None:
                        raise RequestError(self._not_member(book, request.external_id))
                    self._update(book, href, request.fields)
                    done[index] = (WriteOutcome.UPDATED, href)
                elif index in matched:
                    self._update(book, matched[index], request.fields)
                    done[index] = (WriteOutcome.CREATED, matched[index])
                    adopted.add(index)
                else:
                    done[index] = (WriteOutcome.CREATED, self._create(book, request))
                results.append(None)
            except RequestError as exc:
                results.append(_failed(request.external_id, exc.message, retriable=exc.retriable))
            except Unreachable as exc:
                unreachable = exc.message
                results.append(_failed(request.external_id, unreachable, retriable=True))
        # Read back what the server now holds (it may normalise a card): one REPORT a batch.
        read_back: dict[str, ExternalRecord] = {}
        if done and unreachable is None:
            try:
                hrefs = list(dict.fromkeys(h for _, h in done.values()))
                read_back = {r.id: r for r in self._multiget(book, hrefs) if not r.deleted}
            except ConnectorError:
                read_back = {}
        final: list[WriteResult] = []
        for index, result in enumerate(results):
            if result is not None:
                final.append(result)
                continue
            outcome, href = done[index]
            final.append(
                WriteResult(
                    outcome,
                    external_id=href,
                    record=read_back.get(href),
                    matched=index in adopted,
                )
            )
        return final

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        return self.delete_versions(external_object, ids, [None] * len(ids))

    def delete_versions(
        self, external_object: str, ids: Sequence[str], versions: Sequence[str | None]
    ) -> list[WriteResult]:
        """DELETE with ``If-Match``: the given ETag (the version the engine last agreed on,
        kept with the link across restarts), else the one of the last read."""
        book = self._book(external_object)
        results: list[WriteResult] = []
        unreachable: str | None = None
        for raw, version in zip(ids, versions, strict=True):
            href = book.collection.member(raw)
            if unreachable is not None:
                results.append(_failed(raw, unreachable, retriable=True))
                continue
            if href is None:
                results.append(_failed(raw, self._not_member(book, raw)))
                continue
            etag = version or self._cache.etag(href)
            headers = {"If-Match": etag} if etag else {}
            try:
                self._requests.request(
                    partial(self._dav.delete, book.collection.url_of(href), headers)
                )
            except DavError as exc:
                if exc.status == 404:
                    pass  # already gone: deleted is what was asked
                elif exc.status == 412:
                    self._cache.forget(href)
                    results.append(_failed(href, CHANGED_ON_SERVER, retriable=True))
                    continue
                else:
                    error = self._requests.failure(exc, "delete")
                    results.append(_failed(href, error.message, retriable=error.retriable))
                    continue
            except Unreachable as exc:
                unreachable = exc.message
                results.append(_failed(href, unreachable, retriable=True))
                continue
            self._cache.forget(href)
            results.append(WriteResult(WriteOutcome.DELETED, external_id=href))
        return results

    def close(self) -> None:
        super().close()
        self._cache.clear()

    # -- changes: sync-collection --------------------------------------------------------

    def _uses_sync(self, book: _Book) -> bool:
        if not self._opts.use_sync_collection:
            return False
        if book.sync_supported is None:
            members = self._requests.call(
                book.collection.url, partial(self._dav.propfind_collection, book.collection.url)
            )
            # A server with RFC 6578 exposes the collection's DAV:sync-token property.
            book.sync_supported = any(m.sync_token for m in members)
            if not book.sync_supported:
                log.warning(
                    "carddav_no_sync_collection",
                    connector=self.name,
                    object=book.name,
                    detail="the server offers no sync token; changes are found by ETags",
                )
        return book.sync_supported

    def _sync_page(
        self, book: _Book, cursor: Cursor | None, limit: int, resume: bool
    ) -> ChangePage:
        token, after, next_token = _sync_cursor(cursor)
        listing = self._cache.listing(book.name, ("sync", token, next_token), resume)
        if listing is None:
            entries, new_token, token = self._sync_listing(book, token)
            if token is None and cursor is not None and cursor.get("sync_token") is not None:
                after, next_token = None, None  # the old token expired: a full listing
            next_token = next_token or new_token
            listing = Listing(("sync", token, next_token), entries)
        hrefs = sorted(h for h in listing.entries if after is None or h > after)
        records: list[ExternalRecord] = []
        position = 0
        while position < len(hrefs) and not records:
            chunk = hrefs[position : position + limit]
            position += len(chunk)
            records = self._records_for(book, chunk, listing.entries)
            after = chunk[-1]
        if position < len(hrefs):
            self._cache.keep_listing(book.name, listing)
            page_cursor: Cursor = {"sync_token": token, "after": after, "next_token": next_token}
            return ChangePage(records, page_cursor, True)
        self._cache.drop_listing(book.name)
        return ChangePage(records, {"sync_token": next_token}, False)

    def _sync_listing(
        self, book: _Book, token: str | None
    ) -> tuple[dict[str, str | None], str | None, str | None]:
        """Changed hrefs since ``token`` (tombstones included), the new token, the token used."""
        for attempt in (token, None) if token is not None else (None,):
            entries: dict[str, str | None] = {}
            try:
                members, reader = self._requests.call(
                    book.collection.url, partial(self._sync_members, book, attempt)
                )
            except TokenExpired:
                log.warning(
                    "carddav_sync_token_expired",
                    connector=self.name,
                    object=book.name,
                    detail="the server no longer knows the stored sync token; reading everything",
                )
                continue
            for member in members:
                href = self._member_href(book, member)
                if href is None:
                    continue
                entries[href] = GONE if member.status == 404 else member.etag
            if reader.sync_token is None:
                raise ConnectorError(
                    f"connector {self.name}: {book.collection.url} answered sync-collection "
                    "without a sync token; set use_sync_collection: false",
                )
            return entries, reader.sync_token, attempt
        raise AssertionError("unreachable")  # pragma: no cover

    def _sync_members(
        self, book: _Book, token: str | None
    ) -> tuple[list[Member], MultistatusReader]:
        """One whole sync-collection answer (a fresh reader for each try of the policy)."""
        reader = MultistatusReader()
        members = list(self._dav.sync_collection(book.collection.url, token, reader))
        return members, reader

    # -- changes: ETag comparison --------------------------------------------------------

    def _etag_page(
        self, book: _Book, cursor: Cursor | None, limit: int, resume: bool
    ) -> ChangePage:
        known: dict[str, str] = {}
        listing_id: str | None = None
        if cursor is not None and isinstance(cursor.get("etags"), dict):
            known = {str(k): str(v) for k, v in cursor["etags"].items()}
            listing_id = cursor.get("listing") if isinstance(cursor.get("listing"), str) else None
        listing = (
            self._cache.listing(book.name, ("etags", listing_id), resume) if listing_id else None
        )
        if listing is None:
            listing_id = uuid.uuid4().hex
            current: dict[str, str | None] = dict(self._list_etags(book))
            listing = Listing(("etags", listing_id), current)
        entries = listing.entries
        changed = [h for h, e in entries.items() if e is None or known.get(h) != e]
        gone = [h for h in known if h not in entries]
        diffs = sorted([*changed, *gone])
        work = {**entries, **dict.fromkeys(gone, GONE)}
        records: list[ExternalRecord] = []
        position = 0
        while position < len(diffs) and not records:
            chunk = diffs[position : position + limit]
            position += len(chunk)
            records = self._records_for(book, chunk, work)
            for href in chunk:
                if work.get(href) == GONE:
                    known.pop(href, None)
                else:
                    etag = self._cache.etag(href) or entries.get(href)
                    if etag:
                        known[href] = etag
        for record in records:
            if record.deleted:
                known.pop(record.id, None)
        if position < len(diffs):
            self._cache.keep_listing(book.name, listing)
            return ChangePage(records, {"etags": known, "listing": listing_id}, True)
        self._cache.drop_listing(book.name)
        return ChangePage(records, {"etags": known}, False)

    def _list_etags(self, book: _Book) -> dict[str, str | None]:
        def listing() -> dict[str, str | None]:
            found: dict[str, str | None] = {}
            for member in self._dav.propfind(book.collection.url):
                href = self._member_href(book, member)
                if href is not None and not member.is_collection and member.status != 404:
                    found[href] = member.etag
            return found

        return self._requests.call(book.collection.url, listing)

    # -- reading cards -------------------------------------------------------------------

    def _records_for(
        self, book: _Book, hrefs: Sequence[str], entries: Mapping[str, str | None]
    ) -> list[ExternalRecord]:
        gone = [h for h in hrefs if entries.get(h) == GONE]
        live = [h for h in hrefs if entries.get(h) != GONE]
        records = {r.id: r for r in self._multiget(book, live)}
        for href in gone:
            self._cache.forget(href)
            records[href] = ExternalRecord(href, {}, None, deleted=True)
        return [records[h] for h in hrefs if h in records]

    def _multiget(self, book: _Book, hrefs: Sequence[str]) -> list[ExternalRecord]:
        """Records for the hrefs (tombstones for 404s); broken cards are skipped with a warning."""
        records: list[ExternalRecord] = []
        for start in range(0, len(hrefs), MULTIGET_BATCH):
            batch = hrefs[start : start + MULTIGET_BATCH]
            members = self._requests.call(
                book.collection.url, partial(_all, self._dav.multiget, book.collection.url, batch)
            )
            asked = set(batch)
            for member in members:
                href = self._member_href(book, member)
                if href is None or href not in asked:
                    continue
                if member.status == 404:
                    self._cache.forget(href)
                    records.append(ExternalRecord(href, {}, None, deleted=True))
                    continue
                record = self._record(book, href, member)
                if record is not None:
                    records.append(record)
        return records

    def _record(self, book: _Book, href: str, member: Member) -> ExternalRecord | None:
        if member.oversized:
            self._skip(book, href, "the card is larger than 1 MiB; refused")
            return None
        if member.data is None:
            self._skip(book, href, "the server sent no card data")
            return None
        try:
            card = parse_card(member.data)
            fields = card_fields(card)
        except VCardError as exc:
            self._skip(book, href, str(exc))
            return None
        if member.etag:
            self._cache.remember(href, member.etag, member.data)
        return ExternalRecord(href, fields, card_updated_at(card), version=member.etag or None)

    def _skip(self, book: _Book, href: str, reason: str) -> None:
        log.warning(
            "carddav_card_skipped", connector=self.name, object=book.name, href=href, reason=reason
        )

    # -- writing -------------------------------------------------------------------------

    def _update(self, book: _Book, href: str, fields: Mapping[str, Any]) -> None:
        etag, text = self._current(book, href)
        card = self._parse_for_write(text)
        if "uid" in fields and fields["uid"] != card_fields(card)["uid"]:
            raise RequestError("a card's uid cannot change; leave uid out of updates")
        self._put(book, href, card, fields, {"If-Match": etag}, original=text)

    @staticmethod
    def _created_href(book: _Book, request: WriteRequest) -> str:
        """The href a create with this request's key PUTs to, whichever try made it."""
        return f"{book.collection.path}{uuid.uuid5(CREATE_NAMESPACE, request.key)}.vcf"

    def _create(self, book: _Book, request: WriteRequest) -> str:
        href = self._created_href(book, request)
        name = href[len(book.collection.path) : -len(".vcf")]
        card = new_card(str(request.fields.get("uid") or name))
        try:
            self._put(book, href, card, request.fields, {"If-None-Match": "*"})
        except _Exists:
            # Made by an earlier try whose answer was lost: finish it rather than make another.
            self._cache.forget(href)
            self._update(book, href, request.fields)
        return href

    def _put(
        self,
        book: _Book,
        href: str,
        card: Component,
        fields: Mapping[str, Any],
        headers: Mapping[str, str],
        *,
        original: str | None = None,
    ) -> None:
        """PUT ``card`` changed by ``fields``; an update keeps every line of ``original``
        that the change left alone byte for byte (``vcard.write_text``)."""
        try:
            text = write_text(card, fields, datetime.now(UTC), original=original)
        except VCardError as exc:
            raise RequestError(str(exc)) from None
        try:
            etag = self._requests.request(
                lambda: self._dav.put(book.collection.url_of(href), text, headers)
            )
        except DavError as exc:
            if exc.status == 412 and "If-None-Match" in headers:
                raise _Exists() from None
            if exc.status == 412:
                self._cache.forget(href)
                raise RequestError(CHANGED_ON_SERVER, retriable=True) from None
            raise self._requests.failure(exc, "write") from None
        if etag:
            self._cache.remember(href, etag, text)
        else:
            self._cache.forget(href)

    def _current(self, book: _Book, href: str) -> tuple[str, str]:
        """The ETag and text of the card as it was read, so If-Match guards that version."""
        cached, known_etag = self._cache.card(href)
        if cached is not None and cached[0] == known_etag:
            return cached
        try:
            text, etag = self._requests.request(lambda: self._dav.get(book.collection.url_of(href)))
        except DavError as exc:
            if exc.status == 404:
                raise RequestError(
                    f"no card at {href} any more (deleted on the server); it will be read again"
                ) from None
            raise self._requests.failure(exc, "read") from None
        if not etag:
            raise RequestError(
                f"the server sent no ETag for {href}; a safe (conditional) update is impossible"
            )
        if known_etag is not None and etag != known_etag:
            self._cache.forget(href)
            raise RequestError(CHANGED_ON_SERVER, retriable=True)
        return etag, text

    def _parse_for_write(self, text: str) -> Component:
        try:
            return parse_card(text)
        except VCardError as exc:
            raise RequestError(
                f"the card on the server cannot be read ({exc}); fix it there"
            ) from None

    def _matches(self, book: _Book, requests: Sequence[WriteRequest]) -> dict[int, str]:
        """Creates whose match value already has a card: one listing per match field."""
        by_field: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            if request.external_id is None and request.match is not None:
                if request.match[0] in FIELDS and request.match[1] not in (None, ""):
                    by_field.setdefault(request.match[0], []).append(index)
        found: dict[int, str] = {}
        for field_name, indexes in by_field.items():
            values = [requests[i].match[1] for i in indexes if requests[i].match is not None]  # type: ignore[index]
            hits = self.find_by(book.name, field_name, values)
            for i in indexes:
                match = requests[i].match
                if match is not None and match[1] in hits:
                    found[i] = hits[match[1]].id
        return found

    # -- caches --------------------------------------------------------------------------

    # -- errors --------------------------------------------------------------------------

    def _book(self, external_object: str) -> _Book:
        book = self._books.get(external_object)
        if book is None:
            raise ConnectorError(self._unknown(external_object), object=external_object)
        return book

    def _unknown(self, external_object: str) -> str:
        known = ", ".join(sorted(self._books))
        return (
            f"connector {self.name}: no address book {external_object!r} configured; "
            f"objects: {known}"
        )

    def _not_member(self, book: _Book, raw: str) -> str:
        return f"{raw!r} is not a card of address book {book.collection.url}"

    def _member_href(self, book: _Book, member: Member) -> str | None:
        href = book.collection.member(member.href)
        if href is None and book.collection.member(member.href + "x") is None:
            # Neither a card here nor the collection itself: a hostile or confused server.
            if _norm_dir(member.href) != book.collection.path:
                log.warning(
                    "carddav_foreign_href",
                    connector=self.name,
                    object=book.name,
                    href=member.href[:200],
                )
        return href


class _Exists(Exception):
    """A create found its name taken (If-None-Match failed)."""


def _sync_cursor(cursor: Cursor | None) -> tuple[str | None, str | None, str | None]:
    if cursor is None or "sync_token" not in cursor:
        return None, None, None  # no cursor, or one of the ETag mode: start over

    def text(key: str) -> str | None:
        value = cursor.get(key)
        return value if isinstance(value, str) and value else None

    return text("sync_token"), text("after"), text("next_token")


def _match_key(field_name: str, value: Any) -> Any:
    if isinstance(value, str) and field_name in ("email", "emails"):
        return value.strip().casefold()
    return value


def _all(produce: Callable[..., Iterator[Member]], *args: Any) -> list[Member]:
    return list(produce(*args))


def _norm_dir(href: str) -> str:
    path = normalize_path(urlsplit(href).path)
    return path if path.endswith("/") else path + "/"


def _failed(external_id: str | None, error: str, *, retriable: bool = False) -> WriteResult:
    return WriteResult(
        WriteOutcome.FAILED, external_id=external_id, error=error, retriable=retriable
    )
