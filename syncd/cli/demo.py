"""``syncd demo``: the store's main ideas in one run, safe to repeat.

Upserts by email and domain (so a second run changes nothing), links each contact to its
primary company, logs a note once, then shows what the store computed by itself (counts,
last activity date) and what the journal recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url

from store import ChangeSource, Record, Store
from syncd.cli._context import CLI_SOURCE, DEFAULT_DB_URL, get_state
from syncd.cli._output import emit_json, info, print_table
from syncd.cli._shapes import journal_json, record_json
from syncd.cli.journal import print_journal

__all__ = ["demo"]

COMPANIES: tuple[tuple[str, dict[str, object]], ...] = (
    ("acme.example", {"name": "Acme Corp", "industry": "COMPUTER_SOFTWARE", "city": "Berlin"}),
    ("globex.example", {"name": "Globex", "industry": "TELECOMMUNICATIONS", "city": "Lyon"}),
)
# (email, properties, company domain)
CONTACTS: tuple[tuple[str, dict[str, object], str], ...] = (
    (
        "ann@acme.example",
        {"firstname": "Ann", "lastname": "Lee", "jobtitle": "CTO", "lifecyclestage": "customer"},
        "acme.example",
    ),
    (
        "bob@acme.example",
        {"firstname": "Bob", "lastname": "Stone", "jobtitle": "Buyer", "lifecyclestage": "lead"},
        "acme.example",
    ),
    (
        "cara@globex.example",
        {"firstname": "Cara", "lastname": "Diaz", "lifecyclestage": "opportunity"},
        "globex.example",
    ),
)
NOTE_BODY = "Demo call with Ann: renewal planned for next quarter."
CONTACT_COLUMNS = ("email", "firstname", "lastname", "lifecyclestage", "associatedcompanyid")
COMPANY_COLUMNS = ("name", "domain", "num_associated_contacts", "notes_last_updated")


def _log_note_once(store: Store, contact_id: int, source: ChangeSource) -> int:
    """The demo note on the contact: created on the first run, found on later ones."""
    linked = [a.to_id for a in store.list_associations("contacts", contact_id, "notes")]
    for note in store.get_records("notes", linked).values():
        if note.properties.get("hs_note_body") == NOTE_BODY:
            return note.id
    note = store.create_record(
        "notes",
        {"hs_timestamp": datetime.now(UTC), "hs_note_body": NOTE_BODY},
        source,
        associations=[("contacts", contact_id, None)],
    )
    return note.id


def run_demo(store: Store) -> dict[str, Any]:
    """Write the demo data; return what the demo shows (records re-read after every write)."""
    companies = store.upsert_records("companies", "domain", list(COMPANIES), CLI_SOURCE)
    company_ids = {
        domain: record.id for (domain, _), record in zip(COMPANIES, companies.records, strict=True)
    }
    contacts = store.upsert_records(
        "contacts", "email", [(email, props) for email, props, _ in CONTACTS], CLI_SOURCE
    )
    contact_ids = [record.id for record in contacts.records]
    for contact_id, (_, _, domain) in zip(contact_ids, CONTACTS, strict=True):
        store.associate(
            "contacts", contact_id, "companies", company_ids[domain], CLI_SOURCE, label="Primary"
        )
    note_id = _log_note_once(store, contact_ids[0], CLI_SOURCE)
    head = store.journal_head()
    return {
        "contacts": [store.get_record("contacts", i) for i in contact_ids],
        "company": store.get_record("companies", company_ids["acme.example"]),
        "noteId": note_id,
        "journal": store.read_journal(after=max(0, head - 10), limit=10),
    }


def _hint_prefix(url: str) -> str:
    if url == DEFAULT_DB_URL or make_url(url).password:
        return "syncd"
    return f"syncd --db '{url}'"


def demo(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", metavar="URL", help="Store URL (overrides the global --db)."),
    ] = None,
) -> None:
    """Fill the store with a few contacts, companies and a note; show what it made of them."""
    state = get_state(ctx)
    url = db or state.store_url()
    with state.open_store(url) as store:
        shown = run_demo(store)
    contacts: list[Record] = shown["contacts"]
    company: Record = shown["company"]
    if state.json:
        emit_json(
            {
                "contacts": [record_json(r) for r in contacts],
                "company": record_json(company),
                "noteId": shown["noteId"],
                "journal": [journal_json(e) for e in shown["journal"]],
            }
        )
        return
    print_table(
        ["id", *CONTACT_COLUMNS],
        ((r.id, *(r.properties.get(c) for c in CONTACT_COLUMNS)) for r in contacts),
        title="contacts",
    )
    print_table(
        ["id", *COMPANY_COLUMNS],
        [(company.id, *(company.properties.get(c) for c in COMPANY_COLUMNS))],
        title="company (num_associated_contacts and notes_last_updated are calculated)",
    )
    print_journal(shown["journal"], title="last 10 journal entries")
    syncd = _hint_prefix(url)
    info(
        f"Next, try: `{syncd} records get contacts {contacts[0].id} --history`, "
        f"`{syncd} associations list companies {company.id}`, `{syncd} journal`."
    )
