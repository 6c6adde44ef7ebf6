"""Issue 13 against a real Radicale: a second CardDAV client edits the same address book.

The second client is plain httpx with its own vCard text (``Radicale.put``), as a phone or a
desktop address book would be. Each test is a defect that was seen: a delete beating a newer
edit, ``most_recent`` trusting a ``REV`` nobody bumped, and values that did not round-trip.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.load import load_config
from connectors.base import Connector, WriteResult
from connectors.carddav import CardDavConnector
from store import ChangeSource, SourceType, Store
from syncd.engine import RunSummary, SyncSpec, build_connector, build_spec, run_sync

from .conftest import PASSWORD, USER, Radicale

UI = ChangeSource(SourceType.CRM_UI, "test-user")

CONFIG = """
store: {{url: "sqlite:///unused.db"}}
connectors:
  phonebook:
    type: carddav
    url: "{url}"
    username: {user}
    password: "${{CARDDAV_PASSWORD}}"
    timeout_seconds: 10
    objects:
      contacts: {{}}
syncs:
  phonebook-contacts:
    connector: phonebook
    external_object: contacts
    crm_object: contacts
    direction: two-way
    match: {{crm: email, external: email}}
    conflict: {conflict}
    deletes: {deletes}
    fields:
      - {{crm: email, external: email, transform: lowercase}}
      - {{crm: firstname, external: given_name}}
      - {{crm: lastname, external: family_name}}
      - {{crm: phone, external: phone}}
      - {{crm: jobtitle, external: title}}
"""


@dataclass
class Harness:
    store: Store
    radicale: Radicale
    book: str
    spec: SyncSpec
    connector: Connector
    reopen: Callable[[], Connector]

    def run(self) -> RunSummary:
        return run_sync(self.spec, self.connector, self.store)

    def restart(self) -> None:
        """A new daemon process: the connector's in-memory ETags and card texts are gone."""
        self.connector.close()
        self.connector = self.reopen()

    def contact(self, email: str) -> dict[str, str]:
        return dict(self.store.find_record("contacts", "email", email).properties)

    def url(self, name: str) -> str:
        return f"{self.book}{name}.vcf"

    def edit(self, name: str, old: str, new: str) -> None:
        """The second client: read the card, change its text, PUT it with If-Match."""
        text, etag = self.radicale.get(self.url(name))
        assert old in text, text
        self.radicale.put(self.url(name), text.replace(old, new), etag)


def _harness(store: Store, radicale: Radicale, tmp_path: Path, **options: str) -> Iterator[Harness]:
    book = radicale.new_book()
    path = tmp_path / "syncd.yaml"
    settings = {"conflict": "crm_wins", "deletes": "{from_external: archive, from_crm: delete}"}
    settings.update(options)
    path.write_text(CONFIG.format(url=book, user=USER, **settings))
    config = load_config(path, env={"CARDDAV_PASSWORD": PASSWORD})
    spec = build_spec(config, config.syncs["phonebook-contacts"])
    harness = Harness(
        store,
        radicale,
        book,
        spec,
        build_connector(config, "phonebook"),
        lambda: build_connector(config, "phonebook"),
    )
    try:
        yield harness
    finally:
        harness.connector.close()


@pytest.fixture
def sync(store: Store, radicale: Radicale, tmp_path: Path) -> Iterator[Harness]:
    yield from _harness(store, radicale, tmp_path)


def _quiet(h: Harness, passes: int = 3) -> None:
    for _ in range(passes):
        summary = h.run()
        assert summary.crm_writes == 0, summary.line()
        assert summary.external_writes == 0, summary.line()


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\r\n") if line and not line.startswith("REV:")]


# -- defect 11: values round-trip untouched ---------------------------------------------

CARD_V4 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
    "FN:Ada Lovelace\r\n"
    "N:Lovelace;Ada;;;\r\n"
    "EMAIL;TYPE=work:ada@x.io\r\n"
    "TEL;VALUE=uri;TYPE=cell:tel:+45-1234-5678\r\n"
    "TEL;VALUE=uri;TYPE=work:tel:+45-8765-4321;ext=12\r\n"
    "item1.X-ABLabel:_$!<Other>!$_\r\n"
    "item1.URL:https://example.com/ada\r\n"
    "X-SOCIALPROFILE;TYPE=mastodon;X-USER=ada:https://social.example/@ada\r\n"
    "NOTE:line one\\nline two\\, with a comma\r\n"
    "END:VCARD\r\n"
)


