"""HTTP to HubSpot: pacing under the rate limit, retries, and status → error in one place.

Pacing is a sliding-window log, not a plain token bucket: HubSpot counts requests over a
*rolling* window (``TEN_SECONDLY_ROLLING``), and a bucket holding N tokens that refills at
N per window lets 2N requests into one window (a full bucket spent at once, then the
refill). Remembering the send times of the last N requests and waiting until the oldest
leaves the window never sends more than N in any window. A 429 still happens when another
client spends the same budget; it blocks all requests until ``Retry-After`` (or one window)
has passed, and ``X-HubSpot-RateLimit-Remaining: 0`` does the same before a 429 is earned.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from connectors.errors import AuthError, ConnectorError, TransientError
from connectors.http import retrying, status_error, transport_error

from ._options import HubSpotOptions, RateLimitOptions

__all__ = ["AuthError", "HubSpotClient", "HubSpotError", "SlidingWindow"]

#: HubSpot's own passing status beside the standard ones (423 locked, 429, 5xx): 477, a
#: portal being migrated; like 423 and 429 it says the request was not processed.
HUBSPOT_PASSING = frozenset({477})
#: HubSpot asks to wait at least 2 s on 423 Locked.
LOCKED_WAIT = 2.0
#: Bodies larger than this are refused before parsing (a proxy error page, a runaway answer).
MAX_RESPONSE_BYTES = 50 * 1024 * 1024


#: HubSpot's failures are the connectors' own kinds; ``status`` and ``body`` (the parsed
#: error body) let a caller map per-input errors, ``data["category"]`` names HubSpot's.
HubSpotError = ConnectorError


class SlidingWindow:
    """At most ``requests`` sends in any ``per_seconds`` window, on an injectable clock."""

    def __init__(
        self,
        limit: RateLimitOptions,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._requests = limit.requests
        self._window = limit.per_seconds
        # HubSpot counts on its own clock, when each request arrives: a little slack keeps
        # network jitter (and float rounding) from fitting N+1 requests into its window.
        self._slack = min(0.05, limit.per_seconds * 0.01)
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            while True:
                now = self._clock()
                span = self._window + self._slack
                while self._sent and self._sent[0] <= now - span:
                    self._sent.popleft()
                wait = self._blocked_until - now
                if len(self._sent) >= self._requests:
                    wait = max(wait, self._sent[0] + span - now)
                if wait <= 0:
                    self._sent.append(now)
                    return
                self._sleep(wait)

    def block(self, seconds: float) -> None:
        """Send nothing for ``seconds``: the server said the budget is spent."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    @property
    def window(self) -> float:
        return self._window


