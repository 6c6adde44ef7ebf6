"""A small, stateful JSON API of our own for the rest connector's tests.

It keeps real customers in memory (ids, ``updated_at``, unique emails), filters by
``updated_since`` and ``email``, pages four ways (cursor, page, offset, ``Link``), creates
with ``Idempotency-Key`` honoured (``State.idempotent``), updates, deletes, reads many ids at once
(``GET /api/customers/batch?ids=1,2`` or ``?ids=1&ids=2``, ``POST /api/customers/batch/read``
with ``{"ids": [...]}`` or ``{"inputs": [{"id": ...}]}``; ``State.batch_read`` makes it
misbehave on purpose), and checks credentials (bearer, basic, API key in a header or the
query, or OAuth2 client-credentials tokens it issues itself).
It runs in uvicorn on a background thread on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "s3cret-bearer-token"
CLIENT_ID = "syncd-client"
CLIENT_SECRET = "s3cret-client-secret"
API_KEY = "s3cret-api-key"
USER, PASSWORD = "syncd", "s3cret-password"
FIELDS = ("email", "first_name", "last_name", "status")
#: Kept only on records that were given one (syncd's create key), and filterable.
KEY_FIELD = "syncd_id"


@dataclass
class State:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1
    idempotency: dict[str, str] = field(default_factory=dict)
    #: "bearer", "basic", "api_key_header", "api_key_query", "oauth2" or None (open).
    auth: str | None = "bearer"
    tokens: dict[str, datetime] = field(default_factory=dict)
    token_lifetime: int = 3600
    token_requests: int = 0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    #: How the batch read answers: "honest", "fewer" (drops the last id asked), "extra"
    #: (adds a record not asked), "unknown" (only records not asked), "duplicate" (each
    #: record twice, the second altered), "malformed" (cut-off JSON), "not_list" (an
    #: object at results), "no_id" (a record without id), "huge" (a 3 MB body), "refuse"
    #: (400), "missing" (404 for the whole batch), "unavailable" (503).
    batch_read: str = "honest"
    #: The ids each batch read asked for, in order.
    batch_reads: list[list[str]] = field(default_factory=list)
    last_time: datetime = field(default_factory=lambda: datetime(2000, 1, 1, tzinfo=UTC))
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Whether a create's ``Idempotency-Key`` is honoured (a second create with it answers
    #: the first record) or ignored, as most APIs do.
    idempotent: bool = True
    #: What the next ``create_faults`` creates do: "drop" (the record is made, then the
    #: connection is cut mid-answer), "502" (the record is made, then a gateway's error
    #: comes instead of the answer), "429" (refused before anything is made).
    create_fault: str | None = None
    create_faults: int = 0

    def stamp(self) -> str:
        now = max(datetime.now(UTC), self.last_time + timedelta(microseconds=1))
        self.last_time = now
        return now.isoformat().replace("+00:00", "Z")

    def add(self, **values: Any) -> dict[str, Any]:
        """A record made by someone else (a shop admin), outside the API's auth."""
        with self.lock:
            return self._insert(values)

    def edit(self, record_id: str, **values: Any) -> dict[str, Any]:
        with self.lock:
            record = self.customers[record_id]
            record.update(values)
            record["updated_at"] = self.stamp()
            return dict(record)

    def by_email(self, email: str) -> dict[str, Any]:
        found = [c for c in self.customers.values() if c["email"].lower() == email.lower()]
        assert len(found) == 1, f"{email}: {len(found)} customers"
        return found[0]

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def _insert(self, values: dict[str, Any]) -> dict[str, Any]:
        record_id = str(self.next_id)
        self.next_id += 1
        record = {"id": int(record_id), **{k: values.get(k) for k in FIELDS}}
        if values.get(KEY_FIELD) is not None:
            record[KEY_FIELD] = values[KEY_FIELD]
        record["updated_at"] = values.get("updated_at") or self.stamp()
        self.customers[record_id] = record
        return dict(record)


