"""The HTTP spine every HTTP connector stands on: one reading of an answer, one retry policy,
one way to get a client.

- :func:`status_error` turns an HTTP answer that is not a success into the error kind the
  caller must act on (:mod:`connectors.errors`): 401/403 refused credentials (the sync
  pauses), 408/423/425/429/5xx transient (with the server's ``Retry-After``), 400/404/409/
  410/422 one record refused, anything else fatal for the call.
- :func:`transport_error` does the same for a failure before any answer: no connection
  (transient, certainly not sent), a timeout or a dropped connection (transient, maybe
  acted on), anything else (a bad URL, a protocol the client cannot speak) fatal.
- :func:`retrying` is the one retry policy (tenacity): it retries only a
  :class:`~connectors.errors.TransientError`, waits at least the server's ``Retry-After``
  with exponential backoff and full jitter otherwise, never resends a request that is not
  safe to repeat once it may have been acted on, and gives up on a ``Retry-After`` longer
  than the connector may wait (the engine runs the pass again later instead).
- :class:`HttpClients` makes and owns the ``httpx.Client`` of every HTTP connector. The
  daemon (or a CLI command) holds one and closes it at the end; a test hands it a transport
  (``httpx.MockTransport``, a respx router) to answer without a network.
"""

from __future__ import annotations

import email.utils
import threading
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import Field
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity import wait_random_exponential as _exponential

from connectors.base import Connector, ConnectorOptions, OptionsT
from connectors.errors import (
    AuthError,
    ConnectorError,
    QuotaExhaustedError,
    RecordRefusedError,
    TransientError,
)

__all__ = [
    "BACKOFF_UNIT",
    "MAX_RETRY_AFTER",
    "RECORD_STATUSES",
    "TRANSIENT_STATUSES",
    "UNPROCESSED_STATUSES",
    "ClientSettings",
    "HttpClients",
    "HttpConnector",
    "RetryOptions",
    "parse_retry_after",
    "retrying",
    "status_error",
    "transport_error",
]

#: Statuses worth the same request again later (and every 5xx).
TRANSIENT_STATUSES = frozenset({408, 423, 425, 429})
#: Transient statuses that say the request was not acted on: safe to send again, even a create.
UNPROCESSED_STATUSES = frozenset({408, 423, 425, 429})
#: Statuses that refuse the one record a call was about, not the call's credentials or shape.
RECORD_STATUSES = frozenset({400, 404, 409, 410, 412, 422})
#: A Retry-After beyond a day is taken as a day (a broken header must not stop us forever).
MAX_RETRY_AFTER = 86_400.0
#: Shortest backoff unit (seconds); tenacity multiplies it exponentially, with full jitter.
BACKOFF_UNIT = 0.5


class RetryOptions(ConnectorOptions):
    """How often a call failed for a passing reason (429, 5xx, timeout) is tried in all."""

    attempts: int = Field(5, ge=1, le=20)
    #: The longest wait between tries; a ``Retry-After`` beyond it ends the pass instead.
    max_wait_seconds: float = Field(30.0, ge=0, le=3600)


# -- reading answers ------------------------------------------------------------------------


def status_error(
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    body: object = None,
    transient: frozenset[int] = frozenset(),
    unprocessed: frozenset[int] = frozenset(),
    **data: Any,
) -> ConnectorError:
    """The error a non-success ``status`` means, worded by ``message``.

    ``transient`` and ``unprocessed`` add a system's own passing statuses (HubSpot's 477) to
    the standard ones; ``headers`` give the ``Retry-After`` a transient error carries.
    """
    if status in (401, 403):
        return AuthError(message, status=status, body=body, **data)
    if status in TRANSIENT_STATUSES or status in transient or status >= 500:
        raw = _header(headers, "Retry-After") if headers is not None else None
        return TransientError(
            message,
            status=status,
            body=body,
            retry_after=parse_retry_after(raw, now or datetime.now(UTC)),
            sent=not (status in UNPROCESSED_STATUSES or status in unprocessed),
            **data,
        )
    if status in RECORD_STATUSES:
        return RecordRefusedError(message, status=status, body=body, **data)
    return ConnectorError(message, status=status, body=body, **data)


