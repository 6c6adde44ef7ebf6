"""A real Radicale CardDAV server for the connector tests, one per session.

Each test gets its own fresh address book (an extended MKCOL), so tests share the server
but never each other's cards. ``Radicale`` also plays "another client" (a phone editing a
contact) through plain HTTP, to make the concurrent edits the connector must survive.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from connectors.carddav import CardDavConnector, CardDavOptions

USER = "ada"
PASSWORD = "s3cret-pw"

_MKCOL = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop>'
    "<d:resourcetype><d:collection/><c:addressbook/></d:resourcetype>"
    "</d:prop></d:set></d:mkcol>"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Radicale:
    base: str
    storage: Path
    client: httpx.Client

    def new_book(self) -> str:
        url = f"{self.base}/{USER}/book-{uuid.uuid4().hex[:10]}/"
        resp = self.client.request(
            "MKCOL", url, content=_MKCOL, headers={"Content-Type": "application/xml"}
        )
        assert resp.status_code == 201, resp.text
        return url

    def put(self, url: str, card: str, etag: str | None = None) -> str:
        headers = {"Content-Type": "text/vcard"}
        if etag:
            headers["If-Match"] = etag
        resp = self.client.put(url, content=card.encode(), headers=headers)
        assert resp.status_code in (201, 204), resp.text
        return resp.headers["ETag"]

    def get(self, url: str) -> tuple[str, str]:
        resp = self.client.get(url)
        assert resp.status_code == 200, resp.status_code
        return resp.text, resp.headers["ETag"]

    def status(self, url: str) -> int:
        return self.client.get(url).status_code

    def delete(self, url: str) -> None:
        assert self.client.delete(url).status_code in (200, 204)

    def hrefs(self, book: str) -> list[str]:
        body = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
        resp = self.client.request("PROPFIND", book, content=body, headers={"Depth": "1"})
        assert resp.status_code == 207
        import re

        path = httpx.URL(book).path
        return sorted(h for h in re.findall(r"<href>([^<]+)</href>", resp.text) if h != path)


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    root = tmp_path_factory.mktemp("radicale")
    htpasswd = root / "users"
    htpasswd.write_text(f"{USER}:{PASSWORD}\n")
    port = _free_port()
    log = (root / "radicale.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--config",
            "",
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(htpasswd),
            "--auth-htpasswd-encryption",
            "plain",
            "--auth-delay",
            "0",
            "--rights-type",
            "owner_only",
            "--storage-filesystem-folder",
            str(root / "collections"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(auth=(USER, PASSWORD), timeout=10)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.get(base + "/")
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "Radicale did not start: " + (root / "radicale.log").read_text()
                    ) from None
                time.sleep(0.05)
        yield Radicale(base, root / "collections", client)
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def book(radicale: Radicale) -> str:
    return radicale.new_book()


def make_connector(url: str, **extra: object) -> CardDavConnector:
    options = CardDavOptions.model_validate(
        {
            "url": url,
            "username": USER,
            "password": PASSWORD,
            "objects": {"contacts": {}},
            "timeout_seconds": 10,
            **extra,
        }
    )
    return CardDavConnector("phonebook", options)


@pytest.fixture(params=["sync-collection", "etags"])
def connector(request: pytest.FixtureRequest, book: str) -> Iterator[CardDavConnector]:
    """The connector on a fresh book, in both change-reading modes."""
    conn = make_connector(book, use_sync_collection=request.param == "sync-collection")
    yield conn
    conn.close()


def vcard(uid: str, given: str, family: str = "", email: str = "", extra: str = "") -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{given} {family}".rstrip()]
    lines.append(f"N:{family};{given};;;")
    if email:
        lines.append(f"EMAIL;TYPE=INTERNET:{email}")
    if extra:
        lines.extend(extra.strip().splitlines())
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"
