"""One peer per registered connector type: its real system, played by "another user".

A peer builds connectors of its type on its system (with good or refused credentials), and
changes the system directly, as a second application would: adds, edits and deletes records,
reads what the system holds. Every peer speaks the same two logical fields, ``email`` (unique
in the system) and ``name``, mapped to its own field names, so one contract case runs on all.

Adding a connector type: write a peer class here and name its factory in
``tests/contract/conftest.py``'s ``PEER_FACTORIES``; the suite fails until you do.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.mysql import DATETIME as MYSQL_DATETIME
from sqlalchemy.dialects.mysql import VARCHAR as MYSQL_VARCHAR
from sqlalchemy.engine import make_url

from connectors.base import Connector
from connectors.memory import forget_systems, system
from connectors.registry import connector_class
from store import ChangeSource, SourceType, Store
from tests.connectors.carddav.conftest import PASSWORD, USER, Radicale
from tests.connectors.rest.server import TOKEN, Server

__all__ = [
    "CardDavPeer",
    "ContractPeer",
    "HubSpotPeer",
    "MemoryPeer",
    "RestPeer",
    "SqlPeer",
]

#: Seconds every peer's connector reads back when a run resumes.
LOOKBACK = 30.0


class ContractPeer:
    """What every peer offers the contract cases (subclasses fill it in)."""

    type_name: ClassVar[str]
    #: The external object the connector is configured for.
    external_object: ClassVar[str] = "customers"
    #: The system's field names for the logical ``email`` and ``name``.
    email: ClassVar[str] = "email"
    name: ClassVar[str] = "name"
    #: Whether records carry a version and writes are conditional on the one last read.
    versions: ClassVar[bool] = False
    #: Whether the system can hold a record whose timestamp is older than now (a late
    #: commit), so the lookback window can be proven; None or the reason it cannot.
    no_backdating: ClassVar[str | None] = None
    #: Whether a create whose answer is lost can be provoked in the system itself; None or
    #: the reason it cannot (the case then loses the answer between system and engine).
    no_lost_answers: ClassVar[str | None] = None
    #: None, or why the system has no credentials to refuse.
    no_credentials: str | None = None

    def options(self, *, refused: bool = False) -> dict[str, Any]:
        """The connector's options as YAML gives them; ``refused``: a wrong credential."""
        raise NotImplementedError

    def connector(self, *, refused: bool = False) -> Connector:
        """A fresh connector on this peer's system, built as the daemon builds one."""
        cls = connector_class(self.type_name)
        return cls("contract", cls.options_model.model_validate(self.options(refused=refused)))

    def add(self, email: str, name: str, *, updated_at: datetime | None = None) -> str:
        """A record made outside syncd; its id."""
        raise NotImplementedError

    def edit(self, external_id: str, name: str) -> None:
        """Change a record's name outside syncd."""
        raise NotImplementedError

    def remove(self, external_id: str) -> None:
        raise NotImplementedError

    def held(self) -> dict[str, tuple[Any, Any]]:
        """Every live record in the system: id -> (email, name)."""
        raise NotImplementedError

    def missing_id(self) -> str:
        """An id no record has or will have."""
        return "987654321"

    def lose_next_create_answer(self) -> None:
        """Make the system's next create happen but its answer not arrive."""
        raise NotImplementedError(self.no_lost_answers)

    def lost_answers_left(self) -> int:
        """Answers the system was told to lose and has not lost yet."""
        raise NotImplementedError(self.no_lost_answers)

    def close(self) -> None:
        """Release what this test's peer holds (session systems stay)."""

    def fields(self, email: str | None, name: str | None) -> dict[str, Any]:
        """A write's fields in the system's own names."""
        out: dict[str, Any] = {}
        if email is not None:
            out[self.email] = email
        if name is not None:
            out[self.name] = name
        return out


# -- memory -------------------------------------------------------------------------------


class MemoryPeer(ContractPeer):
    type_name = "memory"
    versions = True

    def __init__(self, *, idempotency_keys: bool = True) -> None:
        #: False: a system without idempotency keys, where a lost answer is found only by
        #: its match value (else reported as maybe made).
        self.idempotency_keys = idempotency_keys
        self.system_name = f"contract-{uuid.uuid4().hex[:8]}"
        self.system = system(self.system_name)
        self.system.define(self.external_object, unique=["email"], fields=["email", "name"])
        self.system.token = "good-token"

    def options(self, *, refused: bool = False) -> dict[str, Any]:
        return {
            "system": self.system_name,
            "token": "wrong-token" if refused else "good-token",
            "idempotency_keys": self.idempotency_keys,
            "objects": {
                self.external_object: {
                    "fields": ["email", "name"],
                    "unique": ["email"],
                    "lookback_seconds": LOOKBACK,
                }
            },
        }

    def add(self, email: str, name: str, *, updated_at: datetime | None = None) -> str:
        values = {"email": email, "name": name}
        return self.system.add(self.external_object, values, updated_at=updated_at).id

    def edit(self, external_id: str, name: str) -> None:
        self.system.edit(self.external_object, external_id, {"name": name})

    def remove(self, external_id: str) -> None:
        self.system.remove(self.external_object, external_id)

    def held(self) -> dict[str, tuple[Any, Any]]:
        return {
            r.id: (r.fields.get("email"), r.fields.get("name"))
            for r in self.system.records(self.external_object)
        }

    def lose_next_create_answer(self) -> None:
        self.system.lose_create_answers(1)

    def lost_answers_left(self) -> int:
        return self.system.lost_create_answers

    def close(self) -> None:
        forget_systems(self.system_name)


