"""Rate limiting, webhooks, associations v4 and property definitions."""

from __future__ import annotations

import json
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from connectors.base import WebhookNotSupportedError, WriteOutcome
from connectors.hubspot import WebhookPayloadError
from connectors.hubspot._http import SlidingWindow
from connectors.hubspot._options import RateLimitOptions
from connectors.webhooks import WebhookSignatureError, sign

from .conftest import Clock, Factory, options
from .fake import BASE, batch_body

READ = f"{BASE}/crm/v3/objects/contacts/batch/read"
URL = "https://sync.example.com/webhooks/hubspot"
NOW = datetime(2024, 5, 8, 21, 18, 21, tzinfo=UTC)


class RollingLimit:
    """A HubSpot that answers 429 past ``limit`` requests in any rolling ``window`` seconds."""

    def __init__(self, clock: Clock, limit: int = 100, window: float = 10.0) -> None:
        self.clock, self.limit, self.window = clock, limit, window
        self.seen: deque[float] = deque()
        self.ok = self.refused = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = self.clock.t
        self.clock.t += 0.004  # the request takes a little time
        while self.seen and self.seen[0] <= now - self.window:
            self.seen.popleft()
        if len(self.seen) >= self.limit:
            self.refused += 1
            return httpx.Response(
                429,
                json={
                    "status": "error",
                    "message": "You have reached your ten_secondly_rolling limit.",
                    "errorType": "RATE_LIMIT",
                    "policyName": "TEN_SECONDLY_ROLLING",
                },
            )
        self.seen.append(now)
        self.ok += 1
        return httpx.Response(200, json=batch_body([], []))


def test_pacing_keeps_429s_under_one_percent(
    router: respx.MockRouter, make: Factory, clock: Clock
) -> None:
    server = RollingLimit(clock)
    router.post(READ).mock(side_effect=server)
    connector = make()

    for _ in range(1000):
        connector.fetch_by_ids("people", ["1"])

    assert server.ok == 1000
    assert server.refused / (server.ok + server.refused) < 0.01
    # Pacing alone, not 429 recovery, keeps it there: a correct limit earns none at all.
    assert server.refused == 0
    assert clock.t - 1000.0 >= 90  # 1000 requests at 100 per 10 s take about 100 s


def test_another_client_spending_the_budget_causes_few_429s(
    router: respx.MockRouter, make: Factory, clock: Clock
) -> None:
    server = RollingLimit(clock)
    router.post(READ).mock(side_effect=server)
    # Someone else used 60 of the 100 just now.
    server.seen.extend([clock.t - 0.5] * 60)
    connector = make()

    for _ in range(500):
        connector.fetch_by_ids("people", ["1"])

    assert server.ok == 500
    assert 1 <= server.refused <= 3  # the first 429 blocks all sends for a window
    assert connector.throttled == server.refused


def test_remaining_zero_header_pauses_before_a_429(
    router: respx.MockRouter, make: Factory, clock: Clock
) -> None:
    router.post(READ).mock(
        return_value=httpx.Response(
            200,
            json=batch_body([], []),
            headers={
                "X-HubSpot-RateLimit-Remaining": "0",
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            },
        )
    )
    connector = make()
    connector.fetch_by_ids("people", ["1"])
    start = clock.t
    connector.fetch_by_ids("people", ["1"])
    assert clock.t - start >= 10


def test_sliding_window_never_sends_more_than_n_in_any_window() -> None:
    clock = Clock()
    window = SlidingWindow(RateLimitOptions(requests=7, per_seconds=2.0), clock.now, clock.sleep)
    sent = []
    for i in range(200):
        window.acquire()
        sent.append(clock.t)
        clock.t += 0.013 * (i % 5)
    for i, start in enumerate(sent):
        assert sum(1 for t in sent[i:] if t < start + 2.0) <= 7


# ------------------------------------------------------------------ webhooks


def event(**overrides: Any) -> dict[str, Any]:
    base = {
        "eventId": 3029365631,
        "subscriptionId": 686627,
        "portalId": 891472211,
        "appId": 7906213,
        "occurredAt": 1715203101896,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": 847297356,
        "propertyName": "firstname",
        "propertyValue": "Ada",
        "changeSource": "CRM_UI",
        "sourceId": "userId:882761034",
    }
    base.update(overrides)
    return base


def signed(connector: Any, body: bytes, when: datetime = NOW) -> dict[str, str]:
    return sign(connector.options.webhook, method="POST", url=URL, body=body, now=when)


