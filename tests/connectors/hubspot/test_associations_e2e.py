"""HubSpot associations both ways, end to end (issue 13, defect 7).

The HubSpot connector talks to syncd's own HubSpot-compatible API, served by a real uvicorn
on 127.0.0.1 over a second store (the "remote HubSpot"); the local store runs on SQLite and
PostgreSQL. Before the fix an ``associations:`` entry was sent as a property
(``associatedcompanyid``, read-only in HubSpot, even as ``''``), which failed every contact
create: contacts never reached HubSpot and association changes never did. Now association
fields go through the v4 associations API both ways, and a read-only property is never sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from config import Config
from config.load import load_config
from connectors.base import Connector
from connectors.webhooks import WebhookOptions, sign
from store import ChangeSource, SourceType, Store
from syncd.api import ApiSettings, create_api
from syncd.cli import app
from syncd.engine import RunSummary, SyncSpec, build_connector, build_spec, run_sync
from syncd.engine.events import drain_inbox
from syncd.http.app import create_app
from tests._live import LiveServers
from tests.api.conftest import make_token
from tests.http._client import AsgiClient

UI = ChangeSource(SourceType.CRM_UI, "test-user")
SECRET = "hubspot-client-secret-0123"
WEBHOOK_URL = "https://syncd.example.com/webhooks/hubspot"

CONFIG = """
store: {url: "sqlite:///unused.db"}
connectors:
  hubspot:
    type: hubspot
    base_url: "${HUBSPOT_URL}"
    access_token: "${HUBSPOT_TOKEN}"
    webhook: {secret: "${HUBSPOT_SECRET}"}
    webhook_url: https://syncd.example.com/webhooks/hubspot
    app_id: "1160452"
    rate_limit: {requests: 1000, per_seconds: 1}
    search_rate_limit: {requests: 1000, per_seconds: 1}
    retry: {attempts: 3, max_wait_seconds: 1}
    objects:
      contacts:
        object_type: contacts
        properties: [email, firstname]
        id_property: email
        lookback_seconds: 5
        associations:
          company: {to: companies}
      companies:
        object_type: companies
        properties: [name, domain]
        lookback_seconds: 5
syncs:
  hs-companies:
    connector: hubspot
    external_object: companies
    crm_object: companies
    match: {crm: domain, external: domain}
    conflict: crm_wins
    fields:
      - {crm: name, external: name}
      - {crm: domain, external: domain}
  hs-contacts:
    connector: hubspot
    external_object: contacts
    crm_object: contacts
    match: {crm: email, external: email}
    conflict: crm_wins
    fields:
      - {crm: email, external: email, transform: lowercase}
      - {crm: firstname, external: firstname}
    associations:
      - {external: company, crm_object: companies}
"""


@dataclass
class Remote:
    url: str
    store: Store
    client: httpx.Client

    def contact_id(self, email: str) -> str:
        return str(self.store.find_record("contacts", "email", email).id)

    def company_id(self, domain: str) -> str:
        return str(self.store.find_record("companies", "domain", domain).id)

    def companies_of(self, contact_id: str) -> list[str]:
        """The contact's companies as HubSpot's v4 API lists them."""
        answer = self.client.get(f"/crm/v4/objects/contacts/{contact_id}/associations/companies")
        assert answer.status_code == 200, answer.text
        return sorted(str(item["toObjectId"]) for item in answer.json()["results"])


@dataclass
class Harness:
    store: Store
    remote: Remote
    companies: SyncSpec
    contacts: SyncSpec
    connector: Connector
    config: Config

    def run(self) -> tuple[RunSummary, RunSummary]:
        return (
            run_sync(self.companies, self.connector, self.store),
            run_sync(self.contacts, self.connector, self.store),
        )

    def local_companies_of(self, email: str) -> list[str]:
        contact = self.store.find_record("contacts", "email", email)
        ids = [a.to_id for a in self.store.list_associations("contacts", contact.id, "companies")]
        return sorted(self.store.get_record("companies", i).properties["domain"] for i in ids)

    def deliver_association_change(self, contact_id: str, company_id: str) -> None:
        """HubSpot's signed ``contact.associationChange`` delivery, into the inbox."""
        body = json.dumps(
            [
                {
                    "eventId": 7001,
                    "subscriptionId": 1,
                    "portalId": 62515,
                    "appId": 1160452,
                    "occurredAt": 1764460800000,
                    "subscriptionType": "contact.associationChange",
                    "attemptNumber": 0,
                    "changeSource": "CRM_UI",
                    "associationType": "CONTACT_TO_COMPANY",
                    "fromObjectId": int(contact_id),
                    "toObjectId": int(company_id),
                    "associationRemoved": False,
                    "isPrimaryAssociation": False,
                }
            ]
        ).encode()
        options = WebhookOptions.model_validate({"secret": SECRET, "signature": "hubspot-v3"})
        headers = sign(options, method="POST", url=WEBHOOK_URL, body=body, now=datetime.now(UTC))
        client = AsgiClient(
            create_app(self.config, self.store, connectors={"hubspot": self.connector})
        )
        answer = client.post("/webhooks/hubspot", content=body, headers=headers)
        assert answer.status_code == 200, answer.text

    def quiet(self) -> None:
        for _ in range(2):
            for summary in self.run():
                assert summary.crm_writes == 0, summary.line()
                assert summary.external_writes == 0, summary.line()


