"""A store with something to show: a SQLite "shop" synced into the CRM by a real pass, an
open conflict, parked errors both ways, and tokens of both scopes; the daemon's HTTP app
(with the console) served on 127.0.0.1.

Values that come from outside carry markup (``<script>``, an ``onerror`` image): the pages
must show them as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    update,
)

from config import load_config
from config.models import Config
from store import ChangeSource, SourceType, Store
from syncd.engine import build_connector, build_spec, run_sync
from syncd.http import create_app
from tests.api.conftest import make_token, serve

SYNC = "shop-customers"
XSS_NAME = "<script>alert('x')</script>Ada"
XSS_ERROR = 'refused: <img src=x onerror="alert(1)"> is not an e-mail'
UI = ChangeSource(SourceType.CRM_UI, "test-user")

CONFIG = """
store: {{url: "{db}"}}
connectors:
  shop:
    type: sql
    url: "sqlite:///{shop}"
    objects:
      customers: {{table: customers, lookback_seconds: 1}}
syncs:
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    match: {{crm: email, external: email}}
    conflict: manual
    fields:
      - {{crm: email, external: email, transform: lowercase}}
      - {{crm: firstname, external: first_name}}
{extra}"""

meta = MetaData()
customers = Table(
    "customers",
    meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(200), unique=True),
    Column("first_name", String(100)),
    Column("updated_at", DateTime, nullable=False),
)


def naive_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class World:
    store: Store
    config: Config
    shop: Engine
    write_token: str
    read_token: str
    conflict_id: int
    ada_id: int
    bob_id: int

    def run_pass(self) -> None:
        spec = build_spec(self.config, self.config.syncs[SYNC])
        connector = build_connector(self.config, "shop")
        try:
            run_sync(spec, connector, self.store)
        finally:
            connector.close()


def build_world(tmp_path: Path, db_url: str, store: Store, extra: str = "") -> Iterator[World]:
    shop_path = tmp_path / "shop.db"
    shop = create_engine(f"sqlite:///{shop_path}")
    meta.create_all(shop)
    with shop.begin() as conn:
        conn.execute(
            insert(customers),
            [
                {"email": "ada@x.io", "first_name": XSS_NAME, "updated_at": naive_now()},
                {"email": "bob@x.io", "first_name": "Bob", "updated_at": naive_now()},
            ],
        )
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG.format(db=db_url, shop=shop_path, extra=extra))
    config = load_config(path)
    world = World(store, config, shop, "", "", 0, 0, 0)
    world.run_pass()
    ada = store.find_record("contacts", "email", "ada@x.io")
    bob = store.find_record("contacts", "email", "bob@x.io")
    # A conflict held for an operator: both sides changed the first name.
    store.update_record("contacts", ada.id, {"firstname": "CRM-Ada"}, UI)
    with shop.begin() as conn:
        conn.execute(
            update(customers)
            .where(customers.c.email == "ada@x.io")
            .values(first_name="Shop-Ada", updated_at=naive_now())
        )
    world.run_pass()
    (held,) = store.list_conflicts(open_only=True)
    # Parked errors: one outbound record whose retries ran out, one inbound refusal.
    store.sync_write(
        SYNC,
        lambda tx: tx.outbound_failed(
            bob.id, "HTTP 409 from shop: bob@x.io taken", retriable=False
        ),
    )
    store.sync_write(SYNC, lambda tx: tx.inbound_failed({"ext-77": XSS_ERROR}))
    world.write_token = make_token(store, "console-writer", ("write",))
    world.read_token = make_token(store, "console-reader", ("read",))
    world.conflict_id, world.ada_id, world.bob_id = held.id, ada.id, bob.id
    try:
        yield world
    finally:
        shop.dispose()


@dataclass
class Served:
    url: str
    world: World


def serve_world(world: World, config: Config | None = None) -> Iterator[str]:
    server, thread, url = serve(create_app(config or world.config, world.store))
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@contextmanager
def sign_in(url: str, token: str) -> Iterator[httpx.Client]:
    """A client with a console session for ``token`` (cookies kept by httpx)."""
    with httpx.Client(base_url=url, timeout=30, follow_redirects=False) as client:
        form = client.get("/console/sign-in")
        answer = client.post("/console/sign-in", data={"csrf": csrf_of(form.text), "token": token})
        assert answer.status_code == 303, answer.text
        yield client