# -- sql ----------------------------------------------------------------------------------

_EMAIL = String(200).with_variant(MYSQL_VARCHAR(200, collation="utf8mb4_bin"), "mysql")
_STAMP = DateTime(timezone=False).with_variant(MYSQL_DATETIME(fsp=6), "mysql")


def _naive_utc(moment: datetime | None) -> datetime:
    return (moment or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)


class SqlTable:
    """One customers table for the session on one database; emptied for each test."""

    def __init__(self, backend: str, url: str, engine: Engine) -> None:
        self.backend, self.url, self.engine = backend, url, engine
        self.metadata = MetaData()
        self.table = Table(
            f"contract_{uuid.uuid4().hex[:10]}",
            self.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("email", _EMAIL, unique=True),
            Column("name", String(100)),
            Column("updated_at", _STAMP, nullable=False),
            sqlite_autoincrement=True,
        )
        self.metadata.create_all(engine)

    def empty(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(self.table))

    def drop(self) -> None:
        self.metadata.drop_all(self.engine)
        self.engine.dispose()


class SqlPeer(ContractPeer):
    type_name = "sql"
    no_lost_answers = "a database has no answer to lose short of a crash"

    def __init__(self, table: SqlTable) -> None:
        self.db = table
        self.table = table.table
        if table.backend == "sqlite":
            self.no_credentials = "an SQLite file has no credentials to refuse"

    def options(self, *, refused: bool = False) -> dict[str, Any]:
        url = self.db.url
        if refused:
            url = _refused_sql_url(url)
        return {
            "url": url,
            "objects": {
                self.external_object: {
                    "table": self.table.name,
                    "columns": ["email", "name"],
                    "lookback_seconds": LOOKBACK,
                }
            },
        }

    def add(self, email: str, name: str, *, updated_at: datetime | None = None) -> str:
        values = {"email": email, "name": name, "updated_at": _naive_utc(updated_at)}
        with self.db.engine.begin() as conn:
            key = conn.execute(insert(self.table).values(**values)).inserted_primary_key
        assert key is not None
        return str(key[0])

    def edit(self, external_id: str, name: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(
                update(self.table)
                .where(self.table.c.id == int(external_id))
                .values(name=name, updated_at=_naive_utc(None))
            )

    def remove(self, external_id: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.id == int(external_id)))

    def held(self) -> dict[str, tuple[Any, Any]]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(self.table).order_by(self.table.c.id)).mappings().all()
        return {str(r["id"]): (r["email"], r["name"]) for r in rows}


def _refused_sql_url(url: str) -> str:
    """The URL with a user the server does not know."""
    parsed = make_url(url).set(username="syncd_contract_nobody", password="wrong")
    return parsed.render_as_string(hide_password=False)


# -- rest ---------------------------------------------------------------------------------


class RestPeer(ContractPeer):
    type_name = "rest"
    name = "first_name"

    def __init__(self, server: Server) -> None:
        server.reset()
        self.server = server

    def options(self, *, refused: bool = False) -> dict[str, Any]:
        return {
            "base_url": self.server.url,
            "auth": {"type": "bearer", "token": "wrong-token" if refused else TOKEN},
            "retry": {"attempts": 2, "max_wait_seconds": 0.1},
            "objects": {
                self.external_object: {
                    "path": "/api/cursor/customers",
                    "records_path": "data",
                    "paging": {
                        "type": "cursor",
                        "param": "cursor",
                        "next_path": "meta.next",
                        "limit_param": "limit",
                    },
                    "updated_since_param": "updated_since",
                    "create": {"method": "POST", "path": "/api/customers"},
                    "update": {"method": "PATCH", "path": "/api/customers/{id}"},
                    "delete": {"method": "DELETE", "path": "/api/customers/{id}"},
                    "find_param": "email",
                    "lookback_seconds": LOOKBACK,
                }
            },
        }

    def add(self, email: str, name: str, *, updated_at: datetime | None = None) -> str:
        stamp = updated_at.isoformat().replace("+00:00", "Z") if updated_at else None
        extra = {"updated_at": stamp} if stamp else {}
        return str(self.server.state.add(email=email, first_name=name, **extra)["id"])

    def edit(self, external_id: str, name: str) -> None:
        self.server.state.edit(external_id, first_name=name)

    def remove(self, external_id: str) -> None:
        with self.server.state.lock:
            del self.server.state.customers[external_id]

    def held(self) -> dict[str, tuple[Any, Any]]:
        with self.server.state.lock:
            return {
                k: (c["email"], c["first_name"]) for k, c in self.server.state.customers.items()
            }

    def lose_next_create_answer(self) -> None:
        self.server.state.create_fault = "drop"
        self.server.state.create_faults = 1

    def lost_answers_left(self) -> int:
        return self.server.state.create_faults


