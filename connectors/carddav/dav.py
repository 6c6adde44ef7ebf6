"""WebDAV/CardDAV over httpx: request bodies, and a streaming, DTD-refusing XML reader.

The server is another party: its answers are read as hostile input. XML is parsed with
pyexpat directly so that a document type declaration (and with it every entity definition,
the "billion laughs" and external entities) is refused before anything is expanded, and
answers are read as a stream so a listing of a hundred thousand cards never sits in memory as
one document. Element text is capped (a card at :data:`MAX_CARD_BYTES`, everything else at
a few KiB) and a whole answer at :data:`MAX_RESPONSE_BYTES`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from xml.parsers import expat
from xml.sax.saxutils import escape

import httpx

from connectors.carddav.vcard import MAX_CARD_BYTES

__all__ = [
    "MAX_RESPONSE_BYTES",
    "DavClient",
    "DavError",
    "DavProtocolError",
    "Member",
    "MultistatusReader",
    "error_conditions",
]

DAV = "DAV:"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
#: One answer (a listing or a multiget batch) larger than this is refused.
MAX_RESPONSE_BYTES = 256 * 1024 * 1024
#: Text of any element other than a card's (an href, an ETag, a status, a token).
MAX_TEXT = 8 * 1024
#: Bytes of an error answer worth reading.
MAX_ERROR_BODY = 64 * 1024

_HREF_SAFE = "/:@!$&'()*+,;=-._~"
_STATUS = re.compile(r"^HTTP/\d(?:\.\d)?\s+(\d{3})")


class DavProtocolError(Exception):
    """The server's answer is not the WebDAV it should be (or is hostile)."""