@pytest.fixture
def hub(store: Store, tmp_path: Path, live_servers: LiveServers) -> Iterator[Harness]:
    remote_store = Store.open(f"sqlite:///{tmp_path / 'remote-hubspot.db'}")
    url = live_servers.mount(create_api(remote_store, ApiSettings(rate_limit_max=100_000)))
    token = make_token(remote_store)
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG)
    env = {"HUBSPOT_URL": url, "HUBSPOT_TOKEN": token, "HUBSPOT_SECRET": SECRET}
    config = load_config(path, env=env)
    connector = build_connector(config, "hubspot")
    try:
        yield Harness(
            store,
            Remote(url, remote_store, client),
            build_spec(config, config.syncs["hs-companies"]),
            build_spec(config, config.syncs["hs-contacts"]),
            connector,
            config,
        )
    finally:
        connector.close()
        client.close()
        live_servers.unmount(url)
        remote_store.close()


def test_a_contact_with_its_company_goes_out_and_association_changes_flow_both_ways(
    hub: Harness,
) -> None:
    h = hub
    acme = h.store.create_record("companies", {"name": "Acme", "domain": "acme.io"}, UI)
    beta = h.store.create_record("companies", {"name": "Beta", "domain": "beta.io"}, UI)
    ann = h.store.create_record("contacts", {"email": "ann@x.io", "firstname": "Ann"}, UI)
    h.store.associate("contacts", ann.id, "companies", acme.id, UI)

    _, contacts = h.run()

    # The contact reached HubSpot (no read-only property refused it) with its company.
    assert contacts.get("outbound.created") == 1, contacts.line()
    assert contacts.get("outbound.errors") == 0, contacts.line()
    remote_ann = h.remote.contact_id("ann@x.io")
    remote_acme, remote_beta = h.remote.company_id("acme.io"), h.remote.company_id("beta.io")
    assert h.remote.companies_of(remote_ann) == [remote_acme]
    h.quiet()

    # A change: Ann moves from Acme to Beta in the CRM.
    h.store.dissociate("contacts", ann.id, "companies", acme.id, UI)
    h.store.associate("contacts", ann.id, "companies", beta.id, UI)
    _, contacts = h.run()
    assert contacts.get("outbound.updated") == 1, contacts.line()
    assert h.remote.companies_of(remote_ann) == [remote_beta]
    h.quiet()

    # A removal: Ann has no company any more.
    h.store.dissociate("contacts", ann.id, "companies", beta.id, UI)
    h.run()
    assert h.remote.companies_of(remote_ann) == []
    h.quiet()

    # Inbound: someone associates Ann with Acme in HubSpot (v4). HubSpot does not move a
    # contact's last-modified date for that; its associationChange webhook says so.
    put = h.remote.client.put(
        f"/crm/v4/objects/contacts/{remote_ann}/associations/default/companies/{remote_acme}"
    )
    assert put.status_code == 200, put.text
    h.deliver_association_change(remote_ann, remote_acme)
    drained = drain_inbox(h.contacts, h.connector, h.store)
    assert drained.get("inbound.associated") == 1, drained.line()
    assert h.local_companies_of("ann@x.io") == ["acme.io"]
    h.quiet()

    # Then moves her to Beta; a full pass (it re-reads every record) brings that in too.
    gone = h.remote.client.delete(
        f"/crm/v4/objects/contacts/{remote_ann}/associations/companies/{remote_acme}"
    )
    assert gone.status_code == 204, gone.text
    put = h.remote.client.put(
        f"/crm/v4/objects/contacts/{remote_ann}/associations/default/companies/{remote_beta}"
    )
    assert put.status_code == 200, put.text
    run_sync(h.contacts, h.connector, h.store, full=True)
    assert h.local_companies_of("ann@x.io") == ["beta.io"]
    assert h.remote.companies_of(remote_ann) == [remote_beta]
    h.quiet()


CARDDAV = """
store: {url: "sqlite:///unused.db"}
connectors:
  hubspot:
    type: carddav
    url: https://dav.example.com/ada/book/
    username: ada
    password: "${HUBSPOT_TOKEN}"
    objects:
      contacts: {}
      companies: {}
syncs:
  hs-companies:
    connector: hubspot
    external_object: companies
    crm_object: companies
    fields:
      - {crm: name, external: fn}
  hs-contacts:
    connector: hubspot
    external_object: contacts
    crm_object: contacts
    fields:
      - {crm: email, external: email}
    associations:
      - {external: associatedcompanyid, crm_object: companies}
"""


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            CONFIG.replace("{external: company,", "{external: associatedcompanyid,"),
            "HubSpot object contacts has no association field 'associatedcompanyid'"
            " (its associations: company)",
        ),
        (CARDDAV, "CardDAV cannot carry associations"),
    ],
    ids=["hubspot-read-only-property", "carddav"],
)
def test_check_refuses_an_association_the_connector_cannot_carry(
    db_url: str, tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(text)
    env = {"HUBSPOT_URL": "http://127.0.0.1:9", "HUBSPOT_TOKEN": "t0ken", "HUBSPOT_SECRET": "s"}
    result = CliRunner().invoke(app, ["--db", db_url, "check", "--config", str(path)], env=env)
    assert result.exit_code == 1, result.stdout
    line = next(li for li in result.stdout.splitlines() if said in li)
    number = next(
        n for n, li in enumerate(text.splitlines(), 1) if "{external: associatedcompanyid" in li
    )
    assert line.startswith(f"{path}:{number}:"), line
    assert "syncs.hs-contacts.associations[0].external" in line
