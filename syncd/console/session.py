"""Who is looking: a signed session cookie, or an ``Authorization: Bearer`` API token.

The cookie holds the token's name, an expiry and a random nonce, signed with HMAC-SHA256
under a key derived from the token's stored hash (``Store.api_token_session``): never the
secret itself. Every request looks the token up again, so revoking it ends its sessions at
once, in every daemon sharing the store, and its scopes are always the current ones. The
cookie is HttpOnly and SameSite=Strict; the nonce also keys the session's CSRF token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from store import MAX_SECRET_LENGTH, Store

__all__ = [
    "COOKIE",
    "MAX_COOKIE",
    "Viewer",
    "bearer_secret",
    "issue_session",
    "read_session",
    "viewer_from_token",
]

COOKIE = "syncd_console"
#: A cookie longer than this is not one of ours and is not parsed.
MAX_COOKIE = 400


@dataclass(frozen=True)
class Viewer:
    """The token a console request acts as; ``csrf`` is None for bearer callers (scripts),
    whose requests a browser cannot forge from another site."""

    name: str
    scopes: frozenset[str]
    via: str
    csrf: str | None = None

    @property
    def can_write(self) -> bool:
        return "write" in self.scopes


def _sign(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def _csrf(key: bytes, nonce: str) -> str:
    return _sign(key, b"csrf|" + nonce.encode("ascii"))[:40]


def issue_session(store: Store, name: str, hours: int, now: datetime) -> tuple[str, str] | None:
    """A cookie value for a session of token ``name`` lasting ``hours``, and its CSRF token;
    None when the token is not live."""
    found = store.api_token_session(name)
    if found is None:
        return None
    _token, key = found
    nonce = secrets.token_urlsafe(18)
    expires = int((now + timedelta(hours=hours)).timestamp())
    payload = f"{name}|{expires}|{nonce}".encode("ascii")
    value = base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")
    return f"{value}.{_sign(key, payload)}", _csrf(key, nonce)


def read_session(store: Store, cookie: str | None, now: datetime) -> Viewer | None:
    """The viewer a session cookie names, if it is ours, unexpired and its token live."""
    if not cookie or len(cookie) > MAX_COOKIE or cookie.count(".") != 1:
        return None
    value, signature = cookie.split(".")
    try:
        payload = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        name, expires, nonce = payload.decode("ascii").split("|")
        expiry = int(expires)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if expiry < now.timestamp():
        return None
    found = store.api_token_session(name)
    if found is None:
        return None
    token, key = found
    if not hmac.compare_digest(_sign(key, payload), signature):
        return None
    return Viewer(token.name, frozenset(token.scopes), "session", _csrf(key, nonce))


def bearer_secret(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme in any case)."""
    if len(header) > len("Bearer ") + MAX_SECRET_LENGTH:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not token.isascii() or " " in token:
        return None
    return token


def viewer_from_token(store: Store, secret: str) -> Viewer | None:
    """The viewer an API token's secret belongs to (sign-in form, bearer header)."""
    token = store.verify_api_token(secret)
    if token is None:
        return None
    return Viewer(token.name, frozenset(token.scopes), "bearer")
