"""The store facade's part for API tokens: create, list, revoke and verify bearer secrets.

Only the SHA-256 of a secret is stored: the secret is shown once, when it is made, and a
copy of the database gives nobody a working token. 32 random bytes need no salt or slow
hash (nothing to brute-force), and looking a token up by its hash keeps verification one
indexed read. A token's name is never reused, even once revoked, because property history
names the token each API write came through.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.db import tables as t
from store.db.part import FacadePart
from store.db.tx import Tx
from store.errors import ApiTokenError, NotFoundError
from store.models import ChangeSource

__all__ = [
    "MAX_SECRET_LENGTH",
    "SCOPES",
    "SECRET_PREFIX",
    "ApiToken",
    "TokensPart",
]

SECRET_PREFIX = "syncd_"
SCOPES = ("read", "write")
# A real secret is 49 characters; anything much longer is not one, and is not hashed.
MAX_SECRET_LENGTH = 200
_MAX_NAME = 100
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]*")
# "syncd_" and six random characters: enough to tell tokens apart, useless to an attacker.
_SHOWN = len(SECRET_PREFIX) + 6
# Every API request runs this, before its route: one statement on a driver connection
# (``store.db.driver``), so a revocation committed before the request refuses it.
_TOKEN_COLUMNS = tuple(
    t.api_tokens.c[name] for name in ("name", "scopes", "prefix", "created_at", "revoked_at")
)
_LIVE_BY_HASH = (
    f"SELECT {', '.join(c.name for c in _TOKEN_COLUMNS)} FROM api_tokens "
    "WHERE token_hash = ? AND revoked_at IS NULL"
)


@dataclass(frozen=True)
class ApiToken:
    """A token as operators see it: never its secret, only the first characters of it."""

    name: str
    scopes: tuple[str, ...]
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _valid_name(name: object) -> bool:
    return isinstance(name, str) and 0 < len(name) <= _MAX_NAME and bool(_NAME.fullmatch(name))


def _check_name(name: object) -> str:
    if not _valid_name(name):
        raise ApiTokenError(
            f"token name {_shown(name)} is not valid: 1 to {_MAX_NAME} letters, digits or . _ @ : - "
            "starting with a letter or digit",
            field="name",
        )
    assert isinstance(name, str)
    return name


def _check_scopes(scopes: Sequence[str] | str) -> tuple[str, ...]:
    """The stored scope set: ``write`` brings ``read`` with it."""
    given = [scopes] if isinstance(scopes, str) else list(scopes)
    if not given:
        raise ApiTokenError(
            f"give a token at least one scope: {' or '.join(SCOPES)}", field="scopes"
        )
    unknown = [s for s in given if s not in SCOPES]
    if unknown:
        shown = ", ".join(repr(s)[:40] for s in unknown[:5])
        raise ApiTokenError(
            f"unknown token scope {shown}; the scopes are {' and '.join(SCOPES)} "
            "(write includes read)",
            field="scopes",
        )
    return ("read", "write") if "write" in given else ("read",)


def _token(row: Mapping[Any, Any]) -> ApiToken:
    return ApiToken(
        name=row["name"],
        scopes=tuple(str(row["scopes"]).split()),
        prefix=row["prefix"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def _row(conn: Connection, name: str) -> RowMapping | None:
    return conn.execute(select(t.api_tokens).where(t.api_tokens.c.name == name)).mappings().first()


def _insert(
    conn: Connection, name: str, scopes: tuple[str, ...], now: datetime
) -> tuple[ApiToken, str]:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    values: dict[str, Any] = {
        "name": name,
        "token_hash": _hash(secret),
        "prefix": secret[:_SHOWN],
        "scopes": " ".join(scopes),
        "created_at": now,
        "revoked_at": None,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # A concurrent create of the same name loses here, in the database, and is told so below.
    stmt = dialect.insert(t.api_tokens).on_conflict_do_nothing().returning(t.api_tokens.c.id)
    if conn.execute(stmt, values).first() is None:
        existing = _row(conn, name)
        if existing is None:  # pragma: no cover - two equal 256-bit secrets
            raise ApiTokenError("a token with the same secret exists; create it again")
        state = "a revoked token" if existing["revoked_at"] is not None else "a token"
        raise ApiTokenError(
            f"{state} named {name!r} already exists; names are never reused, because "
            "property history names the token each write came through: choose another name",
            field="name",
        )
    return _token(values), secret


class TokensPart(FacadePart):
    """Bearer tokens of the HTTP API; the guard middleware verifies them per request."""

    def create_api_token(self, name: str, scopes: Sequence[str]) -> tuple[ApiToken, str]:
        """A new token and its secret; the secret is not kept and cannot be shown again."""
        checked_name, checked_scopes = _check_name(name), _check_scopes(scopes)
        return self._write(
            ChangeSource.cli(),
            lambda tx: _insert(tx.connection, checked_name, checked_scopes, tx.now),
        )

    def list_api_tokens(self, include_revoked: bool = False) -> list[ApiToken]:
        """Tokens in the order they were made; revoked ones only when asked."""
        stmt = select(t.api_tokens).order_by(t.api_tokens.c.id)
        if not include_revoked:
            stmt = stmt.where(t.api_tokens.c.revoked_at.is_(None))
        return self._read(lambda conn: [_token(r) for r in conn.execute(stmt).mappings()])

    def revoke_api_token(self, name: str) -> ApiToken:
        """Refuse the token from now on; revoking a revoked token changes nothing."""

        def work(tx: Tx) -> ApiToken:
            conn = tx.connection
            conn.execute(
                update(t.api_tokens)
                .where(t.api_tokens.c.name == name, t.api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=tx.now)
            )
            row = _row(conn, name)
            if row is None:
                raise NotFoundError(
                    f"no API token named {name!r}; `syncd tokens list` shows them", token=name
                )
            return _token(row)

        # A name no token can have is not looked up (PostgreSQL refuses a NUL in a query).
        if not _valid_name(name):
            raise NotFoundError(f"no API token named {_shown(name)}", token=_shown(name))
        return self._write(ChangeSource.cli(), work)

    def api_token_session(self, name: str) -> tuple[ApiToken, bytes] | None:
        """The live token named ``name`` and a key to sign its browser sessions with.

        The key is derived from the token's stored hash: every daemon sharing the store
        checks a session the same way (no key to configure or share), a session never holds
        the secret itself, and revoking the token ends its sessions on their next request.
        None when no live token has that name.
        """
        if not _valid_name(name):
            return None
        stmt = select(t.api_tokens).where(
            t.api_tokens.c.name == name, t.api_tokens.c.revoked_at.is_(None)
        )
        row = self._read(lambda conn: conn.execute(stmt).mappings().first())
        if row is None:
            return None
        key = hmac.new(
            str(row["token_hash"]).encode("ascii"), b"syncd console session", hashlib.sha256
        ).digest()
        return _token(row), key

    def verify_api_token(self, secret: str) -> ApiToken | None:
        """The live token ``secret`` belongs to; None for anything else, whatever it is."""
        if (
            not isinstance(secret, str)
            or len(secret) > MAX_SECRET_LENGTH
            or not secret.startswith(SECRET_PREFIX)
        ):
            return None
        row = self._read_row(_LIVE_BY_HASH, (_hash(secret),), _TOKEN_COLUMNS)
        if row is None:
            return None
        return _token({c.name: value for c, value in zip(_TOKEN_COLUMNS, row, strict=True)})
