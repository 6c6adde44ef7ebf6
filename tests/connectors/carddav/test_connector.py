"""The CardDAV connector against a real Radicale server: reads, changes, writes, failures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from structlog.testing import capture_logs

from connectors.base import (
    ChangePage,
    ConnectorError,
    Cursor,
    ExternalRecord,
    WriteOutcome,
    WriteRequest,
)
from connectors.carddav import CardDavConnector
from connectors.carddav.connector import CHANGED_ON_SERVER, CREATE_NAMESPACE

from .conftest import PASSWORD, Radicale, make_connector, vcard

OBJ = "contacts"


def _drain(
    conn: CardDavConnector, cursor: Cursor | None, limit: int = 100
) -> tuple[list[ExternalRecord], Cursor | None, list[ChangePage]]:
    """One engine run: pages until has_more is false (the first page resumes)."""
    records: list[ExternalRecord] = []
    pages: list[ChangePage] = []
    resume = True
    while True:
        page = conn.fetch_changes(OBJ, cursor, limit=limit, resume=resume)
        resume = False
        pages.append(page)
        records.extend(page.records)
        cursor = page.cursor
        if not page.has_more or not page.records:
            return records, cursor, pages


def _seed(radicale: Radicale, book: str, count: int) -> list[str]:
    hrefs = []
    for i in range(count):
        url = f"{book}c{i}.vcf"
        radicale.put(url, vcard(f"c{i}", f"Given{i}", f"Family{i}", f"p{i}@x.io"))
        hrefs.append(httpx.URL(url).path)
    return hrefs


@pytest.fixture
def sync_connector(book: str) -> Iterator[CardDavConnector]:
    conn = make_connector(book)
    yield conn
    conn.close()


# ------------------------------------------------------------------ reading


def test_initial_listing_reads_every_card_with_its_mapped_fields(
    radicale: Radicale, book: str, connector: CardDavConnector
) -> None:
    radicale.put(
        f"{book}ada.vcf",
        vcard(
            "ada",
            "Ada",
            "Lovelace",
            "ada@x.io",
            "TEL;TYPE=CELL:+44 1\r\nORG:Analytical Engines;Research\r\nTITLE:Countess\r\n"
            "ADR;TYPE=HOME:;;12 St James's Sq;London;;SW1;UK\r\nREV:2024-03-01T10:00:00Z",
        ),
    )
    radicale.put(f"{book}bob.vcf", vcard("bob", "Bob"))

    records, cursor, _ = _drain(connector, None)

    by_id = {r.id: r for r in records}
    path = httpx.URL(book).path
    assert sorted(by_id) == [f"{path}ada.vcf", f"{path}bob.vcf"]
    ada = by_id[f"{path}ada.vcf"]
    assert {k: ada.fields[k] for k in ("uid", "fn", "given_name", "family_name", "email")} == {
        "uid": "ada",
        "fn": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@x.io",
    }
    assert (ada.fields["phone"], ada.fields["org"], ada.fields["title"]) == (
        "+44 1",
        "Analytical Engines",
        "Countess",
    )
    assert (ada.fields["city"], ada.fields["postal_code"], ada.fields["country"]) == (
        "London",
        "SW1",
        "UK",
    )
    assert ada.updated_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert by_id[f"{path}bob.vcf"].updated_at is None
    assert cursor is not None


def test_later_runs_read_only_what_changed_and_report_deletes(
    radicale: Radicale, book: str, connector: CardDavConnector
) -> None:
    hrefs = _seed(radicale, book, 3)
    _, cursor, _ = _drain(connector, None)

    nothing, cursor, _ = _drain(connector, cursor)
    assert nothing == []

    radicale.put(f"{book}c1.vcf", vcard("c1", "Changed", "Family1", "p1@x.io"))
    radicale.delete(f"{book}c2.vcf")
    radicale.put(f"{book}new.vcf", vcard("new", "New"))
    changed, cursor, _ = _drain(connector, cursor)

    by_id = {r.id: r for r in changed}
    path = httpx.URL(book).path
    assert sorted(by_id) == sorted([hrefs[1], hrefs[2], f"{path}new.vcf"])
    assert by_id[hrefs[1]].fields["given_name"] == "Changed"
    assert by_id[hrefs[2]].deleted and not by_id[hrefs[1]].deleted
    assert _drain(connector, cursor)[0] == []


def test_pages_honour_the_limit_and_lose_nothing_edited_between_pages(
    radicale: Radicale, book: str, connector: CardDavConnector
) -> None:
    hrefs = _seed(radicale, book, 5)
    first = connector.fetch_changes(OBJ, None, limit=2, resume=True)
    assert len(first.records) == 2 and first.has_more
    # Someone edits an already-read card while the run is still paging.
    radicale.put(f"{book}c0.vcf", vcard("c0", "EditedMidRun", "Family0"))
    rest, cursor, pages = _drain_from(connector, first.cursor, limit=2)

    seen = [r.id for r in first.records] + [r.id for r in rest]
    assert sorted(seen) == hrefs and len(seen) == len(set(seen))
    assert all(len(p.records) <= 2 for p in pages)
    again, _, _ = _drain(connector, cursor)
    assert [(r.id, r.fields["given_name"]) for r in again] == [(hrefs[0], "EditedMidRun")]


def _drain_from(
    conn: CardDavConnector, cursor: Cursor | None, limit: int
) -> tuple[list[ExternalRecord], Cursor | None, list[ChangePage]]:
    records: list[ExternalRecord] = []
    pages: list[ChangePage] = []
    while True:
        page = conn.fetch_changes(OBJ, cursor, limit=limit, resume=False)
        pages.append(page)
        records.extend(page.records)
        cursor = page.cursor
        if not page.has_more:
            return records, cursor, pages


def test_an_interrupted_run_resumes_from_its_last_page(
    radicale: Radicale, book: str, connector: CardDavConnector
) -> None:
    hrefs = _seed(radicale, book, 4)
    first = connector.fetch_changes(OBJ, None, limit=2, resume=True)
    # A new process (no in-memory listing) resumes from the stored cursor.
    fresh = make_connector(book, use_sync_collection=connector._opts.use_sync_collection)
    try:
        rest, _, _ = _drain(fresh, first.cursor, limit=2)
    finally:
        fresh.close()
    assert sorted([r.id for r in first.records] + [r.id for r in rest]) == hrefs


def test_expired_sync_token_falls_back_to_a_full_listing(
    radicale: Radicale, book: str, sync_connector: CardDavConnector
) -> None:
    hrefs = _seed(radicale, book, 2)
    stale: Cursor = {"sync_token": "http://radicale.org/ns/sync/0000deadbeef"}
    with capture_logs() as logs:
        records, cursor, _ = _drain(sync_connector, stale)
    assert sorted(r.id for r in records) == hrefs
    assert any(e["event"] == "carddav_sync_token_expired" for e in logs)
    assert cursor is not None and cursor["sync_token"] != stale["sync_token"]
    assert _drain(sync_connector, cursor)[0] == []


def test_etag_mode_keeps_etags_in_the_cursor(radicale: Radicale, book: str) -> None:
    hrefs = _seed(radicale, book, 2)
    conn = make_connector(book, use_sync_collection=False)
    try:
        _, cursor, _ = _drain(conn, None)
        assert cursor is not None and set(cursor) == {"etags"}
        assert sorted(cursor["etags"]) == hrefs
    finally:
        conn.close()


def test_a_broken_card_in_the_book_does_not_stop_the_others(
    radicale: Radicale, book: str, connector: CardDavConnector
) -> None:
    _seed(radicale, book, 2)
    folder = radicale.storage / "collection-root" / httpx.URL(book).path.strip("/")
    (folder / "broken.vcf").write_text("BEGIN:VCARD\r\nVERSION:3.0\r\ngarbage\r\nEND:VCARD\r\n")
    records, _, _ = _drain(connector, None)
    assert sorted(r.fields["uid"] for r in records) == ["c0", "c1"]


def test_an_oversized_card_is_skipped_with_a_warning(
    radicale: Radicale, book: str, connector: CardDavConnector
) -> None:
    _seed(radicale, book, 1)
    big = vcard("big", "Big", extra="NOTE:" + "x" * (1024 * 1024 + 10))
    radicale.put(f"{book}big.vcf", big)
    with capture_logs() as logs:
        records, _, _ = _drain(connector, None)
    assert [r.fields["uid"] for r in records] == ["c0"]
    skipped = [e for e in logs if e["event"] == "carddav_card_skipped"]
    assert skipped and skipped[0]["href"].endswith("big.vcf") and "1 MiB" in skipped[0]["reason"]


def test_fetch_by_ids_returns_existing_cards_of_this_book_only(
    radicale: Radicale, book: str, sync_connector: CardDavConnector
) -> None:
    hrefs = _seed(radicale, book, 2)
    other = radicale.new_book()
    radicale.put(f"{other}x.vcf", vcard("x", "Other"))
    path = httpx.URL(book).path
    asked = [
        hrefs[1],
        f"{path}missing.vcf",
        httpx.URL(other).path + "x.vcf",
        f"{path}../{httpx.URL(other).path.strip('/').split('/')[-1]}/x.vcf",
        path,
        hrefs[0],
    ]
    found = sync_connector.fetch_by_ids(OBJ, asked)
    assert [r.id for r in found] == [hrefs[1], hrefs[0]]


def test_find_by_and_iter_ids(
    radicale: Radicale, book: str, sync_connector: CardDavConnector
) -> None:
    hrefs = _seed(radicale, book, 3)
    found = sync_connector.find_by(OBJ, "email", ["P1@X.io", "nobody@x.io", None])
    assert list(found) == ["P1@X.io"] and found["P1@X.io"].id == hrefs[1]
    by_name = sync_connector.find_by(OBJ, "given_name", ["Given2"])
    assert by_name["Given2"].id == hrefs[2]
    assert list(sync_connector.iter_ids(OBJ)) == hrefs
    with pytest.raises(ConnectorError, match="no field 'mail'"):
        sync_connector.find_by(OBJ, "mail", ["x"])


# ------------------------------------------------------------------ writing


def test_update_changes_only_mapped_properties(
    radicale: Radicale, book: str, sync_connector: CardDavConnector
) -> None:
    extra = (
        "X-CUSTOM-FIELD;X-PARAM=1:keep me\r\n"
        "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ==\r\n"
        "ADR;TYPE=WORK:;;1 Work St;Paris;;75001;FR\r\n"
        "ADR;TYPE=HOME:;;2 Home St;Lyon;;69001;FR\r\n"
        "EMAIL;TYPE=WORK:ada@work.io\r\n"
        "CATEGORIES:vip,friends"
    )
    radicale.put(f"{book}ada.vcf", vcard("ada", "Ada", "Lovelace", "ada@x.io", extra))
    href = httpx.URL(f"{book}ada.vcf").path
    sync_connector.fetch_by_ids(OBJ, [href])

    (result,) = sync_connector.write(
        OBJ,
        [
            WriteRequest(
                "k", href, {"given_name": "Augusta", "email": "augusta@x.io", "title": "Countess"}
            )
        ],
    )

    assert result.outcome is WriteOutcome.UPDATED and result.external_id == href
    assert result.record is not None and result.record.fields["given_name"] == "Augusta"
    text, _ = radicale.get(f"{book}ada.vcf")
    assert "X-CUSTOM-FIELD;X-PARAM=1:keep me" in text
    assert "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ==" in text
    assert "2 Home St" in text and "1 Work St" in text
    assert "CATEGORIES:vip,friends" in text
    assert "ada@work.io" in text and "augusta@x.io" in text and "ada@x.io\r" not in text
    assert "FN:Augusta Lovelace" in text  # FN followed the name it was made from
    assert "TITLE:Countess" in text and "REV:" in text


def test_concurrent_edit_fails_retriably_and_keeps_the_server_copy(
    radicale: Radicale, book: str, sync_connector: CardDavConnector
) -> None:
    radicale.put(f"{book}ada.vcf", vcard("ada", "Ada", "Lovelace"))
    href = httpx.URL(f"{book}ada.vcf").path
    sync_connector.fetch_by_ids(OBJ, [href])
    phone_copy = vcard("ada", "FromPhone", "Lovelace")
    radicale.put(f"{book}ada.vcf", phone_copy)

    results = sync_connector.write(
        OBJ,
        [
            WriteRequest("k1", href, {"given_name": "FromCRM"}),
            WriteRequest("k2", None, {"given_name": "Other"}),
        ],
    )

    assert results[0].outcome is WriteOutcome.FAILED
    assert results[0].error == CHANGED_ON_SERVER and results[0].retriable
    assert results[1].outcome is WriteOutcome.CREATED  # one failure never fails the others
    text, _ = radicale.get(f"{book}ada.vcf")
    assert "N:Lovelace;FromPhone;;;" in text and "FromCRM" not in text
    # Read again, the retry goes through.
    assert sync_connector.fetch_by_ids(OBJ, [href])[0].fields["given_name"] == "FromPhone"
    (retry,) = sync_connector.write(OBJ, [WriteRequest("k1", href, {"given_name": "FromCRM"})])
    assert retry.outcome is WriteOutcome.UPDATED


def test_update_without_a_cached_copy_still_guards_against_overwrites(
    radicale: Radicale, book: str
) -> None:
    radicale.put(f"{book}ada.vcf", vcard("ada", "Ada", "Lovelace", extra="X-KEEP:1"))
    href = httpx.URL(f"{book}ada.vcf").path
    conn = make_connector(book)  # a fresh process: it has read nothing yet
    try:
        (result,) = conn.write(OBJ, [WriteRequest("k", href, {"family_name": "Byron"})])
    finally:
        conn.close()
    assert result.outcome is WriteOutcome.UPDATED
    text, _ = radicale.get(f"{book}ada.vcf")
    assert "N:Byron;Ada;;;" in text and "X-KEEP:1" in text


def test_create_is_idempotent_across_a_lost_response(
    radicale: Radicale, book: str, sync_connector: CardDavConnector
) -> None:
    request = WriteRequest(
        "sync:42", None, {"given_name": "Grace", "family_name": "Hopper", "email": "g@x.io"}
    )
    (first,) = sync_connector.write(OBJ, [request])
    name = uuid.uuid5(CREATE_NAMESPACE, "sync:42")
    assert first.outcome is WriteOutcome.CREATED
    assert first.external_id == f"{httpx.URL(book).path}{name}.vcf"
    assert first.record is not None and first.record.fields["uid"] == str(name)

    # The answer was lost; the engine sends the same create again, with a newer value.
    retry = WriteRequest("sync:42", None, {"given_name": "Grace", "title": "Rear Admiral"})
    fresh = make_connector(book)
    try:
        (second,) = fresh.write(OBJ, [retry])
    finally:
        fresh.close()

    assert second.outcome is WriteOutcome.CREATED and second.external_id == first.external_id
    assert radicale.hrefs(book) == [first.external_id]
    assert second.record is not None
    assert second.record.fields["title"] == "Rear Admiral"
    assert second.record.fields["email"] == "g@x.io"


def test_match_before_create_links_an_existing_card(radicale: Radicale, book: str) -> None:
    radicale.put(f"{book}ada.vcf", vcard("ada", "Ada", "", "ada@x.io"))
    conn = make_connector(book, match_before_create=True)
    try:
        (result,) = conn.write(
            OBJ,
            [WriteRequest("s:1", None, {"family_name": "Lovelace"}, match=("email", "ADA@x.io"))],
        )
    finally:
        conn.close()
    assert result.outcome is WriteOutcome.CREATED
    assert result.external_id == httpx.URL(f"{book}ada.vcf").path
    assert len(radicale.hrefs(book)) == 1


def test_a_bad_field_fails_only_its_request(
    radicale: Radicale, book: str, sync_connector: CardDavConnector
) -> None:
    results = sync_connector.write(
        OBJ,
        [
            WriteRequest("a", None, {"nickname": "x"}),
            WriteRequest("b", None, {"emails": {"not": "a list"}}),
            WriteRequest("c", "/elsewhere/x.vcf", {"fn": "x"}),
            WriteRequest("d", None, {"fn": "Fine"}),
        ],
    )
    assert [r.outcome for r in results] == [WriteOutcome.FAILED] * 3 + [WriteOutcome.CREATED]
    assert "unknown field(s) 'nickname'" in (results[0].error or "")
    assert not any(r.retriable for r in results[:3])
    assert "not a card of address book" in (results[2].error or "")
    assert len(radicale.hrefs(book)) == 1


def test_delete_is_conditional_and_idempotent(
    radicale: Radicale, book: str, sync_connector: CardDavConnector
) -> None:
    hrefs = _seed(radicale, book, 2)
    sync_connector.fetch_by_ids(OBJ, hrefs)
    radicale.put(f"{book}c1.vcf", vcard("c1", "EditedOnPhone"))

    results = sync_connector.delete(OBJ, [hrefs[0], hrefs[1], hrefs[0]])

    assert [r.outcome for r in results] == [
        WriteOutcome.DELETED,
        WriteOutcome.FAILED,
        WriteOutcome.DELETED,  # already gone counts as deleted
    ]
    assert results[1].retriable and results[1].error == CHANGED_ON_SERVER
    assert radicale.status(f"{book}c0.vcf") == 404
    assert radicale.status(f"{book}c1.vcf") == 200


def test_delete_versions_guards_with_the_etag_it_is_given_even_with_nothing_cached(
    radicale: Radicale, book: str
) -> None:
    """After a restart nothing is cached: the ETag stored with the link guards the delete."""
    hrefs = _seed(radicale, book, 2)
    read = make_connector(book)
    try:
        versions = {r.id: r.version for r in read.fetch_by_ids(OBJ, hrefs)}
    finally:
        read.close()
    assert all(versions.values())
    radicale.put(f"{book}c1.vcf", vcard("c1", "EditedOnPhone"))  # another client, since
    fresh = make_connector(book)
    try:
        results = fresh.delete_versions(OBJ, hrefs, [versions[h] for h in hrefs])
    finally:
        fresh.close()

    assert [r.outcome for r in results] == [WriteOutcome.DELETED, WriteOutcome.FAILED]
    assert results[1].retriable and results[1].error == CHANGED_ON_SERVER
    assert radicale.status(f"{book}c0.vcf") == 404
    assert radicale.status(f"{book}c1.vcf") == 200


# ------------------------------------------------------------------ failures of the whole call


def test_a_wrong_password_is_a_clear_error_without_the_password(
    radicale: Radicale, book: str
) -> None:
    conn = make_connector(book, password="wrong-" + PASSWORD)
    try:
        with pytest.raises(ConnectorError) as info:
            conn.fetch_changes(OBJ, None, limit=10, resume=True)
    finally:
        conn.close()
    assert "refused the username or password (401)" in str(info.value)
    assert not info.value.retriable
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(conn.options)


def test_an_unreachable_server_is_retriable(book: str) -> None:
    conn = make_connector("http://127.0.0.1:9/dav/contacts/", timeout_seconds=2)
    try:
        with pytest.raises(ConnectorError) as info:
            conn.fetch_changes(OBJ, None, limit=10, resume=True)
        results = conn.write(
            OBJ, [WriteRequest("a", None, {"fn": "x"}), WriteRequest("b", None, {"fn": "y"})]
        )
    finally:
        conn.close()
    assert info.value.retriable and "cannot be reached" in str(info.value)
    assert all(r.outcome is WriteOutcome.FAILED and r.retriable for r in results)


def test_check_object(radicale: Radicale, book: str, sync_connector: CardDavConnector) -> None:
    assert sync_connector.check_object(OBJ) is None
    assert "no address book 'leads'" in (sync_connector.check_object("leads") or "")
    home = make_connector(f"{radicale.base}/ada/")
    try:
        assert "is not an address book" in (home.check_object(OBJ) or "")
    finally:
        home.close()
