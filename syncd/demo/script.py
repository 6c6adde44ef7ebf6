"""The demo's script: seed both sides, run the daemon, edit each side, watch it converge.

Every step states a fact and then waits for the daemon to make it true on the other side
(``Daemon.when``), so what the narration says is what the databases hold; a step that does
not converge in time raises :class:`DemoError` instead of printing a happy line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from config.models import DEFAULT_LISTEN
from store import ChangeSource, ConflictRecord, Record, Store, SyncLogEntry
from syncd.daemon import Daemon, DaemonOptions
from syncd.demo.files import DemoFiles
from syncd.demo.shop import SHOP_COMPANIES, SHOP_CUSTOMERS, Shop, now
from syncd.errors import SyncdError
from syncd.status import SyncStatus, build_status

__all__ = ["CRM_COMPANIES", "CRM_CONTACTS", "DemoError", "DemoResult", "Narrator", "run_demo"]

CUSTOMERS = "shop-customers"
COMPANIES = "shop-companies"
SYNCS = (COMPANIES, CUSTOMERS)
#: Seconds a step may take before the demo calls it broken: a pass runs every second and a
#: step takes one or two, but a loaded machine may take ten times as long.
STEP_TIMEOUT = 30.0
#: The token the demo makes for its console (a fresh store each run, so never reused).
CONSOLE_TOKEN = "demo-operator"
DEMO_SOURCE = ChangeSource.cli()

CRM_COMPANIES: tuple[tuple[str, str], ...] = (
    ("Acme Corp", "acme.example"),
    ("Globex", "globex.example"),
)
#: (email, first, last, phone, lifecycle stage, company domain); Ann is in the shop too.
CRM_CONTACTS: tuple[tuple[str, str, str, str | None, str, str], ...] = (
    ("ann@acme.example", "Ann", "Lee", None, "customer", "acme.example"),
    ("bob@acme.example", "Bob", "Stone", "+493012340000", "lead", "acme.example"),
    ("cara@globex.example", "Cara", "Diaz", "+33472000000", "opportunity", "globex.example"),
    ("dan@globex.example", "Dan", "Ford", None, "lead", "globex.example"),
)
SHOP_EDIT = ("joanna@initech.example", "first_name", "Jo", "firstname")
CRM_EDIT = ("bob@acme.example", "phone", "+4915112345678")
NEW_CONTACT = ("eve@globex.example", "Eve", "Park", "globex.example")
CONFLICT_EMAIL = "monica@hooli.example"
CONFLICT_CRM_VALUE = "Hall-Crm"
CONFLICT_SHOP_VALUE = "Hall-Shop"

#: ``say(kind, text)``: kind is "step" (a heading), "fact" (what happened) or "note".
Narrator = Callable[[str, str], None]


class DemoError(SyncdError):
    """A demo step did not happen in time: the daemon is not doing what the demo shows."""


@dataclass
class DemoResult:
    """What the demo did and saw, for the summary (``--json``) and the tests."""

    files: DemoFiles
    seconds: float = 0.0
    steps: list[dict[str, Any]] = field(default_factory=list)
    contacts: int = 0
    customers: int = 0
    companies: int = 0
    shop_companies: int = 0
    conflicts: list[ConflictRecord] = field(default_factory=list)
    log: list[SyncLogEntry] = field(default_factory=list)
    status: list[SyncStatus] = field(default_factory=list)
    #: A write token the demo made for its console (the store is the demo's own, reset on
    #: every run): signs in at ``console_url`` once ``syncd run`` serves it.
    console_token: str = ""
    console_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": str(self.files.config),
            "store": str(self.files.store),
            "shop": str(self.files.shop),
            "seconds": round(self.seconds, 2),
            "crm": {"contacts": self.contacts, "companies": self.companies},
            "console": {"url": self.console_url, "token": self.console_token},
            "shop_counts": {"customers": self.customers, "companies": self.shop_companies},
            "steps": self.steps,
            "status": [s.as_dict() for s in self.status],
            "conflicts": [
                {
                    "id": c.id,
                    "sync": c.sync,
                    "crm_id": c.crm_id,
                    "field": c.field,
                    "rule": c.rule,
                    "crm_value": c.crm_value,
                    "external_value": c.external_value,
                    "winner": c.winner,
                }
                for c in self.conflicts
            ],
        }


def _seed_crm(store: Store) -> None:
    companies = store.upsert_records(
        "companies",
        "domain",
        [(domain, {"name": name}) for name, domain in CRM_COMPANIES],
        DEMO_SOURCE,
    )
    ids = {
        domain: record.id
        for (_, domain), record in zip(CRM_COMPANIES, companies.records, strict=True)
    }
    for email, first, last, phone, stage, domain in CRM_CONTACTS:
        properties: dict[str, object] = {
            "email": email,
            "firstname": first,
            "lastname": last,
            "lifecyclestage": stage,
        }
        if phone:
            properties["phone"] = phone
        store.create_record(
            "contacts",
            properties,
            DEMO_SOURCE,
            associations=[("companies", ids[domain], None)],
        )


def _contacts(store: Store) -> dict[str, Record]:
    return {str(r.properties.get("email")): r for r in store.list_records("contacts", limit=1000)}


def _company_domains(store: Store) -> list[str]:
    return [str(r.properties.get("domain")) for r in store.list_records("companies", limit=1000)]


def _quiet_since(store: Store, moment: datetime) -> bool:
    """Each sync's last finished pass started after ``moment`` and wrote nothing (one may
    be running again already: passes come every second)."""
    for name in SYNCS:
        runs = [r for r in store.list_sync_runs(name, limit=3) if r.finished_at is not None]
        if not runs or runs[0].started_at < moment:
            return False
        summary = runs[0].summary
        writes = [k for k, v in summary.items() if k.split(".")[-1] in _WRITES and v]
        if writes:
            return False
    return True


_SIDE = {"external": "the shop's", "crm": "the CRM's"}
_WRITES = {"created", "updated", "deleted", "archived", "associated"}


class _Run:
    def __init__(self, daemon: Daemon, shop: Shop, say: Narrator, result: DemoResult) -> None:
        self.daemon = daemon
        self.store = daemon.store
        self.shop = shop
        self.say = say
        self.result = result

    def wait(self, what: str, condition: Callable[[], bool]) -> float:
        started = time.monotonic()
        if not self.daemon.when(condition, timeout=STEP_TIMEOUT):
            raise DemoError(
                f"the demo waited {STEP_TIMEOUT:.0f}s for {what} and it did not happen;"
                f" see `syncd --config {self.result.files.config} logs`"
            )
        return time.monotonic() - started

    def contact(self, email: str) -> dict[str, object]:
        record = _contacts(self.store).get(email)
        return dict(record.properties) if record is not None else {}

    def step(self, title: str, **facts: Any) -> None:
        self.result.steps.append({"step": len(self.result.steps) + 1, "title": title, **facts})

    # ---------------------------------------------------------------- the steps

    def start(self) -> None:
        """Start the daemon with the customers sync held until companies made a first pass.

        Both first passes write to the shop; two syncs writing one SQLite file at once can
        lock each other out, and a record that failed waits 30s for its retry, longer than
        the whole demo. After those first passes the companies sync has nothing to write.
        """
        self.store.set_sync_paused(CUSTOMERS, True, "held by `syncd demo` until companies ran")
        try:
            self.daemon.start()
            self.wait(
                "the companies sync's first pass",
                lambda: any(r.finished_at for r in self.store.list_sync_runs(COMPANIES, 1)),
            )
        finally:
            self.store.set_sync_paused(CUSTOMERS, False, None)

    def initial(self) -> None:
        self.say("step", "1. Initial sync: both sides seeded, the daemon starts")
        self.say(
            "note",
            f"CRM: {len(CRM_CONTACTS)} contacts, {len(CRM_COMPANIES)} companies."
            f" Shop: {len(SHOP_CUSTOMERS)} customers, {len(SHOP_COMPANIES)} companies."
            " ann@acme.example and acme.example are on both sides.",
        )
        started = datetime.now(UTC)
        self.start()

        def settled() -> bool:
            emails = set(_contacts(self.store))
            shop_emails = {str(r["email"]) for r in self.shop.customers_rows()}
            return (
                emails == shop_emails
                and set(_company_domains(self.store)) == set(self.shop.company_domains())
                and _quiet_since(self.store, started)
            )

        took = self.wait("the initial sync to settle", settled)
        contacts = len(_contacts(self.store))
        self.say(
            "fact",
            f"After {took:.1f}s both sides hold {contacts} contacts/customers and"
            f" {len(_company_domains(self.store))} companies: matched by email and domain,"
            " no duplicates.",
        )
        ann = self.contact("ann@acme.example")
        self.say(
            "fact",
            f"Ann was matched, not copied: her CRM record took the shop's phone"
            f" ({ann.get('phone')}, normalised to E.164).",
        )
        self.step("initial sync", contacts=contacts, seconds=round(took, 2))

    def shop_edit(self) -> None:
        email, column, value, prop = SHOP_EDIT
        self.say("step", "2. An edit in the shop")
        self.say("note", f"The shop changes {email}'s {column} to {value!r}.")
        self.shop.edit_customer(email, {column: value})
        took = self.wait(
            f"the shop's edit of {email} to reach the CRM",
            lambda: self.contact(email).get(prop) == value,
        )
        self.say("fact", f"{took:.1f}s later the CRM contact has {prop} = {value!r}.")
        self.step("shop edit reached the CRM", email=email, seconds=round(took, 2))

    def crm_edit(self) -> None:
        email, prop, value = CRM_EDIT
        self.say("step", "3. An edit in the CRM")
        self.say("note", f"Someone sets {email}'s {prop} to {value} in the CRM.")
        record = _contacts(self.store)[email]
        self.store.update_record("contacts", record.id, {prop: value}, DEMO_SOURCE)
        took = self.wait(
            f"the CRM's edit of {email} to reach the shop",
            lambda: (self.shop.customer(email) or {}).get(prop) == value,
        )
        self.say("fact", f"{took:.1f}s later the shop's customer row has {prop} = {value}.")
        self.step("CRM edit reached the shop", email=email, seconds=round(took, 2))

    def new_contact(self) -> None:
        email, first, last, domain = NEW_CONTACT
        self.say("step", "4. A new contact in the CRM")
        self.say("note", f"{first} {last} <{email}> is created in the CRM, at company {domain}.")
        company = self.store.find_record("companies", "domain", domain)
        self.store.create_record(
            "contacts",
            {"email": email, "firstname": first, "lastname": last, "lifecyclestage": "lead"},
            DEMO_SOURCE,
            associations=[("companies", company.id, None)],
        )
        took = self.wait(
            f"{email} to be created in the shop",
            lambda: bool((self.shop.customer(email) or {}).get("company_id")),
        )
        row = self.shop.customer(email) or {}
        self.say(
            "fact",
            f"{took:.1f}s later the shop has customer {row.get('id')} for {email},"
            f" stage {row.get('stage')!r}, company_id {row.get('company_id')} ({domain}).",
        )
        self.step("new CRM contact created in the shop", email=email, seconds=round(took, 2))

    def conflict(self) -> None:
        self.say("step", "5. The same field edited on both sides")
        record = _contacts(self.store)[CONFLICT_EMAIL]
        self._hold_customers()
        try:
            self.store.update_record(
                "contacts", record.id, {"lastname": CONFLICT_CRM_VALUE}, DEMO_SOURCE
            )
            time.sleep(0.05)  # the shop's edit is the later one, by a clear margin
            self.shop.edit_customer(CONFLICT_EMAIL, {"last_name": CONFLICT_SHOP_VALUE}, at=now())
        finally:
            self.store.set_sync_paused(CUSTOMERS, False, None)
        self.say(
            "note",
            f"Between two passes, the CRM sets {CONFLICT_EMAIL}'s lastname to"
            f" {CONFLICT_CRM_VALUE!r}, then the shop sets it to {CONFLICT_SHOP_VALUE!r}.",
        )

        def settled() -> bool:
            return (
                self.contact(CONFLICT_EMAIL).get("lastname") == CONFLICT_SHOP_VALUE
                and (self.shop.customer(CONFLICT_EMAIL) or {}).get("last_name")
                == CONFLICT_SHOP_VALUE
                and bool(self.store.list_conflicts(sync=CUSTOMERS))
            )

        took = self.wait("the conflict to be settled", settled)
        conflict = self.store.list_conflicts(sync=CUSTOMERS)[0]
        self.say(
            "fact",
            f"{took:.1f}s later: conflict {conflict.id} on {conflict.field}: CRM"
            f" {conflict.crm_value!r} vs shop {conflict.external_value!r}. Rule"
            f" {conflict.rule} took the later edit ({_SIDE.get(str(conflict.winner), conflict.winner)}),"
            f" now on both sides; the losing {conflict.loser_value!r} is kept with the conflict.",
        )
        self.step(
            "conflict settled by most_recent",
            email=CONFLICT_EMAIL,
            winner=conflict.winner,
            seconds=round(took, 2),
        )

    def _hold_customers(self) -> None:
        """Pause the customers sync and wait out a pass in hand, so both edits meet in one
        pass (otherwise the first edit may sync before the second is made: no conflict)."""
        self.store.set_sync_paused(CUSTOMERS, True, "held by `syncd demo` for two edits")

        def idle() -> bool:
            runs = self.store.list_sync_runs(CUSTOMERS, limit=1)
            return not runs or runs[0].finished_at is not None

        self.wait("the customers sync to finish its pass", idle)
        # A pass that read the state just before the pause has started its run by now.
        time.sleep(0.3)
        self.wait("the customers sync to finish its pass", idle)

    def finish(self) -> None:
        result = self.result
        moment = datetime.now(UTC)
        self.wait("a quiet pass of each sync", lambda: _quiet_since(self.store, moment))
        result.contacts = len(_contacts(self.store))
        result.companies = len(_company_domains(self.store))
        result.customers = len(self.shop.customers_rows())
        result.shop_companies = len(self.shop.company_domains())
        result.conflicts = self.store.list_conflicts(sync=CUSTOMERS)
        result.log = self.store.sync_log(limit=12, newest=True)
        moment = datetime.now(UTC)
        syncs = self.daemon.config.syncs
        found = self.store.sync_overview(list(syncs), moment)
        result.status = [build_status(syncs[n], found[n], moment) for n in syncs]


def run_demo(files: DemoFiles, say: Narrator) -> DemoResult:
    """Reset the demo's files, seed both sides, run the daemon through the five steps."""
    started = time.monotonic()
    files.reset()
    files.write_config()
    shop = Shop(files.shop)
    result = DemoResult(files)
    try:
        shop.seed()
        with Store.open(files.store_url) as store:
            _seed_crm(store)
        daemon = Daemon(
            files.config,
            db_url=files.store_url,
            options=DaemonOptions(http=False, lease_seconds=10.0),
        )
        try:
            run = _Run(daemon, shop, say, result)
            run.initial()
            run.shop_edit()
            run.crm_edit()
            run.new_contact()
            run.conflict()
            run.finish()
        finally:
            daemon.stop()
        with Store.open(files.store_url) as store:
            _token, result.console_token = store.create_api_token(CONSOLE_TOKEN, ["write"])
        result.console_url = f"http://{DEFAULT_LISTEN}/console/"
    finally:
        shop.close()
    result.seconds = time.monotonic() - started
    return result
