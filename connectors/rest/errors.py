"""Typed failures of the ``rest`` connector, by what the engine must do about them."""

from __future__ import annotations

from connectors import base

__all__ = ["AuthError", "QuotaExhaustedError", "WebhookPayloadError"]


# The engine acts on these types (pause, wait for the quota window, answer 400): they are
# the contract's own, re-exported here under the names this package documents.
AuthError = base.AuthError
QuotaExhaustedError = base.QuotaExhaustedError
WebhookPayloadError = base.WebhookPayloadError