class DavError(Exception):
    """The server answered a request with an error status."""

    def __init__(
        self,
        status: int,
        conditions: frozenset[str],
        detail: str,
        *,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(f"{status} {detail}".strip())
        self.status = status
        self.conditions = conditions
        self.detail = detail
        #: The raw ``Retry-After`` header of a 429 or 503, for the retry policy.
        self.retry_after = retry_after


@dataclass
class Member:
    """One ``<response>`` of a multistatus: a card's href with its ETag and maybe its data."""

    href: str
    status: int | None = None
    etag: str | None = None
    data: str | None = None
    oversized: bool = False
    is_collection: bool = False
    is_addressbook: bool = False
    #: The collection's DAV:sync-token property (RFC 6578), when asked for and offered.
    sync_token: str | None = None


# -- XML ---------------------------------------------------------------------------------


def _refuse(*_args: Any) -> None:
    raise DavProtocolError("the server's XML declares a document type or entities; refused")


def _refuse_external(*_args: Any) -> int:
    raise DavProtocolError("the server's XML refers to an external entity; refused")


def _parser() -> Any:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    return parser


def _tag(name: str) -> str:
    ns, _, local = name.rpartition(" ")
    return f"{{{ns}}}{local}" if ns else local


_TEXT_TAGS = {
    f"{{{DAV}}}href": MAX_TEXT,
    f"{{{DAV}}}status": MAX_TEXT,
    f"{{{DAV}}}getetag": MAX_TEXT,
    f"{{{DAV}}}sync-token": MAX_TEXT,
    f"{{{CARDDAV}}}address-data": MAX_CARD_BYTES,
}


class MultistatusReader:
    """Feeds a ``207 Multi-Status`` body in chunks and hands out each complete member."""

    def __init__(self) -> None:
        self._parser = _parser()
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._chars
        self._stack: list[str] = []
        self._text: list[str] | None = None
        self._text_len = 0
        self._text_over = False
        self._member: Member | None = None
        self._propstat_status: int | None = None
        self._propstat_props: dict[str, Any] = {}
        self._ready: list[Member] = []
        self._root_seen = False
        self.sync_token: str | None = None

    def feed(self, chunk: bytes) -> list[Member]:
        try:
            self._parser.Parse(chunk, False)
        except expat.ExpatError as exc:
            raise DavProtocolError(f"the server's answer is not well-formed XML ({exc})") from None
        ready, self._ready = self._ready, []
        return ready

    def close(self) -> list[Member]:
        try:
            self._parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise DavProtocolError(f"the server's answer is not well-formed XML ({exc})") from None
        if not self._root_seen:
            raise DavProtocolError("the server's answer is not a WebDAV multistatus")
        ready, self._ready = self._ready, []
        return ready

    def _start(self, name: str, _attrs: Mapping[str, str]) -> None:
        tag = _tag(name)
        if not self._stack and tag != f"{{{DAV}}}multistatus":
            raise DavProtocolError(f"the server answered {tag} where a multistatus belongs")
        self._root_seen = True
        parent = self._stack[-1] if self._stack else None
        self._stack.append(tag)
        if tag == f"{{{DAV}}}response" and parent == f"{{{DAV}}}multistatus":
            self._member = Member(href="")
        elif tag == f"{{{DAV}}}propstat" and self._member is not None:
            self._propstat_status, self._propstat_props = None, {}
        elif (
            tag == f"{{{DAV}}}collection"
            and self._member is not None
            and parent == f"{{{DAV}}}resourcetype"
        ):
            self._propstat_props["collection"] = True
        elif (
            tag == f"{{{CARDDAV}}}addressbook"
            and self._member is not None
            and parent == f"{{{DAV}}}resourcetype"
        ):
            self._propstat_props["addressbook"] = True
        if tag in _TEXT_TAGS:
            self._text, self._text_len, self._text_over = [], 0, False

    def _chars(self, data: str) -> None:
        if self._text is None or self._text_over:
            return
        self._text_len += len(data)
        if self._text_len > _TEXT_TAGS.get(self._stack[-1], MAX_TEXT):
            self._text_over = True
            self._text = []
            return
        self._text.append(data)

    def _end(self, name: str) -> None:
        tag = self._stack.pop()
        parent = self._stack[-1] if self._stack else None
        text: str | None = None
        over = False
        if tag in _TEXT_TAGS and self._text is not None:
            text, over = "".join(self._text), self._text_over
            self._text = None
        member = self._member
        if over and tag != f"{{{CARDDAV}}}address-data":
            raise DavProtocolError(f"the server's answer has an oversized {tag} element")
        if tag == f"{{{DAV}}}sync-token" and parent == f"{{{DAV}}}multistatus":
            self.sync_token = (text or "").strip() or None
        elif member is None:
            return
        elif tag == f"{{{DAV}}}sync-token" and parent == f"{{{DAV}}}prop":
            self._propstat_props["sync_token"] = (text or "").strip() or None
        elif tag == f"{{{DAV}}}href" and parent == f"{{{DAV}}}response":
            if not member.href:
                member.href = (text or "").strip()
        elif tag == f"{{{DAV}}}status" and parent == f"{{{DAV}}}response":
            member.status = _status(text)
        elif tag == f"{{{DAV}}}status" and parent == f"{{{DAV}}}propstat":
            self._propstat_status = _status(text)
        elif tag == f"{{{DAV}}}getetag":
            self._propstat_props["etag"] = (text or "").strip() or None
        elif tag == f"{{{CARDDAV}}}address-data":
            self._propstat_props["data"] = None if over else text
            self._propstat_props["oversized"] = over
        elif tag == f"{{{DAV}}}propstat":
            if self._propstat_status is not None and 200 <= self._propstat_status < 300:
                props = self._propstat_props
                member.etag = props.get("etag", member.etag)
                member.data = props.get("data", member.data)
                member.oversized = member.oversized or bool(props.get("oversized"))
                member.is_collection = member.is_collection or bool(props.get("collection"))
                member.is_addressbook = member.is_addressbook or bool(props.get("addressbook"))
                member.sync_token = props.get("sync_token", member.sync_token)
                if member.status is None:
                    member.status = self._propstat_status
            self._propstat_props = {}
        elif tag == f"{{{DAV}}}response":
            if not member.href:
                raise DavProtocolError("the server's answer has a response without an href")
            self._ready.append(member)
            self._member = None


def _status(text: str | None) -> int | None:
    match = _STATUS.match((text or "").strip())
    return int(match.group(1)) if match else None


def error_conditions(body: bytes) -> frozenset[str]:
    """The precondition elements of a WebDAV ``<error>`` body (e.g. ``valid-sync-token``)."""
    found: set[str] = set()
    depth = [0]

    def start(name: str, _attrs: Mapping[str, str]) -> None:
        depth[0] += 1
        if depth[0] == 2:
            found.add(_tag(name).rpartition("}")[2])

    def end(_name: str) -> None:
        depth[0] -= 1

    parser = _parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(body, True)
    except (expat.ExpatError, DavProtocolError):
        return frozenset()
    return frozenset(found)


# -- request bodies ----------------------------------------------------------------------

_PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>'
)
_PROPFIND_COLLECTION = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:sync-token/></d:prop></d:propfind>'
)


def _sync_body(token: str | None) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<d:sync-collection xmlns:d="DAV:">'
        f"<d:sync-token>{escape(token or '')}</d:sync-token>"
        "<d:sync-level>1</d:sync-level>"
        "<d:prop><d:getetag/></d:prop>"
        "</d:sync-collection>"
    )


def _multiget_body(hrefs: Sequence[str]) -> str:
    refs = "".join(f"<d:href>{escape(h)}</d:href>" for h in hrefs)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<c:addressbook-multiget xmlns:d="DAV:" xmlns:c="{CARDDAV}">'
        f"<d:prop><d:getetag/><c:address-data/></d:prop>{refs}"
        "</c:addressbook-multiget>"
    )


# -- hrefs -------------------------------------------------------------------------------