def _header_float(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _message(body: object) -> tuple[str, str | None]:
    """HubSpot's own words from an error body; every field is optional, per its docs."""
    if isinstance(body, dict):
        message = body.get("message")
        category = body.get("category") or body.get("errorType") or body.get("policyName")
        text = message if isinstance(message, str) else ""
        return text[:500], category if isinstance(category, str) else None
    return "", None


class HubSpotClient:
    """One HTTP client per connector; every call is paced, retried and classified here."""

    def __init__(
        self,
        options: HubSpotOptions,
        *,
        client: httpx.Client,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._options = options
        # The daemon's (HttpClients); closed by whoever made it.
        self._http = client
        self._auth = {"Authorization": f"Bearer {options.access_token.get_secret_value()}"}
        self._clock = clock
        self._sleep = sleep
        self._general = SlidingWindow(options.rate_limit, clock, sleep)
        self._search = SlidingWindow(options.search_rate_limit, clock, sleep)
        #: Requests sent and 429s received, for tests and the operator.
        self.sent = 0
        self.throttled = 0

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: object = None,
        params: Mapping[str, str | int] | None = None,
        search: bool = False,
        idempotent: bool = True,
        accept: frozenset[int] = frozenset(),
        attempts: int | None = None,
    ) -> tuple[int, Any]:
        """The status and parsed body of a 2xx answer (or one listed in ``accept``).

        ``attempts`` overrides ``retry.attempts`` (a connection check asks once).

        ``idempotent=False`` (a create) retries only what HubSpot certainly did not process
        (429, 423, 477, a refused connection): a timeout or 5xx after sending may have
        created records, and the caller's ``match`` lookup recovers those instead.
        """
        policy = retrying(
            self._options.retry, sleep=self._sleep, idempotent=idempotent, attempts=attempts
        )
        for attempt in policy:
            with attempt:
                return self._once(method, path, json_body, params, search, accept)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self,
        method: str,
        path: str,
        json_body: object,
        params: Mapping[str, str | int] | None,
        search: bool,
        accept: frozenset[int],
    ) -> tuple[int, Any]:
        (self._search if search else self._general).acquire()
        url = self._options.base_url + path
        self.sent += 1
        try:
            response = self._http.request(
                method,
                url,
                json=json_body,
                params=dict(params) if params else None,
                headers=self._auth,
                timeout=self._options.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            kind = transport_error(exc, f"{method} {path}")
            if not isinstance(kind, TransientError):
                raise kind from exc
            if isinstance(exc, httpx.TimeoutException) and kind.sent:
                text = (
                    f"HubSpot did not answer {method} {path} within "
                    f"{self._options.timeout_seconds:g} s"
                )
            else:
                text = f"HubSpot cannot be reached for {method} {path}: {type(exc).__name__}"
            raise TransientError(text, sent=kind.sent) from exc
        return self._classify(method, path, response, search, accept)

    def _classify(
        self,
        method: str,
        path: str,
        response: httpx.Response,
        search: bool,
        accept: frozenset[int],
    ) -> tuple[int, Any]:
        status = response.status_code
        window = self._search if search else self._general
        remaining = _header_float(response.headers, "X-HubSpot-RateLimit-Remaining")
        if remaining == 0 and status < 400:
            interval = _header_float(response.headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
            window.block(interval / 1000 if interval else window.window)
        if status == 204:
            return status, None
        if 200 <= status < 300 or status in accept:
            return status, self._parse(method, path, response)
        try:
            body = self._parse(method, path, response)
        except ConnectorError:
            body = None  # an error page that is not JSON still has a status worth reporting
        text, category = _message(body)
        where = f"HubSpot answered {status} to {method} {path}"
        detail = f"{where}: {text}" if text else where
        if category:
            detail += f" ({category})"
        if status in (401, 403):
            detail += (
                "; the access token is invalid or expired; create a new private app token"
                if status == 401
                else "; the private app lacks a scope this call needs; add it in the app settings"
            )
        error = status_error(
            status,
            detail,
            headers=response.headers,
            body=body,
            transient=HUBSPOT_PASSING,
            unprocessed=HUBSPOT_PASSING,
            category=category,
        )
        if isinstance(error, TransientError):
            if status == 429:
                self.throttled += 1
                if error.retry_after is None:
                    error.retry_after = window.window
                window.block(error.retry_after)
            elif status == 423:
                error.retry_after = max(error.retry_after or 0.0, LOCKED_WAIT)
        raise error

    def _parse(self, method: str, path: str, response: httpx.Response) -> Any:
        content = response.content
        if len(content) > MAX_RESPONSE_BYTES:
            raise ConnectorError(
                f"HubSpot's answer to {method} {path} is {len(content)} bytes, over the "
                f"{MAX_RESPONSE_BYTES} byte limit",
                status=response.status_code,
            )
        if not content:
            return None
        try:
            return json.loads(content)
        except (ValueError, RecursionError):
            # A truncated body is usually a dropped connection or a proxy page: try again.
            raise TransientError(
                f"HubSpot's answer to {method} {path} (status {response.status_code}) is not "
                "valid JSON; the response was cut off or came from a proxy",
                status=response.status_code,
            ) from None