def test_a_good_signature_verifies_against_the_configured_url(make: Factory) -> None:
    connector = make(webhook_url=URL)
    body = json.dumps([event()]).encode()
    # The daemon behind a proxy sees another URL; the configured public one is signed.
    connector.verify_webhook(
        "POST", "http://10.0.0.5:8080/hook", signed(connector, body), body, NOW
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h, b: ({**h, "X-HubSpot-Signature-v3": "AAAA"}, b), "does not match"),
        (lambda h, b: (h, b + b" "), "does not match"),
        (lambda h, b: ({k: v for k, v in h.items() if "Timestamp" not in k}, b), "no timestamp"),
        (lambda h, b: ({**h, "X-HubSpot-Request-Timestamp": "soon"}, b), "not a number"),
    ],
    ids=["wrong-signature", "tampered-body", "no-timestamp", "bad-timestamp"],
)
def test_bad_signatures_are_refused(make: Factory, mutate: Any, message: str) -> None:
    connector = make(webhook_url=URL)
    body = json.dumps([event()]).encode()
    headers, body = mutate(signed(connector, body), body)
    with pytest.raises(WebhookSignatureError, match=message):
        connector.verify_webhook("POST", URL, headers, body, NOW)


def test_an_old_timestamp_is_refused_as_a_replay(make: Factory) -> None:
    connector = make(webhook_url=URL)
    body = json.dumps([event()]).encode()
    headers = signed(connector, body, NOW - timedelta(minutes=6))
    with pytest.raises(WebhookSignatureError, match="outside the 300 s window"):
        connector.verify_webhook("POST", URL, headers, body, NOW)


def test_an_oversized_body_is_refused_before_hashing(make: Factory) -> None:
    connector = make(webhook={"secret": "s3cret", "max_body_bytes": 2048})
    body = b"[" + b" " * 4096 + b"]"
    with pytest.raises(WebhookSignatureError, match="over the 2048 limit"):
        connector.verify_webhook("POST", URL, signed(connector, body), body, NOW)
    with pytest.raises(WebhookPayloadError, match="over the 2048 byte limit"):
        connector.parse_webhook({}, body)


def test_no_webhook_section_means_no_webhooks(make: Factory) -> None:
    connector = make(webhook=None)
    with pytest.raises(WebhookNotSupportedError):
        connector.verify_webhook("POST", URL, {}, b"[]", NOW)
    with pytest.raises(WebhookNotSupportedError):
        connector.parse_webhook({}, b"[]")


def test_default_signature_scheme_is_hubspot_v3() -> None:
    assert options().webhook is not None
    assert options().webhook.signature == "hubspot-v3"  # type: ignore[union-attr]
    assert "client-secret" not in repr(options())


def test_events_become_thin_webhook_events_for_configured_objects(make: Factory) -> None:
    connector = make()
    body = json.dumps(
        [
            event(),
            event(eventId=2, subscriptionType="contact.deletion", objectId=11),
            event(
                eventId=3,
                subscriptionType="company.creation",
                objectId=12,
                changeSource="INTEGRATION",
                sourceId="7906213",
            ),
            event(eventId=4, subscriptionType="deal.creation", objectId=13),  # not configured
            event(
                eventId=5,
                subscriptionType="object.propertyChange",
                objectTypeId="2-123",
                objectId=14,
            ),
            event(
                eventId=6,
                subscriptionType="contact.merge",
                objectId=20,
                primaryObjectId=20,
                mergedObjectIds=[20, 21],
            ),
            # HubSpot's shape: no objectId, the pair and its type instead.
            event(
                eventId=7,
                subscriptionType="contact.associationChange",
                fromObjectId=22,
                toObjectId=99,
                associationType="CONTACT_TO_COMPANY",
                associationRemoved=False,
            ),
            event(eventId=8, subscriptionType="contact.privacyDeletion", objectId=23),
        ]
    ).encode()

    events = connector.parse_webhook({}, body)

    got = [(e.external_object, e.external_id, e.deleted, e.delivery_id) for e in events]
    assert got == [
        ("people", "847297356", False, "3029365631"),
        ("people", "11", True, "2"),
        ("orgs", "12", False, "3"),
        ("cars", "14", False, "5"),
        ("people", "20", False, "6"),
        ("people", "21", True, "6"),
        ("people", "22", False, "7"),  # an association change re-reads the record
        ("people", "23", True, "8"),
    ]
    assert all(e.record is None for e in events)
    assert events[0].extra["change_source"] == "CRM_UI"
    assert events[0].extra["source_id"] == "userId:882761034"
    assert events[0].extra["own_write"] is False
    assert events[2].extra["own_write"] is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'[{"eventId": 1, "subscriptionType": "contact.creation", "objectId": 1',
            "not valid JSON",
        ),
        (b'"hello"', "not a JSON array"),
        (b"[1]", "not a JSON object"),
        (b'[{"objectId": 1}]', "no subscriptionType"),
        (b'[{"subscriptionType": "contact.creation", "objectId": {"$gt": 1}}]', "not an id"),
        (b'[{"subscriptionType": "contact.creation", "objectId": "../../etc"}]', "not an id"),
        (
            b'[{"subscriptionType": "contact.merge", "primaryObjectId": 1, "mergedObjectIds": 5}]',
            "not a list",
        ),
        (b"[" * 50_000, "not valid JSON"),
        (
            json.dumps([{"subscriptionType": "contact.creation", "objectId": 1}] * 1001).encode(),
            "over the limit of 1000",
        ),
    ],
    ids=[
        "truncated",
        "string",
        "number-event",
        "no-type",
        "object-id",
        "path-id",
        "merged-int",
        "deep",
        "too-many",
    ],
)
def test_malformed_bodies_are_refused(make: Factory, body: bytes, message: str) -> None:
    with pytest.raises(WebhookPayloadError, match=message):
        make().parse_webhook({}, body)