def test_tel_uris_map_to_e164_and_back_and_untouched_lines_stay(sync: Harness) -> None:
    h = sync
    h.radicale.put(h.url("ada"), CARD_V4)
    stored, _ = h.radicale.get(h.url("ada"))  # Radicale keeps its own spelling of the card

    h.run()

    assert h.contact("ada@x.io")["phone"] == "+4512345678"  # not "tel:+45-1234-5678"
    _quiet(h)

    # A CRM edit of another field: every other line is as the server held it.
    ada = h.store.find_record("contacts", "email", "ada@x.io").id
    h.store.update_record("contacts", ada, {"jobtitle": "Countess"}, UI)
    h.run()
    text, _ = h.radicale.get(h.url("ada"))
    assert sorted(_lines(text)) == sorted([*_lines(stored), "TITLE:Countess"])
    _quiet(h)

    # A CRM edit of the phone: a valid tel: URI goes back, the second TEL keeps its ext=12.
    h.store.update_record("contacts", ada, {"phone": "+45 9999 8888"}, UI)
    h.run()
    text, _ = h.radicale.get(h.url("ada"))
    assert "TEL;TYPE=cell;VALUE=uri:tel:+4599998888\r\n" in text
    assert re.search(r"TEL;TYPE=work;VALUE=uri:tel:\+45-8765-4321\\?;ext=12\r\n", text)
    assert h.connector.fetch_by_ids("contacts", [h.url("ada")])[0].fields["phones"] == [
        "+4599998888",
        "+4587654321;ext=12",
    ]
    # The card holds the number in E.164; the CRM takes that spelling once, then all is quiet.
    h.run()
    assert h.contact("ada@x.io")["phone"] == "+4599998888"
    _quiet(h)


# -- defect 10: most_recent trusts a stale clock ----------------------------------------


def _card(uid: str, email: str, title: str, rev: str | None) -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{uid}", f"N:{uid};;;;"]
    lines += [f"EMAIL:{email}", f"TITLE:{title}"]
    lines += [f"REV:{rev}"] if rev else []
    return "\r\n".join([*lines, "END:VCARD"]) + "\r\n"


@pytest.fixture
def most_recent(store: Store, radicale: Radicale, tmp_path: Path) -> Iterator[Harness]:
    yield from _harness(store, radicale, tmp_path, conflict="most_recent")


def test_most_recent_a_card_edited_without_a_new_rev_wins_over_an_older_crm_edit(
    most_recent: Harness,
) -> None:
    h = most_recent
    # One client keeps an old REV on every save; another writes no REV at all.
    h.radicale.put(h.url("stale"), _card("stale", "stale@x.io", "Engineer", "20200101T000000Z"))
    h.radicale.put(h.url("norev"), _card("norev", "norev@x.io", "Engineer", None))
    # A third card was last written by syncd (its REV is syncd's write).
    h.store.create_record("contacts", {"email": "ours@x.io", "jobtitle": "Engineer"}, UI)
    h.run()
    _quiet(h)
    ours = next(
        u
        for u in h.radicale.hrefs(h.book)
        if "ours" not in u and "stale" not in u and "norev" not in u
    )
    ours_name = ours.rsplit("/", 1)[-1].removesuffix(".vcf")

    # The CRM edits first; the phones edit later, none moving REV.
    for email in ("stale@x.io", "norev@x.io", "ours@x.io"):
        crm_id = h.store.find_record("contacts", "email", email).id
        h.store.update_record("contacts", crm_id, {"jobtitle": "Manager"}, UI)
    for name in ("stale", "norev", ours_name):
        h.edit(name, "TITLE:Engineer", "TITLE:Director")

    h.run()

    for email, name in (("stale@x.io", "stale"), ("norev@x.io", "norev"), ("ours@x.io", ours_name)):
        assert h.contact(email)["jobtitle"] == "Director", email
        assert "TITLE:Director" in h.radicale.get(h.url(name))[0]
    # The CRM's overwritten values are kept in conflict rows.
    lost = [
        (c.field, c.crm_value, c.external_value, c.winner)
        for c in h.store.list_conflicts(sync="phonebook-contacts")
    ]
    assert lost == [("jobtitle", "Manager", "Director", "external")] * 3
    _quiet(h)


# -- defect 8: a delete beats a newer edit ----------------------------------------------


class _EditBeforeDelete(CardDavConnector):
    """The real connector; the second client saves its edit just before the first DELETE
    goes out (the window between the engine's decision and the server's answer)."""

    edit: Callable[[], None] | None = None

    def _before(self) -> None:
        edit, self.edit = self.edit, None
        if edit is not None:
            edit()

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        self._before()
        return super().delete(external_object, ids)

    def delete_versions(
        self, external_object: str, ids: Sequence[str], versions: Sequence[str | None]
    ) -> list[WriteResult]:
        self._before()
        return super().delete_versions(external_object, ids, versions)


def _ann(h: Harness, extra: str = "") -> int:
    card = _card("ann", "ann@x.io", "Engineer", None).replace(
        "END:VCARD", "PHOTO;VALUE=uri:https://example.com/ann.jpg\r\n" + extra + "END:VCARD"
    )
    h.radicale.put(h.url("ann"), card)
    h.run()
    _quiet(h)
    return h.store.find_record("contacts", "email", "ann@x.io").id


