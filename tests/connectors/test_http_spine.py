"""The HTTP spine (connectors/http.py): one reading of statuses and transport failures, one
retry policy, shared by REST, HubSpot and CardDAV.

The kinds decide what the engine does, so each status is pinned here; the policy is driven
with a recording ``sleep`` so the waits it chooses are seen exactly. CardDAV, which had no
retries and read a 401 as a plain error, is checked on exact answers (respx).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from connectors.carddav import CardDavConnector
from connectors.carddav.options import CardDavOptions
from connectors.errors import (
    AuthError,
    ConnectorError,
    QuotaExhaustedError,
    RecordRefusedError,
    TransientError,
)
from connectors.http import (
    ClientSettings,
    HttpClients,
    RetryOptions,
    parse_retry_after,
    retrying,
    status_error,
    transport_error,
)
from syncd.errors import FatalError, RecordError, RetriableError

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, AuthError),
        (403, AuthError),
        (400, RecordRefusedError),
        (404, RecordRefusedError),
        (409, RecordRefusedError),
        (410, RecordRefusedError),
        (422, RecordRefusedError),
        (408, TransientError),
        (423, TransientError),
        (425, TransientError),
        (429, TransientError),
        (500, TransientError),
        (503, TransientError),
        (524, TransientError),
        (301, ConnectorError),
        (405, ConnectorError),
        (413, ConnectorError),
    ],
)
def test_each_status_is_the_kind_the_caller_must_act_on(status: int, kind: type) -> None:
    error = status_error(status, f"GET /x answered {status}")
    assert type(error) is kind
    assert error.status == status and str(error) == f"GET /x answered {status}"
    assert error.retriable is (kind is TransientError)


def test_the_kinds_sit_under_syncds_own() -> None:
    assert isinstance(status_error(401, "x"), FatalError)
    assert isinstance(status_error(503, "x"), RetriableError)
    assert isinstance(status_error(422, "x"), RecordError)


def test_a_transient_status_carries_the_servers_delay_and_whether_it_was_processed() -> None:
    seconds = status_error(429, "x", headers={"retry-after": "7"}, now=NOW)
    assert isinstance(seconds, TransientError)
    assert seconds.retry_after == 7.0 and not seconds.sent  # 429: not acted on
    date = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    dated = status_error(503, "x", headers={"Retry-After": date}, now=NOW)
    assert isinstance(dated, TransientError)
    assert dated.retry_after == 90.0 and dated.sent  # a 503 may have been acted on
    extra = status_error(477, "x", transient=frozenset({477}), unprocessed=frozenset({477}))
    assert isinstance(extra, TransientError) and not extra.sent


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("0", 0.0), ("2.5", 2.5), ("-4", 0.0), ("nan", None), ("soon", None), ("9999999", 86400.0)],
)
def test_retry_after_values(raw: str, seconds: float | None) -> None:
    assert parse_retry_after(raw, NOW) == seconds


def test_transport_failures() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/x")
    refused = transport_error(httpx.ConnectError("no", request=request), "GET /x")
    assert isinstance(refused, TransientError) and not refused.sent
    lost = transport_error(httpx.ReadTimeout("slow", request=request), "GET /x")
    assert isinstance(lost, TransientError) and lost.sent
    wrong = transport_error(httpx.UnsupportedProtocol("ftp", request=request), "GET /x")
    assert type(wrong) is ConnectorError


class _Calls:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.made = 0

    def __call__(self) -> str:
        self.made += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def _run(calls: _Calls, sleeps: list[float], **kwargs: object) -> str:
    options = RetryOptions.model_validate({"attempts": 4, "max_wait_seconds": 10})
    for attempt in retrying(options, sleep=sleeps.append, **kwargs):  # type: ignore[arg-type]
        with attempt:
            return calls()
    raise AssertionError("unreachable")


def test_the_policy_retries_only_what_is_transient_and_waits_the_servers_delay() -> None:
    sleeps: list[float] = []
    calls = _Calls(TransientError("503", retry_after=3.0), TransientError("timeout"))
    assert _run(calls, sleeps) == "done" and calls.made == 3
    assert sleeps[0] >= 3.0 and 0 <= sleeps[1] <= 10

    for final in (AuthError("401"), RecordRefusedError("422"), ConnectorError("405")):
        sleeps = []
        calls = _Calls(final)
        with pytest.raises(type(final)):
            _run(calls, sleeps)
        assert calls.made == 1 and sleeps == []


def test_the_policy_gives_up_and_reraises_the_last_error() -> None:
    sleeps: list[float] = []
    calls = _Calls(*[TransientError(f"503 #{i}") for i in range(5)])
    with pytest.raises(TransientError, match="503 #3"):
        _run(calls, sleeps)
    assert calls.made == 4 and len(sleeps) == 3


def test_the_policy_never_resends_what_may_have_been_acted_on_nor_waits_too_long() -> None:
    sleeps: list[float] = []
    unsent = _Calls(TransientError("429", sent=False))
    assert _run(unsent, sleeps, idempotent=False) == "done"
    for error in (
        TransientError("502 after sending", sent=True),
        TransientError("come back tomorrow", retry_after=3600.0, sent=False),
        QuotaExhaustedError("quota", resume_at=NOW),
    ):
        calls = _Calls(error)
        with pytest.raises(TransientError):
            _run(calls, sleeps, idempotent=False)
        assert calls.made == 1


def test_the_daemons_clients_answer_through_one_transport_and_close_together() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url} {request.headers.get('X-Test')}")
        return httpx.Response(204)

    clients = HttpClients(transport=httpx.MockTransport(answer))
    one = clients.client(
        ClientSettings(timeout=5, base_url="http://a.test", headers={"X-Test": "1"})
    )
    two = clients.client(ClientSettings(timeout=5, auth=("u", "p")))
    assert one.get("/x").status_code == 204 and two.get("http://b.test/y").status_code == 204
    assert seen == ["GET http://a.test/x 1", "GET http://b.test/y None"]
    clients.release(one)
    assert one.is_closed and not two.is_closed
    clients.close()
    assert two.is_closed


# -- CardDAV on exact answers ---------------------------------------------------------------

BOOK = "https://dav.example.test/dav/ada/contacts/"
MULTISTATUS = (
    '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response>'
    "<d:href>/dav/ada/contacts/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/>"
    "</d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
    "</d:response></d:multistatus>"
)


@pytest.fixture
def carddav() -> Iterator[tuple[CardDavConnector, list[float]]]:
    options = CardDavOptions.model_validate(
        {
            "url": BOOK,
            "username": "ada",
            "password": "pw",
            "use_sync_collection": False,
            "retry": {"attempts": 3, "max_wait_seconds": 30},
            "objects": {"contacts": {}},
        }
    )
    sleeps: list[float] = []
    connector = CardDavConnector("phonebook", options, sleep=sleeps.append)
    yield connector, sleeps
    connector.close()


@respx.mock
def test_carddav_waits_retry_after_then_reads(
    carddav: tuple[CardDavConnector, list[float]],
) -> None:
    connector, sleeps = carddav
    respx.route(method="PROPFIND", url=BOOK).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "4"}),
            httpx.Response(207, text=MULTISTATUS),
        ]
    )
    page = connector.fetch_changes("contacts", None, limit=10, resume=True)
    assert page.records == [] and len(sleeps) == 1 and sleeps[0] >= 4.0


@respx.mock
def test_carddav_gives_up_retriably_after_its_attempts(
    carddav: tuple[CardDavConnector, list[float]],
) -> None:
    connector, sleeps = carddav
    route = respx.route(method="PROPFIND", url=BOOK).mock(return_value=httpx.Response(503))
    with pytest.raises(TransientError, match="503"):
        connector.fetch_changes("contacts", None, limit=10, resume=True)
    assert route.call_count == 3 and len(sleeps) == 2


@respx.mock
@pytest.mark.parametrize("status", [401, 403])
def test_carddav_refused_credentials_are_auth_errors_and_never_retried(
    carddav: tuple[CardDavConnector, list[float]], status: int
) -> None:
    connector, sleeps = carddav
    route = respx.route(method="PROPFIND", url=BOOK).mock(return_value=httpx.Response(status))
    with pytest.raises(AuthError, match=f"{status}") as info:
        connector.fetch_changes("contacts", None, limit=10, resume=True)
    assert route.call_count == 1 and sleeps == [] and "pw" not in str(info.value)