# -- carddav ------------------------------------------------------------------------------


def _vcard(uid: str, email: str, name: str) -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{name}", f"N:;{name};;;"]
    lines += [f"EMAIL;TYPE=INTERNET:{email}", "END:VCARD"]
    return "\r\n".join(lines) + "\r\n"


class CardDavPeer(ContractPeer):
    type_name = "carddav"
    external_object = "contacts"
    name = "given_name"
    versions = True
    no_backdating = "changes are listed by sync token or ETag, not by time: nothing to look back"
    no_lost_answers = "Radicale cannot be made to drop an answer"

    def __init__(self, radicale: Radicale) -> None:
        self.radicale = radicale
        self.book = radicale.new_book()

    def options(self, *, refused: bool = False) -> dict[str, Any]:
        return {
            "url": self.book,
            "username": USER,
            "password": "wrong-password" if refused else PASSWORD,
            "timeout_seconds": 10,
            "objects": {self.external_object: {}},
        }

    def add(self, email: str, name: str, *, updated_at: datetime | None = None) -> str:
        assert updated_at is None, self.no_backdating
        uid = uuid.uuid4().hex[:12]
        url = f"{self.book}{uid}.vcf"
        self.radicale.put(url, _vcard(uid, email, name))
        return url.removeprefix(self.radicale.base)

    def edit(self, external_id: str, name: str) -> None:
        url = self.radicale.base + external_id
        text, etag = self.radicale.get(url)
        lines = []
        for line in text.replace("\r\n ", "").splitlines():
            key = line.partition(":")[0].split(";")[0].upper()
            lines.append(f"N:;{name};;;" if key == "N" else f"FN:{name}" if key == "FN" else line)
        self.radicale.put(url, "\r\n".join(lines) + "\r\n", etag)

    def remove(self, external_id: str) -> None:
        self.radicale.delete(self.radicale.base + external_id)

    def held(self) -> dict[str, tuple[Any, Any]]:
        out: dict[str, tuple[Any, Any]] = {}
        for href in self.radicale.hrefs(self.book):
            text, _ = self.radicale.get(self.radicale.base + href)
            email = name = None
            for line in text.replace("\r\n ", "").splitlines():
                key, _, value = line.partition(":")
                key = key.split(";")[0].upper()
                if key == "EMAIL" and email is None:
                    email = value
                elif key == "N":
                    name = ([*value.split(";"), ""])[1] or None
            out[href] = (email, name)
        return out

    def missing_id(self) -> str:
        return self.book.removeprefix(self.radicale.base) + "no-such-card.vcf"


# -- hubspot ------------------------------------------------------------------------------

REMOTE_UI = ChangeSource(SourceType.CRM_UI, "contract-remote-user")


class HubSpotPeer(ContractPeer):
    type_name = "hubspot"
    external_object = "contacts"
    name = "firstname"
    no_backdating = "the store stamps every change with the time it is made"
    no_lost_answers = "syncd's API cannot be made to drop an answer"

    def __init__(self, remote: Store, url: str, token: str) -> None:
        self.remote, self.url, self.token = remote, url, token
        ids = self._ids(archived=False) + self._ids(archived=True)
        if ids:
            remote.sync_write("contract-reset", lambda tx: tx.purge_records("contacts", ids))

    def _ids(self, *, archived: bool) -> list[int]:
        return [r.id for r in self.remote.list_records("contacts", limit=10_000, archived=archived)]

    def options(self, *, refused: bool = False) -> dict[str, Any]:
        return {
            "access_token": "wrong-token" if refused else self.token,
            "base_url": self.url,
            "objects": {
                self.external_object: {
                    "object_type": "contacts",
                    "properties": ["email", "firstname"],
                    "id_property": "email",
                    "lookback_seconds": LOOKBACK,
                }
            },
        }

    def add(self, email: str, name: str, *, updated_at: datetime | None = None) -> str:
        assert updated_at is None, self.no_backdating
        values = {"email": email, "firstname": name}
        return str(self.remote.create_record("contacts", values, REMOTE_UI).id)

    def edit(self, external_id: str, name: str) -> None:
        self.remote.update_record("contacts", int(external_id), {"firstname": name}, REMOTE_UI)

    def remove(self, external_id: str) -> None:
        self.remote.archive_records("contacts", [int(external_id)], REMOTE_UI)

    def held(self) -> dict[str, tuple[Any, Any]]:
        return {
            str(r.id): (r.properties.get("email"), r.properties.get("firstname"))
            for r in self.remote.list_records("contacts", limit=10_000)
        }