class Server:
    """The API and its state; ``url`` is its base address."""

    def __init__(self) -> None:
        self.state = State()
        self.app = Starlette(
            routes=[
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/api/{mode}/customers", self.list_customers, methods=["GET"]),
                Route("/api/customers", self.create, methods=["POST"]),
                Route("/api/customers/batch", self.read_many, methods=["GET"]),
                Route("/api/customers/batch/read", self.read_many, methods=["POST"]),
                Route(
                    "/api/customers/{id}",
                    self.item,
                    methods=["GET", "PATCH", "PUT", "DELETE"],
                ),
            ]
        )
        self.url = ""

    def reset(self) -> None:
        self.state = State()

    # -- auth -------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        mode = self.state.auth
        given = request.headers.get("Authorization", "")
        if mode is None:
            return True
        if mode == "bearer":
            return given == f"Bearer {TOKEN}"
        if mode == "basic":
            raw = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            return given == f"Basic {raw}"
        if mode == "api_key_header":
            return request.headers.get("X-Api-Key") == API_KEY
        if mode == "api_key_query":
            return request.query_params.get("api_key") == API_KEY
        assert mode == "oauth2"
        token = given.removeprefix("Bearer ")
        expires = self.state.tokens.get(token)
        return expires is not None and expires > datetime.now(UTC)

    async def token(self, request: Request) -> Response:
        # Parsed by hand: starlette's form parser needs python-multipart.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self.state.token_requests += 1
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_hex(16)
        lifetime = self.state.token_lifetime
        self.state.tokens[token] = datetime.now(UTC) + timedelta(seconds=lifetime)
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": lifetime})

    def _log(self, request: Request) -> None:
        self.state.requests.append((request.method, request.url.path, dict(request.query_params)))

    # -- reading ----------------------------------------------------------------------

    def _matching(self, request: Request) -> list[dict[str, Any]]:
        since = request.query_params.get("updated_since")
        email = request.query_params.get("email")
        key = request.query_params.get(KEY_FIELD)
        rows = sorted(self.state.customers.values(), key=lambda c: (c["updated_at"], c["id"]))
        if since:
            bound = datetime.fromisoformat(since)
            rows = [c for c in rows if datetime.fromisoformat(c["updated_at"]) >= bound]
        if email:
            rows = [c for c in rows if (c["email"] or "").lower() == email.lower()]
        if key:
            rows = [c for c in rows if c.get(KEY_FIELD) == key]
        return [dict(c) for c in rows]

    async def list_customers(self, request: Request) -> Response:
        self._log(request)
        if not self._authorised(request):
            return JSONResponse({"message": "unauthorised"}, status_code=401)
        mode = request.path_params["mode"]
        q = request.query_params
        with self.state.lock:
            rows = self._matching(request)
        if mode == "cursor":
            size = int(q.get("limit", "2"))
            start = int(base64.b64decode(q["cursor"]).decode()) if q.get("cursor") else 0
            chunk = rows[start : start + size]
            after = start + len(chunk)
            token = base64.b64encode(str(after).encode()).decode() if after < len(rows) else None
            return JSONResponse({"data": chunk, "meta": {"next": token}})
        if mode == "page":
            page, size = int(q.get("page", "1")), int(q.get("per_page", "2"))
            return JSONResponse({"customers": rows[(page - 1) * size : page * size]})
        if mode == "offset":
            offset, size = int(q.get("offset", "0")), int(q.get("limit", "2"))
            return JSONResponse({"items": rows[offset : offset + size], "total": len(rows)})
        if mode == "link":
            page, size = int(q.get("page", "1")), int(q.get("per_page", "2"))
            chunk = rows[(page - 1) * size : page * size]
            headers = {}
            if page * size < len(rows):
                nxt = request.url.include_query_params(page=page + 1, per_page=size)
                # A relative link, as many APIs send: the connector resolves it.
                target = f"{nxt.path}?{nxt.query}"
                headers["Link"] = f'<{target}>; rel="next", <{nxt.path}?page=1>; rel="first"'
            return JSONResponse(chunk, headers=headers)
        if mode == "all":
            return JSONResponse(rows)
        return JSONResponse({"message": "no such listing"}, status_code=404)

    async def read_many(self, request: Request) -> Response:
        self._log(request)
        if not self._authorised(request):
            return JSONResponse({"message": "unauthorised"}, status_code=401)
        if request.method == "GET":
            ids = [i for v in request.query_params.getlist("ids") for i in v.split(",")]
        else:
            try:
                data = json.loads(await request.body())
                raw = data.get("ids", data.get("inputs"))
                ids = [str(i["id"] if isinstance(i, dict) else i) for i in raw]
            except (ValueError, TypeError, AttributeError, KeyError):
                return JSONResponse({"message": "body must hold ids"}, status_code=400)
        self.state.batch_reads.append(ids)
        mode = self.state.batch_read
        if mode in ("refuse", "missing", "unavailable"):
            status = {"refuse": 400, "missing": 404, "unavailable": 503}[mode]
            return JSONResponse({"message": f"batch read {mode}"}, status_code=status)
        with self.state.lock:
            rows = [dict(self.state.customers[i]) for i in ids if i in self.state.customers]
            others = [dict(c) for k, c in self.state.customers.items() if k not in ids]
        if mode == "fewer":
            rows = [r for r in rows if str(r["id"]) != ids[-1]]
        elif mode == "extra":
            rows = [*others[:1], *rows]
        elif mode == "unknown":
            rows = others
        elif mode == "duplicate":
            rows = [x for r in rows for x in (r, {**r, "first_name": "IMPOSTOR"})]
            rows = rows[::2] + rows[1::2]
        elif mode == "malformed":
            return Response(b'{"results": [{"id": 1, "email": ', media_type="application/json")
        elif mode == "not_list":
            return JSONResponse({"results": {"id": ids[0]}})
        elif mode == "no_id":
            rows = [{k: v for k, v in r.items() if k != "id"} for r in rows]
        elif mode == "huge":
            return JSONResponse({"results": rows, "padding": "x" * 3_000_000})
        rows.reverse()  # any order: the connector must not rely on it
        return JSONResponse({"results": rows})

    # -- writing ----------------------------------------------------------------------

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            data = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"message": "body is not JSON"}, status_code=400)
        if isinstance(data, dict) and isinstance(data.get("customer"), dict):
            data = data["customer"]
        if not isinstance(data, dict):
            return JSONResponse({"message": "body must be an object"}, status_code=400)
        unknown = sorted(set(data) - set(FIELDS) - {"id", "updated_at", KEY_FIELD})
        if unknown:
            return JSONResponse({"message": f"unknown fields {unknown}"}, status_code=422)
        if data.get("first_name") == "REFUSED":
            return JSONResponse(
                {"message": "first_name is not allowed", "email": data.get("email")},
                status_code=422,
            )
        email = data.get("email")
        if email is not None and "@" not in str(email):
            return JSONResponse({"message": "email is invalid"}, status_code=422)
        return data

    def _taken(self, email: Any, but: str | None) -> bool:
        if not email:
            return False
        return any(
            (c["email"] or "").lower() == str(email).lower() and str(c["id"]) != but
            for c in self.state.customers.values()
        )

    async def create(self, request: Request) -> Response:
        self._log(request)
        if not self._authorised(request):
            return JSONResponse({"message": "unauthorised"}, status_code=401)
        data = await self._body(request)
        if isinstance(data, Response):
            return data
        key = request.headers.get("Idempotency-Key") if self.state.idempotent else None
        with self.state.lock:
            if self.state.create_fault == "429" and self.state.create_faults > 0:
                self.state.create_faults -= 1
                return JSONResponse({"message": "slow down"}, status_code=429)
            if key and key in self.state.idempotency:
                known = self.state.customers.get(self.state.idempotency[key])
                if known is not None:
                    return JSONResponse(dict(known), status_code=201)
            if self._taken(data.get("email"), None):
                return JSONResponse({"message": "email already exists"}, status_code=409)
            record = self.state._insert(
                {k: v for k, v in data.items() if k in (*FIELDS, KEY_FIELD)}
            )
            if key:
                self.state.idempotency[key] = str(record["id"])
            fault = self.state.create_fault if self.state.create_faults > 0 else None
            if fault is not None:
                self.state.create_faults -= 1
        if fault == "502":
            return JSONResponse({"message": "bad gateway"}, status_code=502)
        if fault == "drop":
            # A Content-Length the body never reaches: the server cuts the connection.
            body = json.dumps(record).encode()
            return Response(body[:5], status_code=201, headers={"Content-Length": "4096"})
        return JSONResponse(record, status_code=201)

    async def item(self, request: Request) -> Response:
        self._log(request)
        if not self._authorised(request):
            return JSONResponse({"message": "unauthorised"}, status_code=401)
        record_id = request.path_params["id"]
        if request.method in ("PATCH", "PUT"):
            data = await self._body(request)
            if isinstance(data, Response):
                return data
        with self.state.lock:
            record = self.state.customers.get(record_id)
            if record is None:
                return JSONResponse({"message": "not found"}, status_code=404)
            if request.method == "GET":
                return JSONResponse(dict(record))
            if request.method == "DELETE":
                del self.state.customers[record_id]
                return Response(status_code=204)
            assert isinstance(data, dict)
            if self._taken(data.get("email"), record_id):
                return JSONResponse({"message": "email already exists"}, status_code=409)
            if request.method == "PUT":
                record.update({k: None for k in FIELDS})
            record.update({k: v for k, v in data.items() if k in FIELDS})
            record["updated_at"] = self.state.stamp()
            return JSONResponse(dict(record))


def serve(server: Server) -> Iterator[Server]:
    """Run ``server`` on a free port until the generator is closed."""
    # IPPROTO_TCP as the protocol, or asyncio does not set TCP_NODELAY and every keep-alive
    # answer waits for a delayed ACK (40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(server.app, log_level="warning", lifespan="off", access_log=False)
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if runner.started:
            break
        threading.Event().wait(0.01)
    assert runner.started, "the test API did not start"
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        runner.should_exit = True
        thread.join(timeout=10)
        sock.close()