def _record_conflicts(h: Harness) -> list[tuple[str | None, str | None, str | None]]:
    return [
        (c.winner, c.crm_value, c.external_value)
        for c in h.store.list_conflicts(sync="phonebook-contacts")
        if c.field == "@record"
    ]


def test_an_edit_to_a_card_whose_crm_record_was_archived_restores_the_record(
    sync: Harness,
) -> None:
    h = sync
    ann = _ann(h)
    h.restart()
    h.edit("ann", "TITLE:Engineer", "TITLE:Director")
    h.store.archive_records("contacts", [ann], UI)

    h.run()

    # The edit wins: the card stays (photo and all), the CRM record is back with the edit.
    text, _ = h.radicale.get(h.url("ann"))
    assert "TITLE:Director" in text and "PHOTO" in text
    record = h.store.get_record("contacts", ann, include_archived=True)
    assert not record.archived and record.properties["jobtitle"] == "Director"
    ((winner, crm_value, external_value),) = _record_conflicts(h)
    assert winner == "external" and crm_value == "(archived in the CRM)"
    assert external_value is not None and '"jobtitle": "Director"' in external_value
    _quiet(h)


def test_a_delete_after_a_restart_is_conditional_on_the_version_last_synced(
    sync: Harness,
) -> None:
    h = sync
    ann = _ann(h)
    # A restart: no ETag in memory, only the one stored with the link can guard the delete.
    h.connector.close()
    h.connector = racing = _EditBeforeDelete(h.connector.name, h.connector.options)
    racing.edit = lambda: h.edit("ann", "TITLE:Engineer", "TITLE:Director")
    h.store.archive_records("contacts", [ann], UI)

    summary = h.run()  # the card changed under the DELETE: refused (412), nothing lost

    assert summary.get("outbound.deleted") == 0
    assert "TITLE:Director" in h.radicale.get(h.url("ann"))[0]
    h.run()  # the edit is read: it beats the archive
    record = h.store.get_record("contacts", ann, include_archived=True)
    assert not record.archived and record.properties["jobtitle"] == "Director"
    assert [w for w, _, _ in _record_conflicts(h)] == ["external"]
    _quiet(h)


def test_an_edit_of_unmapped_card_data_also_beats_an_archive(sync: Harness) -> None:
    h = sync
    ann = _ann(h, "X-MASTODON:@ann@old.example\r\n")
    h.restart()
    h.edit("ann", "X-MASTODON:@ann@old.example", "X-MASTODON:@ann@new.example")
    h.store.archive_records("contacts", [ann], UI)

    h.run()

    assert "X-MASTODON:@ann@new.example" in h.radicale.get(h.url("ann"))[0]
    assert not h.store.get_record("contacts", ann, include_archived=True).archived
    _quiet(h)


@pytest.fixture
def delete_wins(store: Store, radicale: Radicale, tmp_path: Path) -> Iterator[Harness]:
    yield from _harness(
        store,
        radicale,
        tmp_path,
        deletes="{from_external: archive, from_crm: delete, on_edit: delete}",
    )


def test_on_edit_delete_lets_the_archive_win_and_keeps_the_edit_in_a_conflict(
    delete_wins: Harness,
) -> None:
    h = delete_wins
    ann = _ann(h)
    h.restart()
    h.edit("ann", "TITLE:Engineer", "TITLE:Director")
    h.store.archive_records("contacts", [ann], UI)

    h.run()

    assert h.radicale.status(h.url("ann")) == 404
    assert h.store.get_record("contacts", ann, include_archived=True).archived
    ((winner, crm_value, external_value),) = _record_conflicts(h)
    assert winner == "crm" and crm_value == "(archived in the CRM)"
    assert external_value is not None and '"jobtitle": "Director"' in external_value
    _quiet(h)


def test_a_card_deleted_outside_while_the_crm_edited_it_is_created_again(sync: Harness) -> None:
    h = sync
    ann = _ann(h)
    h.radicale.delete(h.url("ann"))
    h.store.update_record("contacts", ann, {"jobtitle": "Director"}, UI)

    h.run()

    record = h.store.get_record("contacts", ann, include_archived=True)
    assert not record.archived and record.properties["jobtitle"] == "Director"
    texts = [h.radicale.get(h.radicale.base + href)[0] for href in h.radicale.hrefs(h.book)]
    assert len(texts) == 1 and "TITLE:Director" in texts[0] and "ann@x.io" in texts[0]
    ((winner, crm_value, external_value),) = _record_conflicts(h)
    assert winner == "crm" and external_value == "(deleted in the external system)"
    assert crm_value is not None and '"jobtitle": "Director"' in crm_value
    assert h.store.get_link_by_crm("phonebook-contacts", ann) is not None
    _quiet(h)