# ------------------------------------------------------------------ associations v4


def test_read_associations_with_labels_and_per_record_paging(
    router: respx.MockRouter, make: Factory
) -> None:
    router.post(f"{BASE}/crm/v4/associations/contacts/companies/batch/read").mock(
        return_value=httpx.Response(
            207,
            json=batch_body(
                [
                    {
                        "from": {"id": "1"},
                        "to": [
                            {
                                "toObjectId": 501,
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None},
                                    {"category": "USER_DEFINED", "typeId": 33, "label": "Billing"},
                                ],
                            }
                        ],
                        "paging": {"next": {"after": "MQ=="}},
                    },
                    {
                        "from": {"id": "2"},
                        "to": [
                            {
                                "toObjectId": 502,
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None}
                                ],
                            }
                        ],
                    },
                ],
                [
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "no 3",
                        "context": {"fromObjectId": ["3"]},
                    }
                ],
            ),
        )
    )
    more = router.get(f"{BASE}/crm/v4/objects/contacts/1/associations/companies").mock(
        return_value=httpx.Response(
            200,
            json={
                "results": [
                    {
                        "toObjectId": 503,
                        "associationTypes": [
                            {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"}
                        ],
                    }
                ]
            },
        )
    )

    links = make().read_associations("people", ["1", "2", "3"], "orgs")

    assert links == {
        "1": [("501", ["Billing"]), ("503", ["Primary"])],
        "2": [("502", [])],
    }
    assert more.calls[0].request.url.params["after"] == "MQ=="


def test_write_associations_looks_labels_up_once(router: respx.MockRouter, make: Factory) -> None:
    labels = router.get(f"{BASE}/crm/v4/associations/contacts/companies/labels").mock(
        return_value=httpx.Response(
            200,
            json={
                "results": [
                    {"category": "USER_DEFINED", "typeId": 33, "label": "Billing"},
                    {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"},
                ]
            },
        )
    )
    created = router.post(f"{BASE}/crm/v4/associations/contacts/companies/batch/create").mock(
        return_value=httpx.Response(201, json=batch_body([], []))
    )
    default = router.post(
        f"{BASE}/crm/v4/associations/contacts/companies/batch/associate/default"
    ).mock(return_value=httpx.Response(200, json=batch_body([], [])))
    connector = make()

    results = connector.write_associations(
        "people", "orgs", [("1", "501", ["billing"]), ("2", "502", []), ("3", "503", ["Nope"])]
    )
    connector.write_associations("people", "orgs", [("4", "504", ["Primary"])])

    assert [r.outcome for r in results] == [
        WriteOutcome.CREATED,
        WriteOutcome.CREATED,
        WriteOutcome.FAILED,
    ]
    assert "no association label Nope" in (results[2].error or "")
    assert "billing, primary" in (results[2].error or "")
    assert json.loads(created.calls[0].request.content)["inputs"] == [
        {
            "from": {"id": "1"},
            "to": {"id": "501"},
            "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": 33}],
        }
    ]
    assert json.loads(default.calls[0].request.content)["inputs"] == [
        {"from": {"id": "2"}, "to": {"id": "502"}}
    ]
    assert labels.call_count == 1


def test_property_definitions(router: respx.MockRouter, make: Factory) -> None:
    router.pop("properties")  # the fixture's stand-in: this test answers on its own
    router.get(f"{BASE}/crm/v3/properties/contacts").mock(
        return_value=httpx.Response(
            200,
            json={
                "results": [
                    {
                        "name": "email",
                        "label": "Email",
                        "type": "string",
                        "fieldType": "text",
                        "groupName": "contactinformation",
                    },
                    {
                        "name": "lifecyclestage",
                        "type": "enumeration",
                        "fieldType": "radio",
                        "options": [{"label": "Lead", "value": "lead"}],
                    },
                ]
            },
        )
    )
    defs = make().property_definitions("people")
    assert [d["name"] for d in defs] == ["email", "lifecyclestage"]
    assert defs[1]["options"][0]["value"] == "lead"
