"""The API's gate: every request under the API's paths passes here before any route runs.

In order: a NUL in the path or query (400), a declared body over the limit (413), the bearer
token (401), the token's rate limit (429), its scope (403), then the body itself is read
here, up to the limit (413 past it), and replayed to the route. A refused request reaches
no route, so it reads and writes nothing; and a route never sees half a body. Every answer
under the API's paths carries HubSpot's ``X-HubSpot-RateLimit-*`` headers.

The scope comes from the route the request will reach, matched as the router matches it (the
first route whose path pattern and method fit): GET/HEAD/OPTIONS and the POST routes marked
``reads_only`` (search, batch read) need ``read``, every other route ``write``. A path the
router does not know needs ``read`` for GET/HEAD/OPTIONS and ``write`` otherwise (it answers
404/405 anyway). Never from the path's shape: a custom object named ``search`` makes
``POST /crm/v3/objects/search`` a create.

A pure ASGI middleware rather than a FastAPI dependency: dependencies run after the body is
parsed, and a 401 must not wait for (or depend on) a body. The token check is a database
read, so it runs on a worker thread and never blocks the event loop. Tokens are never logged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import structlog
from fastapi.routing import iter_route_contexts
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store import MAX_SECRET_LENGTH, ApiToken, Store
from syncd.api.context import READ, WRITE, ApiSettings, Principal, route_reads_only
from syncd.api.errors import error_body
from syncd.api.guard_limits import RateDecision, RateLimiter

__all__ = ["ApiGuard", "RouteScopes"]

log = structlog.get_logger("syncd.api")

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# An Authorization header longer than this cannot hold one of our tokens; it is not parsed.
_MAX_AUTHORIZATION = len("Bearer ") + MAX_SECRET_LENGTH

_NO_TOKEN = (
    "Authentication credentials not found. Send `Authorization: Bearer <token>`; "
    "an operator creates one with `syncd tokens create NAME`."
)
_BAD_TOKEN = "The bearer token is not valid: it is malformed, unknown or revoked."
_MISSING_SCOPES = (
    "This token hasn't been granted all required scopes to make this call. "
    "Create a token with --scopes write to write."
)
_RATE_LIMITED = "You have reached your ten_secondly_rolling limit."


def _route_path(scope: Scope) -> str:
    """The path as the router matches it: without the ``root_path`` a proxy mounted us at."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    reads_only: bool


class RouteScopes:
    """The scope a request needs, from the route it matches in the application's routes.

    ``routes`` is the application's own (live) list, so routes included after the guard was
    added (the daemon's, the tests' probes) are covered; the table is rebuilt when it grows.
    It is built when the guard is made, before the server takes a request: building it
    builds FastAPI's effective routes (their validators), about a second of CPU once per
    process, which the first requests all waited for in the event loop (under the 50-client
    load the first 50 answers took up to 1.2 s, and were the whole slowest 1 %).
    """

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._routes = routes
        self._table: tuple[_Route, ...] = ()
        self._built_from = -1
        self._entries()  # now, not in the first request's event loop turn

    def _entries(self) -> tuple[_Route, ...]:
        if self._built_from != len(self._routes):
            table = []
            for context in iter_route_contexts(list(self._routes)):
                path, methods = context.path, context.methods
                if not path or not methods:
                    continue
                pattern, _format, _convertors = compile_path(path)
                table.append(
                    _Route(pattern, frozenset(methods), route_reads_only(context.endpoint))
                )
            self._table, self._built_from = tuple(table), len(self._routes)
        return self._table

    def required(self, method: str, path: str) -> str:
        """``read`` or ``write`` for ``method`` on ``path`` (without any root path)."""
        if method in _READ_METHODS:
            return READ
        for route in self._entries():
            if method in route.methods and route.pattern.match(path):
                return READ if route.reads_only else WRITE
        return WRITE


