"""Typed failures of the ``rest`` connector, by what the engine must do about them."""

from __future__ import annotations

from connectors import base

__all__ = ["AnswerLostError", "AuthError", "QuotaExhaustedError", "WebhookPayloadError"]


# The engine acts on these types (pause, wait for the quota window, answer 400): they are
# the contract's own, re-exported here under the names this package documents.
AuthError = base.AuthError
QuotaExhaustedError = base.QuotaExhaustedError
WebhookPayloadError = base.WebhookPayloadError


class AnswerLostError(base.ConnectorError):
    """A request that is not safe to repeat was sent, and its answer never came back whole.

    A timeout after sending, a dropped connection, a 5xx from a gateway: the API may have
    done the work. The client does not send such a request again; the caller must first ask
    the API whether it happened (a create looks its record up).
    """

    def __init__(self, message: str, *, cause: str | None = None) -> None:
        super().__init__(message, retriable=True)
        #: What happened to the answer, without the wrapping (``POST /x answered 502: ...``),
        #: for a caller that words its own message around it.
        self.cause = cause if cause is not None else message