def transport_error(exc: httpx.HTTPError, what: str, **data: Any) -> ConnectorError:
    """The error a failure without an answer means; ``what`` names the request ("GET /x")."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        # No connection, so nothing was sent: safe to send again whatever it is.
        return TransientError(f"{what}: {type(exc).__name__} (not connected)", sent=False, **data)
    if isinstance(exc, httpx.ProxyError):
        return TransientError(f"{what}: {type(exc).__name__} (proxy)", sent=False, **data)
    if isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
        return TransientError(
            f"{what}: {type(exc).__name__} (timeout or dropped connection)", sent=True, **data
        )
    return ConnectorError(f"{what} cannot be sent: {type(exc).__name__}", **data)


def parse_retry_after(raw: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


# -- retrying -------------------------------------------------------------------------------


def retrying(
    options: RetryOptions,
    *,
    sleep: Callable[[float], None],
    idempotent: bool = True,
    attempts: int | None = None,
) -> Retrying:
    """The retry policy: ``for attempt in retrying(...): with attempt: ...``.

    Retries a :class:`TransientError` only: never an answer that refuses credentials or a
    record, never a request that is not ``idempotent`` once it may have been acted on
    (``sent``), never a ``Retry-After`` longer than ``options.max_wait_seconds``. Gives up
    after ``attempts`` (default ``options.attempts``) and re-raises the last error.
    """

    def again(exc: BaseException) -> bool:
        if not isinstance(exc, TransientError) or isinstance(exc, QuotaExhaustedError):
            return False  # a spent quota waits for its window, not for a backoff
        if exc.retry_after is not None and exc.retry_after > options.max_wait_seconds:
            return False
        return idempotent or not exc.sent

    backoff = _exponential(multiplier=BACKOFF_UNIT, max=options.max_wait_seconds)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        pause = float(backoff(state))
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return max(pause, exc.retry_after)
        return pause

    return Retrying(
        stop=stop_after_attempt(attempts or options.attempts),
        wait=wait,
        retry=retry_if_exception(again),
        sleep=sleep,
        reraise=True,
    )


# -- clients --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientSettings:
    """What one connector's ``httpx.Client`` is built with (its connector declares them)."""

    timeout: float
    base_url: str = ""
    verify: bool = True
    auth: tuple[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class HttpClients:
    """The ``httpx.Client`` of every HTTP connector, made here and closed here.

    Redirects are never followed (credentials must not travel to another address, and a
    moved API is a configuration to fix). ``transport`` answers every request of every
    client instead of the network, for tests.
    """

    def __init__(self, *, transport: httpx.BaseTransport | None = None) -> None:
        self._transport = transport
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def client(self, settings: ClientSettings) -> httpx.Client:
        made = httpx.Client(
            base_url=settings.base_url,
            timeout=httpx.Timeout(settings.timeout),
            verify=settings.verify,
            auth=httpx.BasicAuth(*settings.auth) if settings.auth else None,
            headers=dict(settings.headers),
            follow_redirects=False,
            transport=self._transport,
        )
        with self._lock:
            self._clients.append(made)
        return made

    def release(self, client: httpx.Client) -> None:
        """Close one client early (its connector was replaced by a reload)."""
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
        client.close()

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for made in clients:
            made.close()


class HttpConnector(Connector[OptionsT]):
    """A connector that speaks HTTP: it takes its ``httpx.Client`` from ``http``.

    The client is built from :meth:`client_settings` by the daemon's :class:`HttpClients`
    (a connector built alone, by a script or a test, makes its own set) and given back on
    :meth:`close`, so one reload that replaces a connector closes exactly its client.
    """

    def __init__(
        self, name: str, options: ConnectorOptions, *, http: HttpClients | None = None
    ) -> None:
        super().__init__(name, options, http=http)
        self._own_clients = HttpClients() if http is None else None
        self._clients = http if http is not None else self._own_clients
        assert self._clients is not None
        self.http_client = self._clients.client(self.client_settings())

    @abstractmethod
    def client_settings(self) -> ClientSettings:
        """How this connector's client is built from ``self.options``: timeout, TLS, base
        URL, fixed headers (per-request credentials stay with the connector)."""

    def close(self) -> None:
        assert self._clients is not None
        self._clients.release(self.http_client)
        if self._own_clients is not None:
            self._own_clients.close()
