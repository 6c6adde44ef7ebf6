"""Webhook signatures: the raw body is checked before anything else reads it.

Four schemes cover what the systems people sync with send:

- ``hubspot-v3``: HMAC-SHA256 over ``method + uri + body + timestamp``, base64, in
  ``X-HubSpot-Signature-v3`` with ``X-HubSpot-Request-Timestamp`` (milliseconds).
- ``stripe``: ``Stripe-Signature: t=<seconds>,v1=<hex>`` over ``"<t>.<body>"``.
- ``github``: ``X-Hub-Signature-256: sha256=<hex>`` over the body (no timestamp).
- ``hmac-sha256-hex`` / ``hmac-sha256-base64``: HMAC-SHA256 over the body in a configured header,
  with an optional timestamp header.

Comparison is constant-time; a timestamp outside the tolerance window is refused (a replayed
request); the secret never appears in an error. A timestamp is plain ASCII digits with an
optional fraction: ``nan``, ``inf``, ``1e400``, ``0x10``, ``1_000`` or a sign are refused, since
Python's ``float`` reads some of them and ``nan`` compares false against any window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import Field, SecretStr

from connectors.base import ConnectorError, ConnectorOptions

__all__ = [
    "SCHEMES",
    "WebhookOptions",
    "WebhookSignatureError",
    "sign",
    "verify_signature",
]

Scheme = Literal["hubspot-v3", "stripe", "github", "hmac-sha256-hex", "hmac-sha256-base64"]
SCHEMES: tuple[str, ...] = (
    "hubspot-v3",
    "stripe",
    "github",
    "hmac-sha256-hex",
    "hmac-sha256-base64",
)


class WebhookSignatureError(ConnectorError):
    """The request is not signed by the configured secret, or is too old: answer 401."""


class WebhookOptions(ConnectorOptions):
    """A connector's ``webhook:`` section."""

    secret: SecretStr
    signature: Scheme = "hmac-sha256-hex"
    header: str | None = None  # the signature header, for the generic schemes
    timestamp_header: str | None = None  # generic schemes: seconds since the epoch
    tolerance_seconds: int = Field(300, ge=1, le=3600)
    delivery_id_header: str | None = None  # a header naming the delivery, for dedupe
    max_body_bytes: int = Field(1_048_576, ge=1024, le=10_485_760)


# Seconds or milliseconds since the epoch: digits, an optional fraction, nothing else.
_TIMESTAMP = re.compile(r"[0-9]{1,16}(?:\.[0-9]{1,9})?")


def _digest(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _check_time(raw: str | None, now: datetime, tolerance: int, *, millis: bool) -> None:
    if raw is None:
        raise WebhookSignatureError("the request carries no timestamp")
    if not _TIMESTAMP.fullmatch(raw.strip()):
        raise WebhookSignatureError(
            "the request's timestamp is not a number of "
            + ("milliseconds" if millis else "seconds")
            + " since the epoch"
        )
    stamp = float(raw) / (1000 if millis else 1)
    if not math.isfinite(stamp) or abs(now.timestamp() - stamp) > tolerance:
        raise WebhookSignatureError(
            f"the request's timestamp is outside the {tolerance} s window (a replay?)"
        )


def _same(expected: bytes | str, given: str | None) -> bool:
    if given is None:
        return False
    left = expected if isinstance(expected, bytes) else expected.encode()
    return hmac.compare_digest(left, given.strip().encode())


def verify_signature(
    options: WebhookOptions,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> None:
    """Raise :class:`WebhookSignatureError` unless ``body`` is signed by the secret."""
    secret = options.secret.get_secret_value()
    scheme = options.signature
    if scheme == "hubspot-v3":
        stamp = _header(headers, "X-HubSpot-Request-Timestamp")
        _check_time(stamp, now, options.tolerance_seconds, millis=True)
        message = method.upper().encode() + url.encode() + body + (stamp or "").encode()
        expected = base64.b64encode(_digest(secret, message))
        if not _same(expected, _header(headers, "X-HubSpot-Signature-v3")):
            raise WebhookSignatureError("the HubSpot v3 signature does not match")
        return
    if scheme == "stripe":
        raw = _header(headers, options.header or "Stripe-Signature") or ""
        parts: dict[str, list[str]] = {}
        for item in raw.split(","):
            key, _, value = item.strip().partition("=")
            parts.setdefault(key, []).append(value)
        stamp = parts["t"][0] if parts.get("t") else None
        _check_time(stamp, now, options.tolerance_seconds, millis=False)
        expected_hex = _digest(secret, f"{stamp}.".encode() + body).hex()
        if not any(_same(expected_hex, v) for v in parts.get("v1", [])):
            raise WebhookSignatureError("the Stripe-style signature does not match")
        return
    if scheme == "github":
        expected_text = "sha256=" + _digest(secret, body).hex()
        if not _same(expected_text, _header(headers, options.header or "X-Hub-Signature-256")):
            raise WebhookSignatureError("the GitHub-style signature does not match")
        return
    header = options.header or "X-Signature"
    message = body
    if options.timestamp_header:
        stamp = _header(headers, options.timestamp_header)
        _check_time(stamp, now, options.tolerance_seconds, millis=False)
        message = f"{stamp}.".encode() + body
    digest = _digest(secret, message)
    expected_generic = digest.hex() if scheme == "hmac-sha256-hex" else base64.b64encode(digest)
    if not _same(expected_generic, _header(headers, header)):
        raise WebhookSignatureError(f"the signature in {header} does not match")


def sign(
    options: WebhookOptions, *, method: str, url: str, body: bytes, now: datetime
) -> dict[str, str]:
    """The headers a sender signing ``body`` with the secret would add (tests, the demo)."""
    secret = options.secret.get_secret_value()
    scheme = options.signature
    if scheme == "hubspot-v3":
        stamp = str(int(now.timestamp() * 1000))
        message = method.upper().encode() + url.encode() + body + stamp.encode()
        return {
            "X-HubSpot-Request-Timestamp": stamp,
            "X-HubSpot-Signature-v3": base64.b64encode(_digest(secret, message)).decode(),
        }
    if scheme == "stripe":
        stamp = str(int(now.timestamp()))
        value = _digest(secret, f"{stamp}.".encode() + body).hex()
        return {options.header or "Stripe-Signature": f"t={stamp},v1={value}"}
    if scheme == "github":
        return {options.header or "X-Hub-Signature-256": "sha256=" + _digest(secret, body).hex()}
    headers: dict[str, str] = {}
    message = body
    if options.timestamp_header:
        stamp = str(int(now.timestamp()))
        headers[options.timestamp_header] = stamp
        message = f"{stamp}.".encode() + body
    digest = _digest(secret, message)
    headers[options.header or "X-Signature"] = (
        digest.hex() if scheme == "hmac-sha256-hex" else base64.b64encode(digest).decode()
    )
    return headers
