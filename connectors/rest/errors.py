"""Typed failures of the ``rest`` connector, by what the engine must do about them.

The engine acts on these types (pause, wait for the quota window, look before resending,
answer 400): they are the connectors' own kinds (:mod:`connectors.errors`), re-exported here
under the names this package documents.
"""

from __future__ import annotations

from connectors.errors import (
    AnswerLostError,
    AuthError,
    QuotaExhaustedError,
    TransientError,
    WebhookPayloadError,
)

__all__ = [
    "AnswerLostError",
    "AuthError",
    "QuotaExhaustedError",
    "TransientError",
    "WebhookPayloadError",
]
