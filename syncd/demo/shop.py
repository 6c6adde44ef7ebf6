"""The demo's "web shop": a SQLite file with ``customers`` and ``companies`` tables.

It stands in for any external system the way the ``sql`` connector sees one (an id column
and an ``updated_at`` column per table), so the demo needs no network and no account.
Timestamps are naive UTC, as a plain ``DATETIME`` column holds them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    select,
    update,
)

__all__ = ["SHOP_COMPANIES", "SHOP_CUSTOMERS", "Shop"]

#: (name, domain); Acme is in the CRM too, so the companies sync matches it by domain.
SHOP_COMPANIES: tuple[tuple[str, str], ...] = (
    ("Acme Corp", "acme.example"),
    ("Initech", "initech.example"),
    ("Hooli", "hooli.example"),
)
#: (email, first name, last name, phone as a shop clerk types it, stage, company domain).
#: Ann is in the CRM too: matched by email, she stays one contact.
SHOP_CUSTOMERS: tuple[tuple[str, str, str, str | None, str, str | None], ...] = (
    ("ann@acme.example", "Ann", "Lee", "030 1234567", "paying", "acme.example"),
    ("peter@initech.example", "Peter", "Gibbons", "040 555 0101", "paying", "initech.example"),
    ("joanna@initech.example", "Joanna", "Barnes", None, "trial", "initech.example"),
    ("milton@initech.example", "Milton", "Waddams", "0171 2223334", "churned", "initech.example"),
    ("gavin@hooli.example", "Gavin", "Belson", "089 4445556", "paying", "hooli.example"),
    ("monica@hooli.example", "Monica", "Hall", None, "trial", "hooli.example"),
    ("richard@piper.example", "Richard", "Hendricks", "0151 7778889", "prospect", None),
    ("jared@piper.example", "Jared", "Dunn", None, "prospect", None),
    ("erlich@aviato.example", "Erlich", "Bachman", "0160 9990001", "churned", None),
    ("dinesh@piper.example", "Dinesh", "Chugtai", None, "trial", None),
)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Shop:
    """The shop database: created and seeded by the demo, edited by it while the daemon runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.engine: Engine = create_engine(self.url)
        meta = MetaData()
        self.companies = Table(
            "companies",
            meta,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("name", String(200)),
            Column("domain", String(200), unique=True),
            Column("updated_at", DateTime, nullable=False),
        )
        self.customers = Table(
            "customers",
            meta,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("email", String(200), unique=True),
            Column("first_name", String(100)),
            Column("last_name", String(100)),
            Column("phone", String(40)),
            Column("stage", String(20)),
            Column("company_id", String(20)),
            Column("updated_at", DateTime, nullable=False),
        )
        self._meta = meta

    def seed(self) -> None:
        """Create both tables and fill them; the file is new (the demo removed the old one)."""
        self._meta.create_all(self.engine)
        stamp = now()
        with self.engine.begin() as conn:
            ids: dict[str, int] = {}
            for name, web in SHOP_COMPANIES:
                result = conn.execute(
                    insert(self.companies).values(name=name, domain=web, updated_at=stamp)
                )
                key = result.inserted_primary_key
                assert key is not None
                ids[web] = int(key[0])
            for email, first, last, phone, stage, domain in SHOP_CUSTOMERS:
                conn.execute(
                    insert(self.customers).values(
                        email=email,
                        first_name=first,
                        last_name=last,
                        phone=phone,
                        stage=stage,
                        company_id=str(ids[domain]) if domain else None,
                        updated_at=stamp,
                    )
                )

    def edit_customer(
        self, email: str, values: dict[str, Any], *, at: datetime | None = None
    ) -> None:
        """What a shop clerk does: change a row and bump its ``updated_at``."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(self.customers)
                .where(self.customers.c.email == email)
                .values(updated_at=at or now(), **values)
            )
            if done.rowcount != 1:
                raise LookupError(f"the demo shop has no customer {email}")

    def customer(self, email: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(self.customers).where(self.customers.c.email == email)
            ).first()
        return dict(row._mapping) if row is not None else None

    def customers_rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(self.customers).order_by(self.customers.c.id))
            return [dict(r._mapping) for r in rows]

    def company_domains(self) -> list[str]:
        with self.engine.connect() as conn:
            return [str(d) for d in conn.execute(select(self.companies.c.domain)).scalars()]

    def close(self) -> None:
        self.engine.dispose()
