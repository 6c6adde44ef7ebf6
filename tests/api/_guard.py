"""Probe routes mounted beside the real API, so the guard can be tested whatever routes exist.

The probes sit under ``/crm/v3/_probe`` (inside the guarded prefixes): one echoes the caller
and the body it received, one writes a contact with the caller's ``write_source`` exactly as
the real routes must, one is a read-only POST (``.../search``, marked ``reads_only`` as the real ones are).
"""

from __future__ import annotations

import functools
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request

from store import Store
from syncd.api import ApiSettings
from syncd.api.app import ApiApp, build_routes
from syncd.api.context import api_store, principal, reads_only, write_source

__all__ = ["PROBE", "RawAnswer", "probe_api", "raw_request"]

PROBE = "/crm/v3/_probe"

router = APIRouter(prefix=PROBE)


@router.get("")
def who(request: Request) -> dict[str, Any]:
    caller = principal(request)
    return {"name": caller.name, "scopes": sorted(caller.scopes)}


@router.post("/echo")
async def echo(request: Request) -> dict[str, Any]:
    body = await request.body()
    return {"length": len(body), "head": body[:20].decode("latin-1")}


@router.post("/search")
@reads_only
def search(request: Request) -> dict[str, Any]:
    return {"name": principal(request).name}


@router.post("/write")
def write(request: Request) -> dict[str, Any]:
    record = api_store(request).create_record(
        "contacts", {"email": "probe@example.com"}, write_source(request)
    )
    return {"id": str(record.id)}


@functools.cache
def _probed_routes() -> FastAPI:
    return build_routes(router)


def probe_api(store: Store, settings: ApiSettings) -> ApiApp:
    """The real API application plus the probe routes (the guard wraps them all)."""
    return ApiApp(store, settings, _probed_routes())


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(url: str, request: bytes) -> RawAnswer:
    """Send bytes no HTTP client would (a raw NUL, a header httpx refuses); read the answer.

    The request must say ``Connection: close``: the answer is read until the server closes.
    """
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(status_line.split(" ")[1]), headers, body)
