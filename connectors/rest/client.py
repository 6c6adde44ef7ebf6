"""One HTTP call, done properly: paced, authenticated, retried, bounded, classified.

Every request the connector makes goes through :meth:`HttpClient.call`, so the daily quota,
the token bucket, a 429's ``Retry-After`` and the retry policy hold for all of them:

- 408, 425, 429, 5xx, timeouts and dropped connections are retried (exponential backoff
  with full jitter via tenacity, ``retry.attempts`` in all); a ``Retry-After`` (seconds or
  an HTTP date) holds back *every* next request of this connector, not just the retry.
- A request that is not safe to repeat (``idempotent=False``: a create the API does not
  dedupe by its ``Idempotency-Key``) is retried only when the API certainly did not act on
  it (a refused connection, 408, 425, 429). After a timeout once sent, a dropped connection
  or a 5xx it raises :class:`AnswerLostError`: the caller looks before sending it again.
- 401 is answered by refreshing an OAuth2 token and trying once more; a 401/403 that is
  left raises :class:`AuthError` (the engine pauses the sync).
- Other 4xx answers are returned: the caller knows whether a 404 means "gone" or a 422 is
  one record's failure.
- Bodies are read up to ``max_response_bytes``; a larger one is refused, not buffered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from connectors.errors import (
    AnswerLostError,
    AuthError,
    ConnectorError,
    QuotaExhaustedError,
    TransientError,
)
from connectors.http import retrying, status_error, transport_error
from connectors.rest.auth import Credentials, make_credentials
from connectors.rest.options import RestOptions
from connectors.rest.ratelimit import DailyQuota, NotBefore, TokenBucket

__all__ = ["Answer", "HttpClient", "api_message"]


@dataclass(frozen=True)
class Answer:
    """A read HTTP answer: status, headers and the whole (bounded) body."""

    status: int
    headers: httpx.Headers
    body: bytes
    what: str  # "GET /customers", for messages; never the query (it may hold a key)
    url: str = ""  # the full URL asked, to resolve relative links against

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self, connector: str) -> Any:
        """The body as JSON; a broken body is a TransientError (nothing is used)."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            raise TransientError(
                f"connector {connector}: {self.what} answered {self.status} with a body that "
                f"is not complete JSON ({len(self.body)} bytes); nothing was read from it",
            ) from None