def _bearer(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """The token of the one ``Authorization: Bearer`` header; None when there is not exactly
    one well-formed one. The scheme is case-insensitive (RFC 9110 §11.1)."""
    values = [v for k, v in headers if k.lower() == b"authorization"]
    if len(values) != 1 or len(values[0]) > _MAX_AUTHORIZATION:
        return None
    scheme, _, token = values[0].decode("latin-1").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not token.isascii() or " " in token:
        return None
    return token


class _TooLarge(Exception):
    """The body grew past the limit while it was being read."""


class ApiGuard:
    """Authentication, scope, rate limit and request size for the API's paths."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: Store,
        settings: ApiSettings,
        prefixes: Sequence[str],
        routes: Sequence[BaseRoute],
    ) -> None:
        self.app = app
        self.scopes = RouteScopes(routes)
        self.store = store
        self.settings = settings
        self.prefixes = tuple(prefixes)
        self.limiter = RateLimiter(settings.rate_limit_max, settings.rate_limit_interval_ms)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _route_path(scope).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        decision = self.limiter.untouched()
        refusal = self._check_request(scope)
        token: ApiToken | None = None
        if refusal is None:
            token, refusal = await self._authenticate(scope)
        if token is not None and refusal is None:
            decision = self.limiter.take(token.name)
            refusal = self._authorise(scope, token, decision)
        if refusal is not None:
            await self._answer(refusal, decision, scope, receive, send)
            return
        assert token is not None
        try:
            body = await self._read_body(receive)
        except _TooLarge:
            await self._answer(self._too_large(), decision, scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = Principal(token.name, frozenset(token.scopes))
        await self.app(scope, _replay(body, receive), _with_headers(send, decision))

    # ------------------------------------------------------------ checks

    def _check_request(self, scope: Scope) -> JSONResponse | None:
        """What can be refused from the request line and headers alone, before any token."""
        raw_path = scope.get("raw_path") or b""
        query = scope.get("query_string") or b""
        if "\x00" in scope["path"] or any(b"\x00" in p or b"%00" in p for p in (raw_path, query)):
            return _refusal(
                400, "The request path or query contains a NUL character.", "VALIDATION_ERROR"
            )
        lengths = [v for k, v in scope["headers"] if k.lower() == b"content-length"]
        if lengths:
            declared = lengths[0].strip()
            if len(set(lengths)) != 1 or not declared.isdigit():
                return _refusal(
                    400, "The Content-Length header is not one number.", "VALIDATION_ERROR"
                )
            # Compared as text first: int() of a thousand-digit header would itself refuse.
            if len(declared) > 18 or int(declared) > self.settings.max_body_bytes:
                return self._too_large()
        return None

    async def _authenticate(self, scope: Scope) -> tuple[ApiToken | None, JSONResponse | None]:
        has_header = any(k.lower() == b"authorization" for k, _ in scope["headers"])
        secret = _bearer(scope["headers"])
        if secret is None:
            reason = "malformed" if has_header else "missing"
            log.info("api_request_refused", status=401, reason=reason)
            return None, _refusal(
                401, _BAD_TOKEN if has_header else _NO_TOKEN, "INVALID_AUTHENTICATION"
            )
        try:
            token = await anyio.to_thread.run_sync(self.store.verify_api_token, secret)
        except Exception as exc:  # the database is unreachable: nobody can be let in
            log.error("api_token_check_failed", error=type(exc).__name__)
            return None, _refusal(
                503,
                "The token could not be checked; try again shortly.",
                "SERVICE_UNAVAILABLE",
                headers={"Retry-After": "5"},
            )
        if token is None:
            log.info("api_request_refused", status=401, reason="unknown or revoked")
            return None, _refusal(401, _BAD_TOKEN, "INVALID_AUTHENTICATION")
        return token, None

    def _authorise(
        self, scope: Scope, token: ApiToken, decision: RateDecision
    ) -> JSONResponse | None:
        if not decision.allowed:
            log.debug("api_request_refused", status=429, token_name=token.name)
            return _refusal(
                429,
                _RATE_LIMITED,
                "RATE_LIMITS",
                headers={"Retry-After": str(decision.retry_after)},
                errorType="RATE_LIMIT",
                policyName="TEN_SECONDLY_ROLLING",
            )
        needed = self.scopes.required(scope["method"], _route_path(scope))
        if not Principal(token.name, frozenset(token.scopes)).allows(needed):
            log.info(
                "api_request_refused",
                status=403,
                reason="missing scope",
                token_name=token.name,
                scope=needed,
            )
            return _refusal(
                403,
                _MISSING_SCOPES,
                "MISSING_SCOPES",
                errors=[
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredScopes": [needed]},
                    }
                ],
            )
        return None

    def _too_large(self) -> JSONResponse:
        return _refusal(
            413,
            f"The request body is larger than {self.settings.max_body_bytes} bytes.",
            "VALIDATION_ERROR",
        )

    async def _read_body(self, receive: Receive) -> bytes:
        """The whole body, refused as soon as it passes the limit (chunked ones too)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to serve
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.settings.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _answer(
        self,
        response: JSONResponse,
        decision: RateDecision,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        await response(scope, receive, _with_headers(send, decision))


def _refusal(
    status: int,
    message: str,
    category: str,
    *,
    headers: dict[str, str] | None = None,
    errors: Sequence[dict[str, Any]] = (),
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        error_body(message, category, errors=errors, **extra), status_code=status, headers=headers
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the route the body already read, then the real channel
    (so a disconnect still reaches a streaming response)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_headers(send: Send, decision: RateDecision) -> Send:
    """Every API answer tells the caller where it stands against its rate limit."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            headers = MutableHeaders(scope=message)
            headers["X-HubSpot-RateLimit-Max"] = str(decision.limit)
            headers["X-HubSpot-RateLimit-Remaining"] = str(decision.remaining)
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(decision.interval_ms)
        await send(message)

    return send_with_headers
