"""The server's XML is hostile input: entities, oversize, garbage and foreign hrefs."""

from __future__ import annotations

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from connectors.base import ConnectorError
from connectors.carddav.dav import (
    MAX_TEXT,
    Collection,
    DavProtocolError,
    MultistatusReader,
    error_conditions,
)
from connectors.carddav.vcard import MAX_CARD_BYTES

from .conftest import make_connector

BOOK = "https://dav.example.test/u/book/"
CARD = "BEGIN:VCARD\nVERSION:3.0\nUID:{uid}\nFN:{name}\nN:;{name};;;\nEND:VCARD\n"


def _ms(*responses: str, token: str | None = None) -> bytes:
    sync = f"<d:sync-token>{token}</d:sync-token>" if token else ""
    body = "".join(responses)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">'
        f"{body}{sync}</d:multistatus>"
    ).encode()


def _card(href: str, data: str, etag: str = '"1"') -> str:
    return (
        f"<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:getetag>{etag}</d:getetag>"
        f"<c:address-data>{data}</c:address-data></d:prop>"
        "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )


def _read(body: bytes, chunk: int = 7) -> tuple[list[object], str | None]:
    reader = MultistatusReader()
    members: list[object] = []
    for start in range(0, len(body), chunk):
        members.extend(reader.feed(body[start : start + chunk]))
    members.extend(reader.close())
    return members, reader.sync_token


def test_members_are_read_across_chunk_boundaries() -> None:
    body = _ms(
        _card("/u/book/a.vcf", CARD.format(uid="a", name="A &amp; B")),
        "<d:response><d:href>/u/book/gone.vcf</d:href>"
        "<d:status>HTTP/1.1 404 Not Found</d:status></d:response>",
        token="tok-1",
    )
    members, token = _read(body, chunk=3)
    assert token == "tok-1"
    a, gone = members
    assert (a.href, a.etag, a.status) == ("/u/book/a.vcf", '"1"', 200)  # type: ignore[attr-defined]
    assert "FN:A & B" in (a.data or "")  # type: ignore[attr-defined]
    assert (gone.href, gone.status, gone.data) == ("/u/book/gone.vcf", 404, None)  # type: ignore[attr-defined]


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b'<d:multistatus xmlns:d="DAV:"><d:response><d:href>&lol2;</d:href></d:response></d:multistatus>'
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
    b'<d:multistatus xmlns:d="DAV:"><d:response><d:href>&ext;</d:href></d:response></d:multistatus>'
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BILLION_LAUGHS, "document type"),
        (EXTERNAL, "document type"),
        (
            b'<!DOCTYPE d:multistatus SYSTEM "http://evil.test/x.dtd"><d:multistatus xmlns:d="DAV:"/>',
            "document type",
        ),
        (b"<html><body>Login</body></html>", "where a multistatus belongs"),
        (b'<d:multistatus xmlns:d="DAV:"><d:response>', "not well-formed"),
        (
            b'<d:multistatus xmlns:d="DAV:"><d:response><d:href>&undefined;</d:href></d:response></d:multistatus>',
            "not well-formed",
        ),
        (b"", "not well-formed"),
        (b"\xff\xfe garbage", "not well-formed"),
        (_ms("<d:response><d:status>HTTP/1.1 200 OK</d:status></d:response>"), "without an href"),
        (_ms(f"<d:response><d:href>{'x' * (MAX_TEXT + 1)}</d:href></d:response>"), "oversized"),
    ],
)
def test_hostile_xml_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(DavProtocolError, match=message):
        _read(body, chunk=64)


def test_an_oversized_card_is_flagged_not_kept() -> None:
    body = _ms(_card("/u/book/big.vcf", "x" * (MAX_CARD_BYTES + 1)))
    (member,) = _read(body, chunk=65536)[0]
    assert member.oversized and member.data is None  # type: ignore[attr-defined]