class HttpClient:
    def __init__(
        self,
        name: str,
        options: RestOptions,
        *,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        now: Callable[[], datetime],
        http: httpx.Client,
    ) -> None:
        self._name = name
        self._options = options
        self._sleep = sleep
        self._clock = clock
        self._now = now
        # Built by the daemon's HttpClients from RestConnector.client_settings (base_url,
        # timeout, Accept and the configured headers); closed by whoever made it.
        self._http = http
        base = urlsplit(options.base_url)
        self._origin = (base.scheme, base.netloc.lower())
        self._credentials: Credentials = make_credentials(
            options.auth, connector=name, post_form=self._post_form, clock=clock
        )
        self._gate = NotBefore(clock=clock, sleep=sleep)
        self._bucket = (
            TokenBucket(
                options.rate_limit.requests,
                options.rate_limit.per_seconds,
                clock=clock,
                sleep=sleep,
            )
            if options.rate_limit
            else None
        )
        self.quota = (
            DailyQuota(
                options.daily_quota.calls,
                options.daily_quota.reset_utc_hour,
                now=now,
                connector=name,
            )
            if options.daily_quota
            else None
        )

    # -- the one way to call ------------------------------------------------------------

    def call(
        self,
        method: str,
        target: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        attempts: int | None = None,
    ) -> Answer:
        """Send until an answer that is not transient, or raise a typed ConnectorError.

        ``idempotent=False`` marks a request the API may not recognise when sent twice (a
        create): it is sent again only after failures that prove it was not acted on, and
        any other transient failure raises :class:`AnswerLostError` at once. ``attempts``
        overrides ``retry.attempts`` (a connection check asks once: an operator waiting for
        ``syncd check --connect`` wants the reason, not the back-off).
        """
        what = f"{method} {urlsplit(target).path or target}"
        tries = attempts or self._options.retry.attempts
        policy = retrying(
            self._options.retry, sleep=self._sleep, idempotent=idempotent, attempts=tries
        )
        try:
            for attempt in policy:
                with attempt:
                    return self._with_auth(method, target, what, params, body, headers)
        except QuotaExhaustedError:
            raise
        except TransientError as exc:
            if (
                exc.retry_after is not None
                and exc.retry_after > self._options.retry.max_wait_seconds
            ):
                raise self._too_long(exc.retry_after) from None
            if not idempotent and exc.sent:
                raise AnswerLostError(
                    f"connector {self._name}: {what}: the answer was lost ({exc.message}); "
                    "the API may have acted on it",
                    cause=exc.message,
                    status=exc.status,
                ) from None
            made = policy.statistics.get("attempt_number", tries)
            raise TransientError(
                f"connector {self._name}: {what} failed {made} times; last: {exc.message}",
                status=exc.status,
                sent=exc.sent,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _too_long(self, seconds: float) -> TransientError:
        return TransientError(
            f"connector {self._name}: the API asked us to wait {seconds:.0f} s "
            "(Retry-After), longer than retry.max_wait_seconds",
            retry_after=seconds,
        )

    def _with_auth(
        self,
        method: str,
        target: str,
        what: str,
        params: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        answer = self._once(method, target, what, params, body, headers)
        if answer.status == 401 and self._credentials.refreshable:
            # The token may have been revoked or expired early: one fresh token, once.
            self._credentials.invalidate()
            answer = self._once(method, target, what, params, body, headers)
        if answer.status in (401, 403):
            hint = (
                "the token was refreshed and is still refused; check the client's grants"
                if self._credentials.refreshable
                else "check the credentials in auth:"
            )
            error = status_error(
                answer.status,
                f"connector {self._name}: {what} answered {answer.status}"
                f"{self._reason(answer)}; {hint}",
                connector=self._name,
            )
            assert isinstance(error, AuthError)
            raise error
        return answer

    def _once(
        self,
        method: str,
        target: str,
        what: str,
        params: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        self._check_origin(target)
        left = self._gate.left()
        if left > self._options.retry.max_wait_seconds:
            raise self._too_long(left)
        self._gate.wait()
        if self._bucket is not None:
            self._bucket.acquire()
        if self.quota is not None:
            self.quota.take(1)
        all_headers = dict(headers or {})
        all_params = dict(params or {})
        # A token endpoint that hiccups raises a TransientError that was never sent.
        self._credentials.apply(all_headers, all_params)
        try:
            request = self._http.build_request(
                method,
                target,
                params=all_params or None,
                json=body,
                headers=all_headers,
            )
            response = self._http.send(request, stream=True)
            try:
                raw = self._read(response, what)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            error = transport_error(exc, what)
            if not error.retriable:
                error = ConnectorError(f"connector {self._name}: {error}")
            raise error from None
        answer = Answer(response.status_code, response.headers, raw, what, str(request.url))
        if 300 <= answer.status < 400 or answer.status in (401, 403) or answer.ok:
            pass
        else:
            error = status_error(
                answer.status,
                f"{what} answered {answer.status}{self._reason(answer)}",
                headers=answer.headers,
                now=self._now(),
            )
            if isinstance(error, TransientError):
                if error.retry_after is not None:
                    self._gate.push(error.retry_after)
                raise error
        if 300 <= answer.status < 400:
            raise ConnectorError(
                f"connector {self._name}: {what} was redirected ({answer.status}); set "
                "base_url to the address the API really answers on"
            )
        return answer

    def _read(self, response: httpx.Response, what: str) -> bytes:
        limit = self._options.max_response_bytes
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise self._too_big(what)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise self._too_big(what)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_big(self, what: str) -> ConnectorError:
        return ConnectorError(
            f"connector {self._name}: {what} answered with more than "
            f"{self._options.max_response_bytes} bytes (max_response_bytes); refused"
        )

    def _check_origin(self, target: str) -> None:
        """Only ever send our credentials to the configured API (a hostile ``Link``)."""
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            if (parts.scheme, parts.netloc.lower()) != self._origin:
                raise ConnectorError(
                    f"connector {self._name}: the API pointed to another site "
                    f"({parts.scheme}://{parts.netloc}); refused to send credentials there"
                )

    def _post_form(self, url: str, form: dict[str, str]) -> httpx.Response:
        # Through the same client for its timeout; the token endpoint is not paced.
        return self._http.post(url, data=form, headers={"Accept": "application/json"})

    def _reason(self, answer: Answer) -> str:
        message = api_message(answer.body)
        return f": {self.scrub(message)}" if message else ""

    def scrub(self, text: str) -> str:
        for secret in self._credentials.secrets():
            if secret:
                text = text.replace(secret, "***")
        return text


def api_message(body: bytes) -> str | None:
    """The API's own short error message from a JSON error body, never the whole body."""
    if not body or len(body) > 100_000:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    found = _find_message(data, depth=0)
    if found is None:
        return None
    text = " ".join(found.split())
    return text if len(text) <= 200 else text[:197] + "..."


def _find_message(data: Any, depth: int) -> str | None:
    if depth > 3:
        return None
    if isinstance(data, str):
        return data or None
    if isinstance(data, list) and data:
        return _find_message(data[0], depth + 1)
    if isinstance(data, dict):
        for key in ("message", "error_description", "detail", "title", "error", "errors"):
            if key in data:
                found = _find_message(data[key], depth + 1)
                if found:
                    return found
    return None
