"""Writing to HubSpot: batch create/update/archive, 207 partial failures, 409 and errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from connectors.base import WriteOutcome, WriteRequest
from connectors.hubspot import AuthError, HubSpotError

from .conftest import TOKEN, Clock, Factory
from .fake import BASE, FakeHubSpot, batch_body, error_body

OBJ = f"{BASE}/crm/v3/objects/contacts"


def create(key: str, email: str, match: bool = True, **fields: Any) -> WriteRequest:
    return WriteRequest(
        key=key,
        external_id=None,
        fields={"email": email, **fields},
        match=("email", email) if match else None,
    )


def test_creates_and_updates_map_back_in_request_order(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    old = fake.add({"email": "old@x.io", "firstname": "Old"})

    results = make().write(
        "people",
        [
            create("k1", "ada@x.io", firstname="Ada"),
            WriteRequest("k2", old, {"firstname": "Renamed"}),
            create("k3", "bob@x.io", match=False, firstname="Bob"),
        ],
    )

    assert [r.outcome for r in results] == [
        WriteOutcome.CREATED,
        WriteOutcome.UPDATED,
        WriteOutcome.CREATED,
    ]
    assert fake.records[results[0].external_id or ""]["firstname"] == "Ada"
    assert fake.records[results[2].external_id or ""]["firstname"] == "Bob"
    assert fake.records[old]["firstname"] == "Renamed"
    assert results[0].record is not None and results[0].record.updated_at is not None
    creates = [c for c in fake.calls if c[1] == "batch/create"]
    assert [i["objectWriteTraceId"] for i in creates[0][2]["inputs"]] == ["k1", "k3"]


def test_create_with_match_updates_the_record_already_there(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    there = fake.add({"email": "ada@x.io", "firstname": "Ada"})

    (result,) = make().write("people", [create("k1", "ADA@x.io", firstname="Augusta")])

    assert (result.outcome, result.external_id) == (WriteOutcome.CREATED, there)
    assert fake.records[there]["firstname"] == "Augusta"
    assert not [c for c in fake.calls if c[1] == "batch/create"]
    assert len(fake.records) == 1


def test_a_207_conflict_on_create_becomes_an_update_of_the_existing_record(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    there = fake.add({"email": "ada@x.io"})

    results = make().write(
        "people",
        [create("k1", "ada@x.io", match=False, firstname="A"), create("k2", "b@x.io", match=False)],
    )

    assert next((r.outcome, r.external_id) for r in results) == (WriteOutcome.CREATED, there)
    assert results[1].outcome is WriteOutcome.CREATED and results[1].external_id != there
    assert fake.records[there]["firstname"] == "A"
    assert len(fake.records) == 2


def test_a_whole_batch_409_is_split_to_find_the_duplicate(
    router: respx.MockRouter, make: Factory
) -> None:
    made: list[str] = []

    def create_route(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["inputs"]
        if any(i["properties"]["email"] == "dup@x.io" for i in inputs):
            return httpx.Response(
                409,
                json=error_body(409, "Contact already exists. Existing ID: 555", "CONFLICT"),
            )
        made.append(inputs[0]["objectWriteTraceId"])
        return httpx.Response(
            201,
            json=batch_body(
                [
                    {
                        "id": "900",
                        "properties": {"email": "ok@x.io"},
                        "objectWriteTraceId": "k2",
                        "updatedAt": "2024-05-01T10:00:00.000Z",
                    }
                ],
                [],
            ),
        )

    router.post(f"{OBJ}/batch/create").mock(side_effect=create_route)
    update = router.post(f"{OBJ}/batch/update").mock(
        return_value=httpx.Response(
            200,
            json=batch_body(
                [
                    {
                        "id": "555",
                        "properties": {"email": "dup@x.io"},
                        "updatedAt": "2024-05-01T10:00:00.000Z",
                    }
                ],
                [],
            ),
        )
    )

    results = make().write(
        "people", [create("k1", "dup@x.io", match=False), create("k2", "ok@x.io", match=False)]
    )

    assert [(r.outcome, r.external_id) for r in results] == [
        (WriteOutcome.CREATED, "555"),
        (WriteOutcome.CREATED, "900"),
    ]
    assert json.loads(update.calls[0].request.content)["inputs"][0]["id"] == "555"


def test_207_create_failure_fails_only_that_input(router: respx.MockRouter, make: Factory) -> None:
    message = (
        'Property values were not valid: [{"isValid":false,"message":"Property \\"missing\\" '
        'does not exist","error":"PROPERTY_DOESNT_EXIST","name":"missing"}]'
    )
    router.post(f"{OBJ}/batch/create").mock(
        return_value=httpx.Response(
            207,
            json=batch_body(
                [
                    {
                        "id": "901",
                        "properties": {"email": "a@x.io"},
                        "objectWriteTraceId": "k1",
                        "updatedAt": "2024-05-01T10:00:00.000Z",
                    }
                ],
                [
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": message,
                        "context": {"objectWriteTraceId": ["k2"]},
                    }
                ],
            ),
        )
    )

    results = make().write(
        "people", [create("k1", "a@x.io", match=False), create("k2", "b@x.io", match=False)]
    )

    assert results[0].outcome is WriteOutcome.CREATED and results[0].external_id == "901"
    assert results[1].outcome is WriteOutcome.FAILED
    assert "PROPERTY_DOESNT_EXIST" in (results[1].error or "")
    assert "VALIDATION_ERROR" in (results[1].error or "")
    assert results[1].retriable is False


def test_a_create_hubspot_never_confirms_fails_retriable(
    router: respx.MockRouter, make: Factory
) -> None:
    router.post(f"{OBJ}/batch/create").mock(
        return_value=httpx.Response(207, json=batch_body([], []))
    )
    (result,) = make().write("people", [create("k1", "a@x.io", match=False)])
    assert result.outcome is WriteOutcome.FAILED and result.retriable is True


def test_207_update_marks_missing_ids_failed(router: respx.MockRouter, make: Factory) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    ada = fake.add({"email": "ada@x.io"})

    results = make().write(
        "people",
        [
            WriteRequest("k1", "424242", {"firstname": "X"}),
            WriteRequest("k2", ada, {"firstname": "A"}),
        ],
    )

    assert results[0].outcome is WriteOutcome.FAILED
    assert "no contacts record with id '424242'" in (results[0].error or "")
    assert results[1].outcome is WriteOutcome.UPDATED
    assert fake.records[ada]["firstname"] == "A"


def test_a_400_for_the_batch_is_retried_input_by_input(
    router: respx.MockRouter, make: Factory
) -> None:
    def update_route(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["inputs"]
        if any(i["properties"].get("lifecyclestage") == "bogus" for i in inputs):
            return httpx.Response(
                400,
                json=error_body(
                    400,
                    "Property values were not valid",
                    "VALIDATION_ERROR",
                    errors=[
                        {
                            "message": "bogus is not a valid option",
                            "code": "INVALID_OPTION",
                            "context": {"propertyName": ["lifecyclestage"]},
                        }
                    ],
                ),
            )
        return httpx.Response(
            200,
            json=batch_body(
                [
                    {
                        "id": i["id"],
                        "properties": i["properties"],
                        "updatedAt": "2024-05-01T10:00:00.000Z",
                    }
                    for i in inputs
                ],
                [],
            ),
        )

    route = router.post(f"{OBJ}/batch/update").mock(side_effect=update_route)

    results = make().write(
        "people",
        [
            WriteRequest("k1", "1", {"firstname": "A"}),
            WriteRequest("k2", "2", {"lifecyclestage": "bogus"}),
            WriteRequest("k3", "3", {"firstname": "C"}),
        ],
    )

    assert [r.outcome for r in results] == [
        WriteOutcome.UPDATED,
        WriteOutcome.FAILED,
        WriteOutcome.UPDATED,
    ]
    assert "Property values were not valid" in (results[1].error or "")
    assert route.call_count == 4


def test_values_become_hubspot_strings_and_bad_values_fail_alone(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    ada = fake.add({"email": "ada@x.io"})

    results = make().write(
        "people",
        [
            WriteRequest(
                "k1",
                ada,
                {"vip": True, "score": 12.5, "big": 1e20, "tags": ["a", "b"], "firstname": None},
            ),
            WriteRequest("k2", ada, {"blob": {"nested": 1}}),
            WriteRequest("k3", ada, {"n": float("nan")}),
        ],
    )

    assert results[0].outcome is WriteOutcome.UPDATED
    sent = next(c for c in fake.calls if c[1] == "batch/update")[2]["inputs"]
    assert sent == [
        {
            "id": ada,
            "properties": {
                "vip": "true",
                "score": "12.5",
                "big": "100000000000000000000",
                "tags": "a;b",
                "firstname": "",
            },
        }
    ]
    assert results[1].outcome is WriteOutcome.FAILED and "holds a dict" in (results[1].error or "")
    assert results[2].outcome is WriteOutcome.FAILED and "nan" in (results[2].error or "")


def test_updates_of_one_id_twice_go_in_separate_batches(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    ada = fake.add({"email": "ada@x.io"})
    results = make().write(
        "people",
        [WriteRequest("k1", ada, {"firstname": "A"}), WriteRequest("k2", ada, {"lastname": "L"})],
    )
    assert all(r.outcome is WriteOutcome.UPDATED for r in results)
    assert len([c for c in fake.calls if c[1] == "batch/update"]) == 2
    assert fake.records[ada]["firstname"] == "A" and fake.records[ada]["lastname"] == "L"


def test_250_creates_go_in_three_batches(router: respx.MockRouter, make: Factory) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    results = make().write(
        "people", [create(f"k{i}", f"p{i}@x.io", match=False) for i in range(250)]
    )
    assert all(r.outcome is WriteOutcome.CREATED for r in results)
    assert len({r.external_id for r in results}) == 250
    creates = [c for c in fake.calls if c[1] == "batch/create"]
    assert [len(c[2]["inputs"]) for c in creates] == [100, 100, 50]


def test_delete_archives_in_batches_and_gone_counts_as_deleted(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    made = [fake.add({"email": f"p{i}@x.io"}) for i in range(120)]

    results = make().delete("people", [*made, "999999", "bad id"])

    assert all(r.outcome is WriteOutcome.DELETED for r in results)
    assert [r.external_id for r in results] == [*made, "999999", "bad id"]
    assert fake.records == {}
    archives = [c for c in fake.calls if c[1] == "batch/archive"]
    assert [len(c[2]["inputs"]) for c in archives] == [100, 21]


def test_create_is_not_retried_after_a_500_but_update_is(
    router: respx.MockRouter, make: Factory
) -> None:
    created = router.post(f"{OBJ}/batch/create").mock(
        return_value=httpx.Response(500, json=error_body(500, "internal error", "INTERNAL_ERROR"))
    )
    updated = router.post(f"{OBJ}/batch/update").mock(
        side_effect=[
            httpx.Response(502, text="<html>Bad gateway</html>"),
            httpx.Response(
                200,
                json=batch_body(
                    [
                        {
                            "id": "7",
                            "properties": {"firstname": "A"},
                            "updatedAt": "2024-05-01T10:00:00.000Z",
                        }
                    ],
                    [],
                ),
            ),
        ]
    )

    results = make().write(
        "people", [create("k1", "a@x.io", match=False), WriteRequest("k2", "7", {"firstname": "A"})]
    )

    # A 500 after sending may have created the record: it is marked so, and the engine keeps
    # its create intent open, looking it up (by match) before anything creates it again.
    assert created.call_count == 1
    assert results[0].outcome is WriteOutcome.FAILED and results[0].retriable is True
    assert results[0].maybe_created
    assert updated.call_count == 2
    assert results[1].outcome is WriteOutcome.UPDATED


# ------------------------------------------------------------------ whole-call errors


@pytest.mark.parametrize(
    ("status", "hint"),
    [(401, "create a new private app token"), (403, "lacks a scope")],
)
def test_auth_errors_are_not_retried_and_never_show_the_token(
    router: respx.MockRouter, make: Factory, status: int, hint: str
) -> None:
    route = router.post(f"{OBJ}/batch/read").mock(
        return_value=httpx.Response(
            status,
            json=error_body(
                status,
                f"Authentication credentials not found. {TOKEN}"[:40],
                "INVALID_AUTHENTICATION" if status == 401 else "MISSING_SCOPES",
            ),
        )
    )
    with pytest.raises(AuthError, match=hint) as caught:
        make().fetch_by_ids("people", ["1"])
    assert caught.value.retriable is False
    assert route.call_count == 1
    assert "SECRET" not in str(caught.value)
    assert TOKEN not in repr(make().options)


def test_auth_error_during_write_fails_the_call(router: respx.MockRouter, make: Factory) -> None:
    router.post(f"{OBJ}/batch/update").mock(
        return_value=httpx.Response(401, json=error_body(401, "expired", "EXPIRED_AUTHENTICATION"))
    )
    with pytest.raises(AuthError):
        make().write("people", [WriteRequest("k", "1", {"firstname": "A"})])


def test_404_on_an_unknown_object_type_is_a_plain_error(
    router: respx.MockRouter, make: Factory
) -> None:
    router.get(f"{BASE}/crm/v3/objects/2-123").mock(
        return_value=httpx.Response(
            404, json=error_body(404, "Unable to infer object type from: 2-123", "OBJECT_NOT_FOUND")
        )
    )
    with pytest.raises(HubSpotError, match="Unable to infer object type") as caught:
        list(make().iter_ids("cars"))
    assert caught.value.retriable is False and caught.value.status == 404


def test_429_waits_retry_after_then_succeeds(
    router: respx.MockRouter, make: Factory, clock: Clock
) -> None:
    policy = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "c0ffee00-0000-4000-8000-000000000000",
        "policyName": "TEN_SECONDLY_ROLLING",
        "requestId": "r-1",
    }
    route = router.post(f"{OBJ}/batch/read").mock(
        side_effect=[
            httpx.Response(429, json=policy, headers={"Retry-After": "3"}),
            httpx.Response(200, json=batch_body([], [])),
        ]
    )
    connector = make()
    start = clock.t
    assert connector.fetch_by_ids("people", ["1"]) == []
    assert route.call_count == 2
    assert clock.t - start >= 3
    assert connector.throttled == 1


def test_429_without_retry_after_waits_one_window(
    router: respx.MockRouter, make: Factory, clock: Clock
) -> None:
    router.post(f"{OBJ}/batch/read").mock(
        side_effect=[
            httpx.Response(
                429,
                json={
                    "status": "error",
                    "errorType": "RATE_LIMIT",
                    "policyName": "TEN_SECONDLY_ROLLING",
                },
            ),
            httpx.Response(200, json=batch_body([], [])),
        ]
    )
    start = clock.t
    make().fetch_by_ids("people", ["1"])
    assert clock.t - start >= 10


def test_a_daily_limit_429_is_not_slept_through(
    router: respx.MockRouter, make: Factory, clock: Clock
) -> None:
    router.post(f"{OBJ}/batch/read").mock(
        return_value=httpx.Response(
            429,
            json={
                "status": "error",
                "errorType": "RATE_LIMIT",
                "policyName": "DAILY",
                "message": "You have reached your daily limit.",
            },
            headers={"Retry-After": "3600"},
        )
    )
    with pytest.raises(HubSpotError, match="daily limit") as caught:
        make().fetch_by_ids("people", ["1"])
    assert caught.value.retriable is True
    assert sum(clock.sleeps) < 60


def test_a_create_refused_with_429_is_not_marked_maybe_created(
    router: respx.MockRouter, make: Factory
) -> None:
    router.post(f"{OBJ}/batch/create").mock(
        return_value=httpx.Response(429, json=error_body(429, "slow down", "RATE_LIMITS"))
    )
    connector = make(retry={"attempts": 1, "max_wait_seconds": 0})
    (result,) = connector.write("people", [create("k1", "a@x.io", match=False)])
    assert result.outcome is WriteOutcome.FAILED and not result.maybe_created


def test_5xx_and_timeouts_are_retried_a_bounded_number_of_times(
    router: respx.MockRouter, make: Factory, clock: Clock
) -> None:
    route = router.post(f"{OBJ}/batch/read").mock(
        side_effect=[
            httpx.ReadTimeout("slow"),
            httpx.Response(503, text="unavailable"),
            httpx.Response(524, text=""),
        ]
    )
    with pytest.raises(HubSpotError) as caught:
        make().fetch_by_ids("people", ["1"])
    assert route.call_count == 3
    assert caught.value.retriable is True and caught.value.status == 524
    assert len(clock.sleeps) == 2 and all(0 < s <= 30 for s in clock.sleeps)


def test_a_read_only_property_is_never_sent(router: respx.MockRouter, make: Factory) -> None:
    # The router fixture's definitions mark associatedcompanyid read-only, as HubSpot does:
    # sent even as "" it failed every contact create (issue 13, defect 7).
    fake = FakeHubSpot()
    fake.install(router)
    old = fake.add({"email": "old@x.io", "firstname": "Old"})

    results = make().write(
        "people",
        [
            create("k1", "ada@x.io", match=False, firstname="Ada", associatedcompanyid=""),
            WriteRequest("k2", old, {"firstname": "New", "associatedcompanyid": "42"}),
        ],
    )

    assert [r.outcome for r in results] == [WriteOutcome.CREATED, WriteOutcome.UPDATED]
    sent = [i["properties"] for _, _, body in fake.calls for i in body.get("inputs", [])]
    assert sent and all("associatedcompanyid" not in p for p in sent), sent
    assert {"firstname": "New"} in sent
