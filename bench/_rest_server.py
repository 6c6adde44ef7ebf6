"""A fast local JSON API for the benchmarks: customers in memory, served by a threaded server.

It is the "external system" of the REST stages, so it must cost as little as possible and
count every request. Records are kept as pre-encoded JSON and listed in ``(updated_at, id)``
order with a bisect on ``updated_since``, so a page is a slice and a join, never a scan. It
speaks what ``docs/connector-rest.md`` describes: cursor paging (``cursor`` / ``limit``,
next token at ``meta.next``), ``GET``/``PATCH /customers/{id}``, ``POST /customers`` and
the batch endpoints ``POST /customers/batch/create|update`` (``{"inputs": [...]}`` in,
``{"results": [...]}`` out) and ``GET /customers/batch/read?ids=1,2,3`` (``{"results":
[...]}``, unknown ids left out). It runs on 127.0.0.1 only, on a free port, in the process that
starts it (a thread per connection, HTTP/1.1 keep-alive).
"""

from __future__ import annotations

import bisect
import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from connectors.rest import RestConnector, RestOptions

__all__ = ["BenchApi", "rest_connector", "rest_options", "serve"]

PATH = "/customers"


def _stamp(moment: datetime) -> str:
    """The one time format of this API: it sorts as text in time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class BenchApi:
    """The records and the request counts; thread-safe behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: dict[int, dict[str, Any]] = {}
        self._encoded: dict[int, bytes] = {}
        self._keys: list[tuple[str, int]] = []
        self._dirty = False
        self._next_id = 1
        self._last = datetime(2000, 1, 1, tzinfo=UTC)
        self.requests: Counter[str] = Counter()

    # -- state ------------------------------------------------------------------------

    def load(self, rows: Iterable[dict[str, Any]], *, base: datetime) -> None:
        """Records made by someone else, updated_at ``base`` + 1 ms a row."""
        with self.lock:
            for k, row in enumerate(rows):
                self._put({**row, "updated_at": _stamp(base + timedelta(milliseconds=k))})

    def edit(self, record_id: int, values: dict[str, Any]) -> None:
        with self.lock:
            self._put({**self.records[record_id], **values, "updated_at": self._now()})

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def _now(self) -> str:
        moment = max(datetime.now(UTC), self._last + timedelta(microseconds=1))
        self._last = moment
        return _stamp(moment)

    def _put(self, record: dict[str, Any]) -> dict[str, Any]:
        if "id" not in record:
            record["id"] = self._next_id
        record_id = int(record["id"])
        self._next_id = max(self._next_id, record_id + 1)
        self.records[record_id] = record
        self._encoded[record_id] = json.dumps(record).encode()
        self._dirty = True
        return record

    def _sorted(self) -> list[tuple[str, int]]:
        if self._dirty:
            self._keys = sorted((r["updated_at"], i) for i, r in self.records.items())
            self._dirty = False
        return self._keys

    # -- endpoints --------------------------------------------------------------------

    def list_page(self, query: dict[str, str]) -> bytes:
        size = max(1, min(int(query.get("limit", "100")), 10_000))
        with self.lock:
            keys = self._sorted()
            start = int(query.get("cursor", "0"))
            since = query.get("updated_since")
            if since and start == 0:
                start = bisect.bisect_left(keys, (since, -1))
            chunk = keys[start : start + size]
            after = start + len(chunk)
            body = b",".join(self._encoded[i] for _, i in chunk)
        token = json.dumps(str(after) if after < len(keys) else None)
        return b'{"data":[' + body + b'],"meta":{"next":' + token.encode() + b"}}"

    def get(self, record_id: int) -> bytes | None:
        with self.lock:
            return self._encoded.get(record_id)

    def write(self, values: dict[str, Any], record_id: int | None) -> dict[str, Any] | None:
        values = {k: v for k, v in values.items() if k not in ("id", "updated_at")}
        with self.lock:
            if record_id is None:
                return self._put({**values, "updated_at": self._now()})
            known = self.records.get(record_id)
            if known is None:
                return None
            return self._put({**known, **values, "updated_at": self._now()})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    api: BenchApi  # set on the subclass made by ``serve``

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a line per request would cost more than the request."""

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _route(self) -> tuple[str, dict[str, str], int | None]:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        tail = parts.path.removeprefix(PATH).strip("/")
        record_id = int(tail) if tail.isdigit() else None
        return tail, query, record_id

    def do_GET(self) -> None:
        tail, query, record_id = self._route()
        if tail == "batch/read":
            self.api.requests["GET batch/read"] += 1
            wanted = [int(i) for i in query.get("ids", "").split(",") if i.isdigit()]
            bodies = [body for body in (self.api.get(i) for i in wanted) if body is not None]
            self._answer(200, b'{"results":[' + b",".join(bodies) + b"]}")
            return
        if tail == "":
            self.api.requests["GET list"] += 1
            self._answer(200, self.api.list_page(query))
            return
        self.api.requests["GET one"] += 1
        found = self.api.get(record_id) if record_id is not None else None
        self._answer(200 if found else 404, found or b'{"message":"not found"}')

    def do_PATCH(self) -> None:
        _, _, record_id = self._route()
        self.api.requests["PATCH one"] += 1
        done = self.api.write(self._body(), record_id) if record_id is not None else None
        self._answer(200 if done else 404, json.dumps(done or {"message": "not found"}).encode())

    def do_POST(self) -> None:
        tail, _, _ = self._route()
        body = self._body()
        if tail in ("batch/create", "batch/update"):
            self.api.requests[f"POST {tail}"] += 1
            results = []
            for item in body["inputs"]:
                record_id = int(item["id"]) if tail == "batch/update" else None
                done = self.api.write(item, record_id)
                if done is None:
                    self._answer(404, b'{"message":"not found"}')
                    return
                results.append(done)
            self._answer(200, json.dumps({"results": results}).encode())
            return
        self.api.requests["POST one"] += 1
        self._answer(201, json.dumps(self.api.write(body, None)).encode())


@contextmanager
def serve(api: BenchApi) -> Iterator[str]:
    """Serve ``api`` on 127.0.0.1 and a free port; yields the base URL."""
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bench-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def rest_options(url: str, *, batches: bool = True) -> RestOptions:
    """The connector as a user would configure it for this API (see docs/connector-rest.md)."""
    customers: dict[str, Any] = {
        "path": PATH,
        "records_path": "data",
        "paging": {"type": "cursor", "param": "cursor", "next_path": "meta.next"},
        "updated_since_param": "updated_since",
        "lookback_seconds": 0,
    }
    customers["paging"]["limit_param"] = "limit"
    if batches:
        customers["batch_create"] = {"path": f"{PATH}/batch/create", "max": 100}
        customers["batch_update"] = {"path": f"{PATH}/batch/update", "max": 100}
        customers["batch_read"] = {"path": f"{PATH}/batch/read", "max": 100}
    return RestOptions.model_validate(
        {
            "base_url": url,
            "retry": {"attempts": 2, "max_wait_seconds": 1},
            "objects": {"customers": customers},
        }
    )


def rest_connector(url: str, *, batches: bool = True) -> RestConnector:
    return RestConnector("shop", rest_options(url, batches=batches))
