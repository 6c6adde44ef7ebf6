"""CardDAV requests under the shared retry policy, and what their failures mean.

Every request goes through :meth:`DavRequests.request` (a passing status or a lost connection
is tried again, after the server's ``Retry-After``); a whole call (a listing, a multiget)
through :meth:`DavRequests.call`, which turns any failure into the connectors' error kind
to act on (connectors/http.py): 401/403 refused credentials (the sync pauses), 429/5xx and
no answer transient, a broken answer fatal. One card's refused write becomes that card's
failure (:class:`RequestError`), unless the credentials were refused: every card's problem.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from connectors.carddav.dav import DavError, DavProtocolError
from connectors.carddav.options import CardDavOptions
from connectors.errors import AuthError, ConnectorError, TransientError
from connectors.http import retrying, status_error, transport_error

__all__ = ["DavRequests", "RequestError", "TokenExpired", "Unreachable"]

T = TypeVar("T")


class RequestError(Exception):
    """One request cannot be done; it becomes that request's FAILED result."""

    def __init__(self, message: str, *, retriable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retriable = retriable


class Unreachable(Exception):
    """The server cannot be reached; every request still to do fails the same way."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TokenExpired(ConnectorError):
    """The server no longer knows the sync token (RFC 6578 valid-sync-token)."""

    def __init__(self) -> None:
        super().__init__("the sync token expired")


class DavRequests:
    """The requests of one CardDAV connector (``name``), retried and classified."""

    def __init__(
        self, name: str, options: CardDavOptions, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.name = name
        self._opts = options
        self._sleep = sleep

    def call(self, url: str, action: Callable[[], T], *, attempts: int | None = None) -> T:
        """Run a whole-call request: every failure is a ConnectorError of the kind to act on."""
        try:
            return self.request(action, attempts=attempts)
        except Unreachable as exc:
            raise TransientError(f"connector {self.name}: {exc.message}") from None
        except DavError as exc:
            if 400 <= exc.status < 500 and "valid-sync-token" in exc.conditions:
                raise TokenExpired() from None
            raise self.status_error(
                exc, f"connector {self.name}: {url}: {self.describe(exc)}"
            ) from None
        except DavProtocolError as exc:
            raise ConnectorError(f"connector {self.name}: {url}: {exc}") from None

    def request(self, action: Callable[[], T], *, attempts: int | None = None) -> T:
        """``action`` under the retry policy: a passing status or a lost connection is tried
        again; after the last try an unreachable server is :class:`Unreachable` and an
        answer's status the :class:`DavError` it was, for the caller to word."""
        policy = retrying(self._opts.retry, sleep=self._sleep, attempts=attempts)
        try:
            for attempt in policy:
                with attempt:
                    try:
                        return action()
                    except httpx.HTTPError as exc:
                        raise self._transport_error(exc) from None
                    except DavError as exc:
                        error = self.status_error(exc, str(exc))
                        if isinstance(error, TransientError):
                            raise _Again(error, exc) from None
                        raise
        except _Again as again:
            raise again.dav from None
        except _Lost as lost:
            raise Unreachable(lost.message) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _transport_error(self, exc: httpx.HTTPError) -> Exception:
        kind = transport_error(exc, "CardDAV")
        if not isinstance(kind, TransientError):
            return ConnectorError(f"connector {self.name}: {kind}")
        if isinstance(exc, httpx.TimeoutException) and kind.sent:
            text = f"the CardDAV server did not answer within {self._opts.timeout_seconds:g}s"
        else:
            text = f"the CardDAV server cannot be reached ({type(exc).__name__})"
        return _Lost(text, sent=kind.sent)

    def status_error(self, exc: DavError, message: str) -> ConnectorError:
        """The shared reading of the status (connectors.http): 401/403 pause the sync."""
        if exc.status in (401, 403):
            message += "; fix username/password (or the account's rights), then resume the sync"
        return status_error(
            exc.status,
            message,
            headers={"Retry-After": exc.retry_after} if exc.retry_after else None,
        )

    def describe(self, exc: DavError) -> str:
        if exc.status == 401:
            return "the server refused the username or password (401)"
        if exc.status == 403:
            return f"access denied (403 {exc.detail})".replace(" )", ")")
        if exc.status == 404:
            return "no address book at this URL (404)"
        if 300 <= exc.status < 400:
            return f"the server redirects ({exc.status}); configure the final URL"
        return f"the server answered {exc.status} {exc.detail}".rstrip()

    def failure(self, exc: DavError, what: str) -> RequestError:
        """One card's refused request: its own failure, unless the credentials were refused
        (that is every card's failure: AuthError, and the engine pauses the sync)."""
        error = self.status_error(
            exc, f"connector {self.name}: {what} refused: {self.describe(exc)}"
        )
        if isinstance(error, AuthError):
            raise error
        return RequestError(f"{what} refused: {self.describe(exc)}", retriable=error.retriable)


class _Again(TransientError):
    """A passing status inside the retry policy; ``dav`` is the answer to report after."""

    def __init__(self, error: TransientError, dav: DavError) -> None:
        super().__init__(error.message, retry_after=error.retry_after, sent=error.sent)
        self.dav = dav


class _Lost(TransientError):
    """No answer (no connection, a timeout) inside the retry policy."""
