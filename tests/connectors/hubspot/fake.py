"""A stateful HubSpot for respx: one object type's records in a dict, answered as HubSpot does.

Bodies follow HubSpot's documented shapes: ``{results, paging:{next:{after}}}`` lists,
``{total, results, paging}`` searches capped at 10,000 (400 beyond), batch answers with
``status``/``results``/``errors``/``numErrors`` and 207 for partial failure, ``context.ids``
for missing ids, ``context.objectWriteTraceId`` for create failures, CONFLICT with
"Existing ID: N" for a duplicate email, and 204 for archive.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import respx

BASE = "https://api.hubapi.com"


def iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def error_body(status: int, message: str, category: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": "c0ffee00-0000-4000-8000-000000000000",
        "category": category,
        **extra,
    }


def batch_body(results: list[Any], errors: list[Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": "2024-08-15T17:09:13.610Z",
        "completedAt": "2024-08-15T17:09:13.910Z",
    }
    if errors:
        body["errors"] = errors
        body["numErrors"] = len(errors)
    return body


class FakeHubSpot:
    """Records of one object type; ``now_ms`` stamps every write (tests move it)."""

    def __init__(
        self,
        object_type: str = "contacts",
        *,
        modified: str = "lastmodifieddate",
        now_ms: Callable[[], int] | None = None,
        search_cap: int = 10_000,
        unique: str | None = "email",
    ) -> None:
        self.object_type = object_type
        self.modified = modified
        self.records: dict[str, dict[str, str]] = {}
        self.next_id = 101
        self.clock_ms = 1_700_000_000_000
        self._now = now_ms
        self.search_cap = search_cap
        self.unique = unique
        self.calls: list[tuple[str, str, Any]] = []

    # -- state ------------------------------------------------------------------------

    def now(self) -> int:
        if self._now is not None:
            return self._now()
        self.clock_ms += 1
        return self.clock_ms

    def add(self, properties: dict[str, str], *, at: int | None = None) -> str:
        rid = str(self.next_id)
        self.next_id += 1
        stamp = at if at is not None else self.now()
        self.records[rid] = {
            **properties,
            "hs_object_id": rid,
            "createdate": iso(stamp),
            self.modified: iso(stamp),
        }
        return rid

    def edit(self, rid: str, properties: dict[str, str], *, at: int | None = None) -> None:
        stamp = at if at is not None else self.now()
        self.records[rid].update(properties)
        self.records[rid][self.modified] = iso(stamp)

    def stamp(self, rid: str) -> int:
        text = self.records[rid][self.modified]
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)

    def _out(self, rid: str, wanted: list[str] | None) -> dict[str, Any]:
        props = self.records[rid]
        if wanted is None:
            wanted = ["email", "firstname", "lastname", "createdate", self.modified, "hs_object_id"]
        shown = {k: props.get(k) for k in dict.fromkeys([*wanted, "hs_object_id"])}
        return {
            "id": rid,
            "properties": shown,
            "createdAt": props["createdate"],
            "updatedAt": props[self.modified],
            "archived": False,
        }

    def _by_unique(self, name: str, value: str) -> str | None:
        for rid, props in sorted(self.records.items(), key=lambda kv: int(kv[0])):
            if (props.get(name) or "").lower() == value.lower():
                return rid
        return None

    # -- routes -----------------------------------------------------------------------

    def install(self, router: respx.MockRouter) -> None:
        base = f"{BASE}/crm/v3/objects/{self.object_type}"
        router.post(f"{base}/search").mock(side_effect=self._search)
        router.post(f"{base}/batch/read").mock(side_effect=self._batch_read)
        router.post(f"{base}/batch/create").mock(side_effect=self._batch_create)
        router.post(f"{base}/batch/update").mock(side_effect=self._batch_update)
        router.post(f"{base}/batch/archive").mock(side_effect=self._batch_archive)
        router.get(base).mock(side_effect=self._list)
        router.get(f"{BASE}/crm/v3/properties/contacts").mock(
            return_value=httpx.Response(200, json={"results": []})
        )

    def _body(self, request: httpx.Request, name: str) -> Any:
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, name, body))
        return body

    def _search(self, request: httpx.Request) -> httpx.Response:
        body = self._body(request, "search")
        limit = int(body.get("limit", 10))
        after = int(body.get("after", 0))
        if limit > 200:
            return httpx.Response(
                400, json=error_body(400, "limit must be at most 200", "VALIDATION_ERROR")
            )
        if after >= self.search_cap:
            return httpx.Response(
                400,
                json=error_body(
                    400,
                    f"Cannot page beyond {self.search_cap} results",
                    "VALIDATION_ERROR",
                ),
            )
        matches = []
        for rid, props in self.records.items():
            ok = True
            for group in body.get("filterGroups", []):
                for flt in group["filters"]:
                    name, op = flt["propertyName"], flt["operator"]
                    have = props.get(name)
                    if op == "GTE":
                        ok &= have is not None and self._ms_of(have) >= int(flt["value"])
                    elif op == "IN":
                        ok &= have is not None and have.lower() in flt["values"]
                        assert all(v == v.lower() for v in flt["values"])
                    else:
                        raise AssertionError(op)
            if ok:
                matches.append(rid)
        sorts = body.get("sorts") or []
        if sorts:
            prop = sorts[0]["propertyName"]
            # Ties come back in no particular order: a hash, not the id, orders them.
            matches.sort(
                key=lambda r: (self._ms_of(self.records[r][prop]), hashlib.md5(r.encode()).digest())
            )
        else:
            matches.sort(key=int)
        page = matches[after : after + limit]
        out: dict[str, Any] = {
            "total": len(matches),
            "results": [self._out(r, body.get("properties")) for r in page],
        }
        nxt = after + len(page)
        if nxt < len(matches) and nxt < self.search_cap:
            out["paging"] = {"next": {"after": str(nxt)}}
        return httpx.Response(200, json=out)

    @staticmethod
    def _ms_of(value: str) -> int:
        if value.isdigit():
            return int(value)
        return round(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)

    def _batch_read(self, request: httpx.Request) -> httpx.Response:
        body = self._body(request, "batch/read")
        assert len(body["inputs"]) <= 100
        id_property = body.get("idProperty")
        found, missing = [], []
        for item in body["inputs"]:
            key = item["id"]
            rid = self._by_unique(id_property, key) if id_property else key
            if rid is not None and rid in self.records:
                found.append(self._out(rid, body.get("properties")))
            else:
                missing.append(key)
        errors = []
        if missing:
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some CONTACT objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            )
        return httpx.Response(207 if errors else 200, json=batch_body(found, errors))

    def _batch_create(self, request: httpx.Request) -> httpx.Response:
        body = self._body(request, "batch/create")
        assert len(body["inputs"]) <= 100
        made, errors = [], []
        for item in body["inputs"]:
            props = item["properties"]
            trace = item.get("objectWriteTraceId")
            if self.unique and props.get(self.unique):
                dup = self._by_unique(self.unique, props[self.unique])
                if dup is not None:
                    errors.append(
                        {
                            "status": "error",
                            "category": "CONFLICT",
                            "message": f"Contact already exists. Existing ID: {dup}",
                            "context": {"objectWriteTraceId": [trace], "existingId": [dup]},
                        }
                    )
                    continue
            rid = self.add(dict(props))
            result = self._out(rid, list(props))
            result["objectWriteTraceId"] = trace
            made.append(result)
        return httpx.Response(207 if errors else 201, json=batch_body(made, errors))

    def _batch_update(self, request: httpx.Request) -> httpx.Response:
        body = self._body(request, "batch/update")
        assert len(body["inputs"]) <= 100
        done, missing = [], []
        for item in body["inputs"]:
            rid = item["id"]
            if rid not in self.records:
                missing.append(rid)
                continue
            self.edit(rid, dict(item["properties"]))
            done.append(self._out(rid, list(item["properties"])))
        errors = []
        if missing:
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some CONTACT objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            )
        return httpx.Response(207 if errors else 200, json=batch_body(done, errors))

    def _batch_archive(self, request: httpx.Request) -> httpx.Response:
        body = self._body(request, "batch/archive")
        for item in body["inputs"]:
            self.records.pop(item["id"], None)
        return httpx.Response(204)

    def _list(self, request: httpx.Request) -> httpx.Response:
        self._body(request, "list")
        limit = min(int(request.url.params.get("limit", 10)), 100)
        after = int(request.url.params.get("after", 0))
        ids = sorted(self.records, key=int)
        page = ids[after : after + limit]
        out: dict[str, Any] = {"results": [self._out(r, None) for r in page]}
        if after + limit < len(ids):
            out["paging"] = {"next": {"after": str(after + limit), "link": "?after=x"}}
        return httpx.Response(200, json=out)
