"""A YAML-defined two-way sync between the CRM store and a real Radicale address book."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.load import load_config
from connectors.base import Connector
from store import ChangeSource, SourceType, Store
from syncd.engine import RunSummary, SyncSpec, build_connector, build_spec, run_sync

from .conftest import PASSWORD, USER, Radicale, vcard

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
    conflict: crm_wins
    fields:
      - {{crm: email, external: email, transform: lowercase}}
      - {{crm: firstname, external: given_name}}
      - {{crm: lastname, external: family_name}}
      - {{crm: phone, external: phone}}
      - {{crm: company, external: org}}
      - {{crm: jobtitle, external: title}}
"""


@dataclass
class Harness:
    store: Store
    radicale: Radicale
    book: str
    spec: SyncSpec
    connector: Connector

    def run(self) -> RunSummary:
        return run_sync(self.spec, self.connector, self.store)

    def contact(self, email: str) -> dict[str, str]:
        return dict(self.store.find_record("contacts", "email", email).properties)

    def card(self, email: str) -> str:
        for href in self.radicale.hrefs(self.book):
            text, _ = self.radicale.get(self.radicale.base + href)
            if f":{email}\r\n" in text:
                return text
        raise AssertionError(f"no card with {email}")


@pytest.fixture
def sync(store: Store, radicale: Radicale, tmp_path: Path) -> Iterator[Harness]:
    book = radicale.new_book()
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG.format(url=book, user=USER))
    config = load_config(path, env={"CARDDAV_PASSWORD": PASSWORD})
    spec = build_spec(config, config.syncs["phonebook-contacts"])
    connector = build_connector(config, "phonebook")
    try:
        yield Harness(store, radicale, book, spec, connector)
    finally:
        connector.close()


def _quiet(h: Harness, passes: int = 5) -> None:
    for _ in range(passes):
        summary = h.run()
        assert summary.crm_writes == 0, summary.line()
        assert summary.external_writes == 0, summary.line()


def test_contacts_flow_both_ways_then_converge(sync: Harness) -> None:
    h = sync
    h.radicale.put(
        f"{h.book}ada.vcf",
        vcard(
            "ada",
            "Ada",
            "Lovelace",
            "Ada@X.io",
            "TEL;TYPE=CELL:+44 20 1234\r\nORG:Analytical Engines\r\nTITLE:Countess\r\n"
            "X-PHONE-APP-ONLY:keep",
        ),
    )
    h.store.create_record(
        "contacts",
        {
            "email": "grace@x.io",
            "firstname": "Grace",
            "lastname": "Hopper",
            "phone": "+1 555 0100",
            "company": "US Navy",
            "jobtitle": "Rear Admiral",
        },
        UI,
    )

    h.run()

    ada = h.contact("ada@x.io")
    assert (ada["firstname"], ada["lastname"], ada["phone"]) == ("Ada", "Lovelace", "+44 20 1234")
    assert (ada["company"], ada["jobtitle"]) == ("Analytical Engines", "Countess")
    # The email's one spelling (the sync lowercases it) is written back in the same pass.
    assert "X-PHONE-APP-ONLY:keep" in h.card("ada@x.io")
    grace = h.card("grace@x.io")
    assert "N:Hopper;Grace;;;" in grace and "FN:Grace Hopper" in grace
    assert "TEL:+1 555 0100" in grace and "ORG:US Navy" in grace
    assert "TITLE:Rear Admiral" in grace
    assert len(h.radicale.hrefs(h.book)) == 2
    _quiet(h)

    # An edit each way: the phone changes Ada's title, the CRM changes Grace's company.
    text, etag = h.radicale.get(f"{h.book}ada.vcf")
    h.radicale.put(f"{h.book}ada.vcf", re.sub(r"TITLE:[^\r\n]*", "TITLE:Mathematician", text), etag)
    grace_id = h.store.find_record("contacts", "email", "grace@x.io").id
    h.store.update_record("contacts", grace_id, {"company": "Harvard"}, UI)

    summary = h.run()

    assert summary.get("inbound.updated") == 1 and summary.get("outbound.updated") == 1
    assert h.contact("ada@x.io")["jobtitle"] == "Mathematician"
    assert "ORG:Harvard" in h.card("grace@x.io")
    assert "X-PHONE-APP-ONLY:keep" in h.card("ada@x.io")
    _quiet(h)
