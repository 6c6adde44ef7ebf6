"""Credentials on each request; OAuth2 client-credentials tokens cached and refreshed.

A token is refreshed a little before ``expires_in`` runs out (so a long page never starts
with a token about to die) and once more when the API answers 401 anyway (revoked early,
clock skew). Token values and the client secret never leave this module except in the
header they are meant for.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable

import httpx

from connectors.errors import AuthError, TransientError
from connectors.http import status_error, transport_error
from connectors.rest.options import ApiKeyAuth, Auth, BasicAuth, BearerAuth, OAuth2Auth

__all__ = ["Credentials", "make_credentials"]

#: Refresh this long before the token's end (or a tenth of its life, if shorter).
REFRESH_MARGIN = 60.0
#: Lifetime assumed when the token endpoint names none.
DEFAULT_LIFETIME = 3600.0
#: A token answer larger than this is not a token answer.
MAX_TOKEN_BODY = 65_536

PostForm = Callable[[str, dict[str, str]], httpx.Response]


class Credentials:
    """Adds credentials to a request; the base class adds none."""

    refreshable = False

    def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        return None

    def invalidate(self) -> None:
        return None

    def secrets(self) -> list[str]:
        """Values to scrub from any text we show (a server may echo what it was sent)."""
        return []


class _Static(Credentials):
    def __init__(self, headers: dict[str, str], params: dict[str, str], secrets: list[str]) -> None:
        self._headers = headers
        self._params = params
        self._secrets = [s for s in secrets if s]

    def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        headers.update(self._headers)
        params.update(self._params)

    def secrets(self) -> list[str]:
        return self._secrets


class OAuth2Credentials(Credentials):
    refreshable = True

    def __init__(
        self,
        options: OAuth2Auth,
        *,
        connector: str,
        post_form: PostForm,
        clock: Callable[[], float],
    ) -> None:
        self._options = options
        self._connector = connector
        self._post_form = post_form
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()

    def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        headers["Authorization"] = f"Bearer {self._current()}"

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def secrets(self) -> list[str]:
        token = self._token
        return [self._options.client_secret.get_secret_value(), *([token] if token else [])]

    def _current(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._token, lifetime = self._fetch()
                margin = min(REFRESH_MARGIN, lifetime / 10)
                self._refresh_at = self._clock() + lifetime - margin
            return self._token

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._options.client_id,
            "client_secret": self._options.client_secret.get_secret_value(),
        }
        if self._options.scope:
            form["scope"] = self._options.scope
        where = f"connector {self._connector}: OAuth2 token endpoint"
        try:
            response = self._post_form(self._options.token_url, form)
        except httpx.HTTPError as exc:
            error = transport_error(exc, where)
            if not error.retriable:
                raise error from None
            # The request this token was for is not sent yet, whatever became of this one.
            raise TransientError(
                f"{where} unreachable ({type(exc).__name__})", sent=False
            ) from None
        refused = None
        if response.status_code >= 400:
            refused = status_error(response.status_code, f"{where} answered {response.status_code}")
        if isinstance(refused, TransientError):
            refused.sent = False  # the request this token was for is not sent yet
            raise refused
        body = response.content[:MAX_TOKEN_BODY] if len(response.content) <= MAX_TOKEN_BODY else b""
        try:
            data = json.loads(body) if body else None
        except (ValueError, RecursionError):
            data = None
        if refused is not None:
            # OAuth2 answers refused client credentials with 400 or 401 alike (RFC 6749 5.2).
            reason = ""
            if isinstance(data, dict) and isinstance(data.get("error"), str):
                reason = f": {data['error'][:100]}"
            raise AuthError(
                f"{where} refused the client credentials ({response.status_code}{reason}); "
                "check client_id and client_secret",
                connector=self._connector,
            )
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise TransientError(f"{where} answered without an access_token", sent=False)
        assert isinstance(data, dict)
        raw_life = data.get("expires_in", DEFAULT_LIFETIME)
        try:
            lifetime = float(raw_life)
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        if not 0 < lifetime < 10**9:
            lifetime = DEFAULT_LIFETIME
        return token, lifetime


def make_credentials(
    auth: Auth | None, *, connector: str, post_form: PostForm, clock: Callable[[], float]
) -> Credentials:
    if auth is None:
        return Credentials()
    if isinstance(auth, BearerAuth):
        token = auth.token.get_secret_value()
        return _Static({"Authorization": f"Bearer {token}"}, {}, [token])
    if isinstance(auth, BasicAuth):
        password = auth.password.get_secret_value()
        raw = base64.b64encode(f"{auth.username}:{password}".encode()).decode()
        return _Static({"Authorization": f"Basic {raw}"}, {}, [password, raw])
    if isinstance(auth, ApiKeyAuth):
        value = auth.value.get_secret_value()
        if auth.in_ == "header":
            return _Static({auth.name: value}, {}, [value])
        return _Static({}, {auth.name: value}, [value])
    return OAuth2Credentials(auth, connector=connector, post_form=post_form, clock=clock)