def test_error_conditions() -> None:
    assert error_conditions(
        b'<?xml version="1.0"?><d:error xmlns:d="DAV:"><d:valid-sync-token/></d:error>'
    ) == {"valid-sync-token"}
    assert error_conditions(BILLION_LAUGHS) == frozenset()
    assert error_conditions(b"not xml") == frozenset()


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/u/book/a.vcf", "/u/book/a.vcf"),
        ("https://dav.example.test/u/book/a.vcf", "/u/book/a.vcf"),
        ("/u/book/a%40b.vcf", "/u/book/a@b.vcf"),
        ("/u/book/a b.vcf", "/u/book/a%20b.vcf"),
        ("https://evil.test/u/book/a.vcf", None),
        ("/u/book/", None),
        ("/u/book/sub/a.vcf", None),
        ("/u/book/../other/a.vcf", None),
        ("/u/book/%2e%2e", None),
        ("/u/book/a%2Fb.vcf", None),
        ("/u/other/a.vcf", None),
        ("/u/book/a.vcf?x=1", None),
    ],
)
def test_only_cards_of_the_collection_are_members(href: str, expected: str | None) -> None:
    assert Collection.of(BOOK).member(href) == expected


# ------------------------------------------------------------------ through the connector


@respx.mock
def test_a_malformed_card_is_skipped_and_the_others_still_sync() -> None:
    respx.route(method="PROPFIND", url=BOOK).mock(
        return_value=httpx.Response(
            207,
            content=_ms(
                "<d:response><d:href>/u/book/</d:href><d:propstat><d:prop><d:sync-token>t0"
                "</d:sync-token></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
                "</d:response>"
            ),
        )
    )
    listing = _ms(
        *(
            f"<d:response><d:href>/u/book/{n}.vcf</d:href><d:propstat><d:prop><d:getetag>"
            f'"{n}"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>'
            "</d:response>"
            for n in ("good", "bad", "evil")
        ),
        "<d:response><d:href>/etc/passwd</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>",
        token="t1",
    )
    cards = _ms(
        _card("/u/book/good.vcf", CARD.format(uid="g", name="Good")),
        _card("/u/book/bad.vcf", "BEGIN:VCARD\nthis is not a vcard\nEND:VCARD\n"),
        _card("https://evil.test/u/book/evil.vcf", CARD.format(uid="e", name="Evil")),
    )

    def report(request: httpx.Request) -> httpx.Response:
        body = request.content
        return httpx.Response(207, content=listing if b"sync-collection" in body else cards)

    respx.route(method="REPORT", url=BOOK).mock(side_effect=report)
    conn = make_connector(BOOK)
    try:
        with capture_logs() as logs:
            page = conn.fetch_changes("contacts", None, limit=100, resume=True)
    finally:
        conn.close()
    assert [(r.id, r.fields["fn"], r.deleted) for r in page.records] == [
        ("/u/book/good.vcf", "Good", False)
    ]
    assert page.cursor == {"sync_token": "t1"} and not page.has_more
    skipped = [e for e in logs if e["event"] == "carddav_card_skipped"]
    assert [e["href"] for e in skipped] == ["/u/book/bad.vcf"]
    assert any(e["event"] == "carddav_foreign_href" for e in logs)


@respx.mock
def test_a_hostile_answer_fails_the_call_with_a_clear_error() -> None:
    respx.route(method="PROPFIND", url=BOOK).mock(
        return_value=httpx.Response(207, content=BILLION_LAUGHS)
    )
    conn = make_connector(BOOK, use_sync_collection=False)
    try:
        with pytest.raises(ConnectorError, match="document type or entities; refused"):
            conn.fetch_changes("contacts", None, limit=100, resume=True)
    finally:
        conn.close()


@respx.mock
def test_server_errors_are_retriable_and_redirects_are_not_followed() -> None:
    route = respx.route(method="PROPFIND", url=BOOK)
    route.mock(return_value=httpx.Response(503))
    conn = make_connector(BOOK, use_sync_collection=False)
    try:
        with pytest.raises(ConnectorError) as info:
            conn.fetch_changes("contacts", None, limit=100, resume=True)
        assert info.value.retriable and "503" in str(info.value)
        route.mock(return_value=httpx.Response(301, headers={"Location": "https://evil.test/"}))
        with pytest.raises(ConnectorError, match="redirects") as info:
            conn.fetch_changes("contacts", None, limit=100, resume=True)
        assert not info.value.retriable
    finally:
        conn.close()


def test_options_refuse_credentials_in_the_url_and_hide_the_password() -> None:
    with pytest.raises(ValueError, match="must not carry credentials") as info:
        make_connector("https://ada:hunter2@dav.example.test/book/")
    assert "hunter2" not in str(info.value)
    conn = make_connector("https://dav.example.test/book")
    try:
        assert conn._books["contacts"].collection.url == "https://dav.example.test/book/"
        assert "s3cret" not in repr(conn.options) and "s3cret" not in str(conn.options)
    finally:
        conn.close()