def normalize_path(path: str) -> str:
    """One spelling per path: servers differ in what they percent-encode (``@``, spaces)."""
    return quote(unquote(path), safe=_HREF_SAFE)


# -- client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    """One address book: where it is, so hrefs can be checked to belong to it."""

    url: str
    origin: str
    path: str

    @classmethod
    def of(cls, url: str) -> Collection:
        parts = urlsplit(url)
        return cls(url, f"{parts.scheme}://{parts.netloc}", normalize_path(parts.path))

    def member(self, href: str) -> str | None:
        """The normalized path of a card href in this collection, or None if it is not one.

        Anything else (another collection, ``..``, the collection itself, another host) is
        not ours to read or write, whatever the server or a stored id says.
        """
        parts = urlsplit(href.strip())
        if parts.scheme or parts.netloc:
            if f"{parts.scheme}://{parts.netloc}".lower() != self.origin.lower():
                return None
        if parts.query or parts.fragment:
            return None
        path = normalize_path(parts.path)
        if not path.startswith(self.path):
            return None
        name = unquote(path[len(self.path) :])
        if not name or "/" in name or name in (".", ".."):
            return None
        return path

    def url_of(self, path: str) -> str:
        return self.origin + path


class DavClient:
    """The HTTP requests the connector makes, with answers read as streams under caps."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def multistatus(
        self,
        method: str,
        url: str,
        body: str,
        *,
        depth: str,
        reader: MultistatusReader | None = None,
    ) -> Iterator[Member]:
        """Each member of the 207 answer, as it arrives; DavError for any other status."""
        reader = reader or MultistatusReader()
        headers = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
        with self._client.stream(method, url, content=body.encode(), headers=headers) as resp:
            if resp.status_code != 207:
                raise _dav_error(resp)
            total = 0
            for chunk in resp.iter_bytes():
                total += len(chunk)
                if total > MAX_RESPONSE_BYTES:
                    raise DavProtocolError(
                        f"the server's answer is larger than {MAX_RESPONSE_BYTES // 2**20} MiB"
                    )
                yield from reader.feed(chunk)
            yield from reader.close()

    def propfind(self, url: str) -> Iterator[Member]:
        return self.multistatus("PROPFIND", url, _PROPFIND, depth="1")

    def propfind_collection(self, url: str) -> list[Member]:
        return list(self.multistatus("PROPFIND", url, _PROPFIND_COLLECTION, depth="0"))

    def sync_collection(
        self, url: str, token: str | None, reader: MultistatusReader
    ) -> Iterator[Member]:
        return self.multistatus("REPORT", url, _sync_body(token), depth="1", reader=reader)

    def multiget(self, url: str, hrefs: Sequence[str]) -> Iterator[Member]:
        return self.multistatus("REPORT", url, _multiget_body(hrefs), depth="1")

    def get(self, url: str) -> tuple[str, str | None]:
        """The card's text and ETag."""
        with self._client.stream("GET", url, headers={"Accept": "text/vcard"}) as resp:
            if resp.status_code != 200:
                raise _dav_error(resp)
            data = bytearray()
            for chunk in resp.iter_bytes():
                data += chunk
                if len(data) > MAX_CARD_BYTES:
                    raise DavProtocolError(
                        f"the card is larger than {MAX_CARD_BYTES // 1024} KiB; refused"
                    )
            try:
                text = data.decode(resp.encoding or "utf-8")
            except (UnicodeDecodeError, LookupError):
                raise DavProtocolError("the card is not valid UTF-8") from None
            return text, resp.headers.get("ETag")

    def put(self, url: str, card: str, headers: Mapping[str, str]) -> str | None:
        """The new ETag when the server says it (not all do)."""
        sent = {"Content-Type": "text/vcard; charset=utf-8", **headers}
        resp = self._client.request("PUT", url, content=card.encode(), headers=sent)
        if resp.status_code not in (200, 201, 204):
            raise _dav_error(resp)
        etag = resp.headers.get("ETag")
        return str(etag) if etag else None

    def delete(self, url: str, headers: Mapping[str, str]) -> None:
        resp = self._client.request("DELETE", url, headers=dict(headers))
        if resp.status_code not in (200, 202, 204):
            raise _dav_error(resp)


def _dav_error(resp: httpx.Response) -> DavError:
    body = bytearray()
    try:
        for chunk in resp.iter_bytes():
            body += chunk
            if len(body) > MAX_ERROR_BODY:
                break
    except httpx.StreamConsumed:
        body = bytearray(resp.content[:MAX_ERROR_BODY])
    conditions = error_conditions(bytes(body)) if body.lstrip().startswith(b"<") else frozenset()
    detail = resp.reason_phrase or ""
    if conditions:
        detail = f"{detail} ({', '.join(sorted(conditions))})"
    return DavError(
        resp.status_code, conditions, detail, retry_after=resp.headers.get("Retry-After")
    )
