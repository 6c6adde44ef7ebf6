"""What a connector raises, by what its caller must do about it.

Every connector, whatever its transport (HTTP, a database driver), ends a failed call in one
of these kinds, so the engine and the retry policy decide by type, never by a message or a
flag:

    ConnectorError             the call failed; the same call will fail again (fatal for the pass)
    ├── AuthError              the system refused our credentials: the sync pauses until an
    │                          operator fixes them (retrying could lock the account)
    ├── RecordRefusedError     the system refused one record (400, 404, 409, 422): that record
    │                          fails, the others go on
    └── TransientError         worth the same call again, after ``retry_after`` when the
        │                      server said so (a timeout, a 429, a 503, a lost connection)
        ├── AnswerLostError    ... but a request that is not safe to repeat may have been acted on
        └── QuotaExhaustedError  the call quota would run out: resume at ``resume_at``

They sit under :mod:`syncd.errors`' kinds (``AuthError`` is a ``FatalError``,
``TransientError`` a ``RetriableError``, ``RecordRefusedError`` a ``RecordError``), so code
that only knows those still reads them right. ``status`` and ``body`` carry the HTTP answer
when there was one, for a caller that maps per-input errors; neither is ever logged whole.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncd.errors import FatalError, RecordError, RetriableError, SyncdError

__all__ = [
    "AnswerLostError",
    "AuthError",
    "ConnectorError",
    "QuotaExhaustedError",
    "RecordRefusedError",
    "TransientError",
    "WebhookNotSupportedError",
    "WebhookPayloadError",
]


class ConnectorError(SyncdError):
    """A connector could not do what was asked, and asking again will not help.

    ``status`` is the HTTP status that said so (None without one); ``body`` the parsed
    error body, for a caller that reads per-input errors out of it.
    """

    def __init__(
        self, message: str, *, status: int | None = None, body: object = None, **data: Any
    ) -> None:
        if "retriable" in data:
            # The flag is gone: the kind says it. Refused loudly, or it would be data.
            raise TypeError("ConnectorError takes no retriable=: raise TransientError instead")
        if status is not None:
            data["status"] = status
        super().__init__(message, **data)
        self.status = status
        self.body = body

    @property
    def retriable(self) -> bool:
        """Whether the same call may succeed later: true exactly for :class:`TransientError`."""
        return isinstance(self, RetriableError)


class AuthError(ConnectorError, FatalError):
    """The external system refused our credentials and refreshing them did not help.

    Retrying cannot fix it, and hammering a system with bad credentials can lock the account,
    so the engine pauses the sync with this message until an operator resumes it.
    """


class RecordRefusedError(ConnectorError, RecordError):
    """The system refused the one record this call was about; the rest of a batch goes on."""


class TransientError(ConnectorError, RetriableError):
    """A passing failure: the same call may succeed after ``retry_after`` seconds.

    ``sent`` is false only when the request certainly did not reach the system (no
    connection, or an answer that says it was not processed: 408, 425, 429), so even a
    request that is not safe to repeat may be sent again.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        sent: bool = True,
        status: int | None = None,
        body: object = None,
        **data: Any,
    ) -> None:
        super().__init__(message, status=status, body=body, retry_after=retry_after, **data)
        self.retry_after = retry_after
        self.sent = sent


class AnswerLostError(TransientError):
    """A request that is not safe to repeat was sent, and its answer never came back whole.

    A timeout after sending, a dropped connection, a 5xx from a gateway: the system may have
    done the work. It is not sent again blindly; the caller first asks whether it happened
    (a create looks its record up).
    """

    def __init__(self, message: str, *, cause: str | None = None, **data: Any) -> None:
        super().__init__(message, **data)
        #: What happened to the answer, without the wrapping (``POST /x answered 502: ...``),
        #: for a caller that words its own message around it.
        self.cause = cause if cause is not None else message


class QuotaExhaustedError(TransientError):
    """The system's call quota would run out: stop now, resume at ``resume_at``."""

    def __init__(self, message: str, *, resume_at: datetime, **data: Any) -> None:
        super().__init__(message, resume_at=resume_at.isoformat(), **data)
        self.resume_at = resume_at


class WebhookPayloadError(ConnectorError):
    """A verified webhook body is not the shape the connector accepts: answer 400."""


class WebhookNotSupportedError(ConnectorError):
    """This connector type receives no webhooks."""
