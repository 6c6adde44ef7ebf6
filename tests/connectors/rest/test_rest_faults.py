"""The rest connector against exact faulty answers (respx): each ends in success after
retries or in a typed error, never a crash and never a half-read page or half-applied record.

Time is the fake clock's: a sleep advances it, so "the next request comes no sooner" is
asserted on the clock each request saw, never by timing real sleeps.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from connectors.base import ConnectorError, WriteOutcome, WriteRequest
from connectors.rest import AuthError, QuotaExhaustedError, RestConnector
from tests.connectors.rest.conftest import FakeClock, MakeConnector

BASE = "https://api.test/v1"
TOKEN = "tok-SECRET-123"


def opts(**extra: Any) -> dict[str, Any]:
    obj = {
        "path": "/customers",
        "records_path": "data",
        "updated_since_param": "updated_since",
        "find_param": "email",
        **extra.pop("obj", {}),
    }
    return {
        "base_url": BASE,
        "auth": {"type": "bearer", "token": TOKEN},
        "retry": {"attempts": 5, "max_wait_seconds": 30},
        "objects": {"customers": obj},
        **extra,
    }


def customer(i: int, **more: Any) -> dict[str, Any]:
    return {"id": i, "email": f"c{i}@x.io", "updated_at": f"2024-05-01T10:00:0{i % 10}Z", **more}


OK_LIST = httpx.Response(200, json={"data": [customer(1), customer(2)]})


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


class Recorder:
    """A respx side effect answering from a script and noting the clock at each request."""

    def __init__(self, clock: FakeClock, answers: list[Any]) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.times: list[float] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(self.clock())
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            result: httpx.Response = answer(request)
            return result
        assert isinstance(answer, httpx.Response)
        return answer


def page(connector: RestConnector) -> list[str]:
    result = connector.fetch_changes("customers", None, limit=100, resume=True)
    return [r.id for r in result.records]


# ------------------------------------------------------------------ 429 and Retry-After


def test_429_retry_after_seconds_holds_the_next_request_back(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock
) -> None:
    script = Recorder(clock, [httpx.Response(429, headers={"Retry-After": "7"}), OK_LIST])
    mock.get("/customers").mock(side_effect=script)

    assert page(make(opts())) == ["1", "2"]
    assert len(script.times) == 2
    assert script.times[1] - script.times[0] >= 7


def test_429_retry_after_http_date_holds_back_every_next_request(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock
) -> None:
    when = email.utils.format_datetime(clock.now() + timedelta(seconds=12), usegmt=True)
    lists = Recorder(clock, [httpx.Response(429, headers={"Retry-After": when}), OK_LIST])
    mock.get("/customers").mock(side_effect=lists)
    reads = Recorder(clock, [httpx.Response(200, json=customer(1))])
    mock.get("/customers/1").mock(side_effect=reads)
    connector = make(opts(retry={"attempts": 1, "max_wait_seconds": 30}))

    with pytest.raises(ConnectorError) as caught:
        page(connector)  # one attempt only: gives up on the 429
    assert caught.value.retriable
    connector.fetch_by_ids("customers", ["1"])  # another call: still held back

    assert reads.times[0] - lists.times[0] >= 12


def test_a_retry_after_longer_than_max_wait_is_a_retriable_error_not_a_long_sleep(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock
) -> None:
    script = Recorder(clock, [httpx.Response(429, headers={"Retry-After": "3600"}), OK_LIST])
    mock.get("/customers").mock(side_effect=script)
    with pytest.raises(ConnectorError) as caught:
        page(make(opts()))
    assert caught.value.retriable and caught.value.data["retry_after"] >= 3000
    assert sum(clock.sleeps) <= 30
    assert len(script.times) == 1


# ------------------------------------------------------------------ server errors, transport


def test_500_502_503_then_success_is_retried_with_bounded_backoff(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock
) -> None:
    script = Recorder(
        clock, [httpx.Response(500), httpx.Response(502), httpx.Response(503), OK_LIST]
    )
    mock.get("/customers").mock(side_effect=script)
    assert page(make(opts())) == ["1", "2"]
    assert len(script.times) == 4
    assert len(clock.sleeps) == 3 and all(0 <= s <= 30 for s in clock.sleeps)


def test_server_errors_beyond_the_attempts_are_one_retriable_error(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock
) -> None:
    script = Recorder(clock, [httpx.Response(503, json={"message": "maintenance"})])
    mock.get("/customers").mock(side_effect=script)
    with pytest.raises(ConnectorError, match="maintenance") as caught:
        page(make(opts()))
    assert caught.value.retriable
    assert len(script.times) == 5


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ReadTimeout("hung"),
        httpx.ConnectTimeout("no answer"),
        httpx.RemoteProtocolError("peer closed connection without sending complete body"),
        httpx.ReadError("connection reset by peer"),
        httpx.ConnectError("refused"),
    ],
    ids=lambda f: type(f).__name__,
)
def test_timeouts_and_dropped_connections_are_retried_then_succeed(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock, fault: Exception
) -> None:
    script = Recorder(clock, [fault, fault, OK_LIST])
    mock.get("/customers").mock(side_effect=script)
    assert page(make(opts())) == ["1", "2"]
    assert len(script.times) == 3


def test_a_create_that_timed_out_is_sent_again_with_the_key_the_api_dedupes_by(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock
) -> None:
    script = Recorder(clock, [httpx.ReadTimeout("hung"), httpx.Response(201, json=customer(9))])
    mock.post("/customers").mock(side_effect=script)
    connector = make(opts(obj={"find_param": None, "idempotency_header": "Idempotency-Key"}))
    (result,) = connector.write("customers", [WriteRequest("sync:9", None, {"email": "a@x.io"})])
    assert result.outcome is WriteOutcome.CREATED and result.external_id == "9"
    keys = [r.headers["Idempotency-Key"] for r in script.requests]
    assert keys == ["sync:9", "sync:9"]


# ------------------------------------------------------------------ broken bodies


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [{"id": 1, "email": "a@x.io"}, {"id": 2',  # cut short
        b"<html><body>Bad Gateway</body></html>",
        b"",
        b"[" * 50_000 + b"]" * 50_000,
        b"\xff\xfe\x00garbage",
    ],
    ids=["truncated", "html", "empty", "deep", "binary"],
)
def test_a_broken_list_body_is_a_retriable_error_and_nothing_is_returned(
    mock: respx.MockRouter, make: MakeConnector, body: bytes
) -> None:
    mock.get("/customers").mock(return_value=httpx.Response(200, content=body))
    with pytest.raises(ConnectorError) as caught:
        page(make(opts()))
    assert caught.value.retriable
    assert "JSON" in str(caught.value)


def test_a_broken_body_on_a_read_by_id_is_a_retriable_error(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    mock.get("/customers/1").mock(return_value=httpx.Response(200, content=b'{"id": 1, "em'))
    with pytest.raises(ConnectorError) as caught:
        make(opts()).fetch_by_ids("customers", ["1"])
    assert caught.value.retriable


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"data": {"id": 1}}, "records_path"),
        ({"items": []}, None),  # the list left out when empty: an empty page
        ({"data": [1, 2]}, "not an object"),
        ({"data": [{"email": "a@x.io"}]}, "'id'"),
        ({"data": [{"id": True}]}, "'id'"),
        ({"data": [{"id": 1, "updated_at": "last week"}]}, "ISO 8601"),
        ({"data": [{"id": 1, "updated_at": 1e300}]}, "ISO 8601"),
    ],
)
def test_records_of_the_wrong_shape_are_named_errors(
    mock: respx.MockRouter, make: MakeConnector, body: Any, problem: str | None
) -> None:
    mock.get("/customers").mock(return_value=httpx.Response(200, json=body))
    connector = make(opts())
    if problem is None:
        assert page(connector) == []
        return
    with pytest.raises(ConnectorError, match=problem):
        page(connector)


def test_epoch_seconds_and_milliseconds_are_read_as_utc(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    data = [
        {"id": 1, "updated_at": 1714557600},
        {"id": 2, "updated_at": "1714557600000"},
        {"id": 3, "updated_at": "2024-05-01T12:00:00"},
    ]
    mock.get("/customers").mock(return_value=httpx.Response(200, json={"data": data}))
    records = make(opts()).fetch_changes("customers", None, limit=10, resume=True).records
    expected = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert [r.updated_at for r in records] == [expected, expected, expected + timedelta(hours=2)]


def test_an_oversized_answer_is_refused_not_buffered(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    huge = json.dumps({"data": [customer(1, pad="x" * 5000)]}).encode()

    def stream(_: httpx.Request) -> httpx.Response:
        # No Content-Length: the limit must hold while streaming, too.
        return httpx.Response(200, stream=httpx.ByteStream(huge), headers={})

    mock.get("/customers").mock(side_effect=stream)
    connector = make(opts(max_response_bytes=2048))
    with pytest.raises(ConnectorError, match="max_response_bytes"):
        page(connector)


def test_a_link_to_another_site_is_not_followed_with_our_credentials(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    mock.get("/customers").mock(
        return_value=httpx.Response(
            200,
            json=[customer(1)],
            headers={"Link": '<https://evil.test/steal?page=2>; rel="next"'},
        )
    )
    evil = mock.get("https://evil.test/steal").mock(return_value=httpx.Response(200, json=[]))
    connector = make(opts(obj={"records_path": "", "paging": {"type": "link"}}))
    first = connector.fetch_changes("customers", None, limit=10, resume=True)
    assert first.has_more
    with pytest.raises(ConnectorError, match="another site"):
        connector.fetch_changes("customers", first.cursor, limit=10, resume=False)
    assert not evil.called


def test_an_api_repeating_the_same_cursor_is_stopped_not_read_forever(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    mock.get("/customers").mock(
        return_value=httpx.Response(200, json={"data": [customer(1)], "next": "same"})
    )
    connector = make(
        opts(obj={"paging": {"type": "cursor", "param": "cursor", "next_path": "next"}})
    )
    with pytest.raises(ConnectorError, match="same next page"):
        list(connector.iter_ids("customers"))


# ------------------------------------------------------------------ writes


def _by_email(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    if body["email"] == "bad@x.io":
        return httpx.Response(
            422, json={"error": {"message": "email domain refused"}, "echo": body}
        )
    if body["email"] == "down@x.io":
        return httpx.Response(503)
    return httpx.Response(201, json={**body, "id": abs(hash(body["email"])) % 1000})


def test_4xx_and_exhausted_5xx_fail_only_their_record_of_a_batch(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    mock.post("/customers").mock(side_effect=_by_email)
    connector = make(opts(obj={"find_param": None}))
    emails = ["a@x.io", "bad@x.io", "down@x.io", "b@x.io"]
    results = connector.write(
        "customers", [WriteRequest(f"k{i}", None, {"email": e}) for i, e in enumerate(emails)]
    )
    assert [r.outcome for r in results] == [
        WriteOutcome.CREATED,
        WriteOutcome.FAILED,
        WriteOutcome.FAILED,
        WriteOutcome.CREATED,
    ]
    bad, down = results[1], results[2]
    assert bad.retriable is False and bad.error is not None
    assert "422" in bad.error and "email domain refused" in bad.error
    assert "bad@x.io" not in bad.error
    # A 503 after sending may hide a made record, and nothing can look it up: never sent
    # again blindly, failed for an operator.
    assert down.maybe_created and not down.retriable and "503" in (down.error or "")
    assert len([c for c in mock.calls if c.request.method == "POST"]) == 4


def test_an_api_message_echoing_the_token_is_scrubbed(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    mock.patch("/customers/1").mock(
        return_value=httpx.Response(400, json={"message": f"bad request from {TOKEN}"})
    )
    (result,) = make(opts()).write("customers", [WriteRequest("k", "1", {"email": "a@x.io"})])
    assert result.error is not None and TOKEN not in result.error and "***" in result.error


def test_delete_failures_are_per_record(mock: respx.MockRouter, make: MakeConnector) -> None:
    mock.delete("/customers/1").mock(return_value=httpx.Response(204))
    mock.delete("/customers/2").mock(return_value=httpx.Response(410))
    mock.delete("/customers/3").mock(return_value=httpx.Response(500))
    mock.delete("/customers/4").mock(return_value=httpx.Response(409, json={"message": "locked"}))
    results = make(opts()).delete("customers", ["1", "2", "3", "4"])
    assert [r.outcome for r in results] == [
        WriteOutcome.DELETED,
        WriteOutcome.DELETED,
        WriteOutcome.FAILED,
        WriteOutcome.FAILED,
    ]
    assert results[2].retriable and not results[3].retriable
    assert "locked" in (results[3].error or "")


def test_batch_create_uses_the_batch_endpoint_and_isolates_a_refused_record(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    def batch(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["inputs"]
        if any(i["email"] == "bad@x.io" for i in inputs):
            return httpx.Response(400, json={"message": "one input is invalid"})
        return httpx.Response(
            200, json={"results": [{**i, "id": n + 100} for n, i in enumerate(inputs)]}
        )

    batch_route = mock.post("/customers/batch").mock(side_effect=batch)
    single = mock.post("/customers").mock(side_effect=_by_email)
    connector = make(
        opts(obj={"find_param": None, "batch_create": {"path": "/customers/batch", "max": 2}})
    )

    ok = connector.write(
        "customers", [WriteRequest(f"k{i}", None, {"email": f"{i}@x.io"}) for i in range(3)]
    )
    assert [r.external_id for r in ok] == ["100", "101", "100"]
    assert batch_route.call_count == 2 and single.call_count == 0  # max 2 per batch call

    mixed = connector.write(
        "customers",
        [
            WriteRequest("a", None, {"email": "a@x.io"}),
            WriteRequest("b", None, {"email": "bad@x.io"}),
        ],
    )
    assert [r.outcome for r in mixed] == [WriteOutcome.CREATED, WriteOutcome.FAILED]


def test_a_batch_answer_that_does_not_match_the_inputs_fails_them_retriably(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    mock.patch("/customers/batch").mock(
        return_value=httpx.Response(200, json={"results": [customer(1)]})
    )
    connector = make(opts(obj={"batch_update": {"path": "/customers/batch", "method": "PATCH"}}))
    results = connector.write(
        "customers", [WriteRequest("a", "1", {"x": 1}), WriteRequest("b", "2", {"x": 2})]
    )
    assert all(r.outcome is WriteOutcome.FAILED and r.retriable for r in results)


# ------------------------------------------------------------------ auth failures

OAUTH = {
    "type": "oauth2",
    "token_url": "https://auth.test/token",
    "client_id": "cid",
    "client_secret": "CLIENT-SECRET-xyz",
}


def _tokens() -> Callable[[httpx.Request], httpx.Response]:
    issued = iter(range(1, 100))

    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access_token": f"t{next(issued)}", "expires_in": 600})

    return answer


def test_a_401_refreshes_the_oauth2_token_once_then_succeeds(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    token = mock.post("https://auth.test/token").mock(side_effect=_tokens())

    def api(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer t1":
            return httpx.Response(401, json={"message": "token revoked"})
        return OK_LIST

    mock.get("/customers").mock(side_effect=api)
    assert page(make(opts(auth=OAUTH))) == ["1", "2"]
    assert token.call_count == 2
    form = token.calls[0].request.content.decode()
    assert "grant_type=client_credentials" in form and "client_secret=CLIENT-SECRET-xyz" in form


def test_a_401_refresh_cannot_fix_is_an_auth_error_naming_the_connector(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    token = mock.post("https://auth.test/token").mock(side_effect=_tokens())
    listing = mock.get("/customers").mock(return_value=httpx.Response(401))
    with pytest.raises(AuthError, match="connector shop") as caught:
        page(make(opts(auth=OAUTH)))
    assert caught.value.retriable is False
    assert token.call_count == 2 and listing.call_count == 2
    assert "CLIENT-SECRET" not in str(caught.value) and "t2" not in str(caught.value)


def test_a_token_endpoint_hiccup_is_retried(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock
) -> None:
    token = mock.post("https://auth.test/token").mock(
        side_effect=[httpx.Response(503), httpx.ReadTimeout("slow"), *_responses(_tokens(), 1)]
    )
    mock.get("/customers").mock(return_value=OK_LIST)
    assert page(make(opts(auth=OAUTH))) == ["1", "2"]
    assert token.call_count == 3


def _responses(answer: Callable[[httpx.Request], httpx.Response], n: int) -> list[httpx.Response]:
    dummy = httpx.Request("POST", "https://auth.test/token")
    return [answer(dummy) for _ in range(n)]


@pytest.mark.parametrize("raw", ["inf", "nan", "garbage", "-5", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_a_broken_retry_after_never_stops_the_connector_for_long(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock, raw: str
) -> None:
    script = Recorder(clock, [httpx.Response(429, headers={"Retry-After": raw}), OK_LIST])
    mock.get("/customers").mock(side_effect=script)
    try:
        assert page(make(opts())) == ["1", "2"]
    except ConnectorError as exc:  # "inf": capped to a day, beyond max_wait: a typed error
        assert exc.retriable and exc.data["retry_after"] <= 86_400
    assert sum(clock.sleeps) <= 30


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_static_credential_is_an_auth_error_without_retries(
    mock: respx.MockRouter, make: MakeConnector, status: int
) -> None:
    listing = mock.get("/customers").mock(return_value=httpx.Response(status))
    with pytest.raises(AuthError) as caught:
        page(make(opts()))
    assert listing.call_count == 1 and TOKEN not in str(caught.value)


def test_the_token_endpoint_refusing_the_client_is_an_auth_error(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    mock.post("https://auth.test/token").mock(
        return_value=httpx.Response(401, json={"error": "invalid_client"})
    )
    with pytest.raises(AuthError, match="invalid_client"):
        page(make(opts(auth=OAUTH)))


def test_an_auth_error_during_writes_raises_so_the_sync_pauses(
    mock: respx.MockRouter, make: MakeConnector
) -> None:
    mock.patch("/customers/1").mock(return_value=httpx.Response(403))
    with pytest.raises(AuthError):
        make(opts()).write("customers", [WriteRequest("k", "1", {"email": "a@x.io"})])


# ------------------------------------------------------------------ pacing


def test_rate_limit_spaces_requests_as_configured(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock
) -> None:
    script = Recorder(clock, [httpx.Response(200, json=customer(1))])
    mock.get(url__regex=r"/customers/\d+").mock(side_effect=script)
    connector = make(opts(rate_limit={"requests": 2, "per_seconds": 1}))
    connector.fetch_by_ids("customers", [str(i) for i in range(10)])
    assert len(script.times) == 10
    for i, when in enumerate(script.times):
        # A burst of 2, then no more than 2 per second.
        assert when - script.times[0] >= max(0, (i - 1) / 2) - 1e-9


def test_daily_quota_is_never_exceeded_and_says_when_it_resets(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock
) -> None:
    listing = mock.get("/customers").mock(
        return_value=httpx.Response(200, json={"data": [customer(1)], "next": "n"})
    )
    mock.get(url__regex=r"/customers/\d+").mock(return_value=httpx.Response(200, json=customer(1)))
    connector = make(
        opts(
            daily_quota={"calls": 3, "reset_utc_hour": 6},
            obj={"paging": {"type": "cursor", "param": "c", "next_path": "next"}},
        )
    )
    cursor = None
    listing.side_effect = lambda r: httpx.Response(
        200, json={"data": [customer(1)], "next": f"n{len(listing.calls)}"}
    )
    for _ in range(3):
        cursor = connector.fetch_changes("customers", cursor, limit=10, resume=False).cursor
    with pytest.raises(QuotaExhaustedError) as caught:
        connector.fetch_changes("customers", cursor, limit=10, resume=False)
    assert caught.value.retriable
    assert caught.value.resume_at == datetime(2024, 5, 2, 6, 0, tzinfo=UTC)  # now 2024-05-01 12:00
    assert listing.call_count == 3

    # A step that needs more calls than are left is refused before its first call.
    clock.advance(24 * 3600)
    with pytest.raises(QuotaExhaustedError):
        connector.fetch_by_ids("customers", ["1", "2", "3", "4"])
    assert [r.id for r in connector.fetch_by_ids("customers", ["1", "2", "3"])] == ["1"] * 3


def test_a_quota_running_out_mid_write_fails_the_rest_retriably(
    mock: respx.MockRouter, make: MakeConnector, clock: FakeClock
) -> None:
    patch = mock.patch(url__regex=r"/customers/\d+").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(503),
            httpx.Response(200, json=customer(1)),
        ]
    )
    connector = make(opts(daily_quota={"calls": 3}))
    results = connector.write(
        "customers", [WriteRequest("a", "1", {"x": 1}), WriteRequest("b", "2", {"x": 2})]
    )
    assert results[0].outcome is WriteOutcome.UPDATED
    assert results[1].outcome is WriteOutcome.FAILED and results[1].retriable
    assert "quota" in (results[1].error or "")
    assert patch.call_count == 3
