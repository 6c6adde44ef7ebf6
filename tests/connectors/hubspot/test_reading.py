"""Reading from HubSpot: change pages, the 10,000 search cap, batch reads, find_by, iter_ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from connectors.base import ConnectorError
from connectors.hubspot import HubSpotError

from .conftest import TOKEN, Factory
from .fake import BASE, FakeHubSpot, iso

SEARCH = f"{BASE}/crm/v3/objects/contacts/search"


def drain(
    connector: Any, obj: str = "people", cursor: Any = None, limit: int = 200
) -> tuple[list[str], Any, int]:
    """Every page of one run: ids in order, the final cursor, the number of pages."""
    ids: list[str] = []
    pages = 0
    resume = True
    while True:
        page = connector.fetch_changes(obj, cursor, limit=limit, resume=resume)
        resume = False
        pages += 1
        ids.extend(r.id for r in page.records)
        cursor = page.cursor
        if not page.has_more or not page.records:
            return ids, cursor, pages


def test_first_page_searches_by_last_modified_ascending(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    ada = fake.add({"email": "ada@x.io", "firstname": "Ada"}, at=1_700_000_000_500)
    connector = make()

    page = connector.fetch_changes("people", None, limit=500, resume=True)

    _, _, body = fake.calls[0]
    assert body["filterGroups"] == [
        {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}
    ]
    assert body["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert body["limit"] == 200  # HubSpot's maximum, whatever the engine asks for
    assert set(body["properties"]) == {"email", "firstname", "lastname", "lastmodifieddate"}
    (record,) = page.records
    assert record.id == ada
    assert record.fields["email"] == "ada@x.io"
    assert record.updated_at == datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)
    assert page.cursor == {"after_time": 1_700_000_000_500, "seen_at_time": [ada]}
    assert page.has_more is False
    assert router.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_companies_order_by_hs_lastmodifieddate(router: respx.MockRouter, make: Factory) -> None:
    fake = FakeHubSpot("companies", modified="hs_lastmodifieddate", unique=None)
    fake.install(router)
    fake.add({"name": "Acme", "domain": "acme.io"})

    page = make().fetch_changes("orgs", None, limit=10, resume=True)

    assert fake.calls[0][2]["sorts"][0]["propertyName"] == "hs_lastmodifieddate"
    assert page.records[0].fields["name"] == "Acme"
    assert page.records[0].updated_at is not None


def test_pages_with_ties_read_each_record_once(router: respx.MockRouter, make: Factory) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    made = [fake.add({"email": f"p{i}@x.io"}, at=1_700_000_000_000 + i // 4) for i in range(47)]

    ids, cursor, pages = drain(make(), limit=10)

    assert sorted(ids, key=int) == made
    assert len(ids) == len(set(ids))
    assert pages == 5
    assert cursor["after_time"] == 1_700_000_000_000 + 46 // 4


def test_resume_rereads_the_lookback_window_and_finds_late_records(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    t = 1_700_000_100_000
    first = fake.add({"email": "a@x.io"}, at=t)
    connector = make()
    _, cursor, _ = drain(connector)
    # Indexed late with an older time (HubSpot's search shows writes "after a few moments").
    late = fake.add({"email": "late@x.io"}, at=t - 10_000)
    newer = fake.add({"email": "new@x.io"}, at=t + 5)

    page = connector.fetch_changes("people", cursor, limit=100, resume=True)

    assert fake.calls[-1][2]["filterGroups"][0]["filters"][0]["value"] == str(t - 30_000)
    assert [r.id for r in page.records] == [late, newer]  # ``first`` was read already
    assert first not in [r.id for r in page.records]


def test_an_empty_feed_keeps_the_cursor(router: respx.MockRouter, make: Factory) -> None:
    FakeHubSpot().install(router)
    cursor = {"after_time": 5, "seen_at_time": ["1"]}
    page = make().fetch_changes("people", cursor, limit=100, resume=False)
    assert page.records == [] and page.cursor == cursor and not page.has_more


def test_a_foreign_cursor_is_refused_with_advice(router: respx.MockRouter, make: Factory) -> None:
    with pytest.raises(ConnectorError, match="reset the sync's cursor"):
        make().fetch_changes("people", {"updated_at": "x"}, limit=10, resume=True)


class LazyPortal:
    """More than 10,000 contacts made on demand: record k has id k+1, time T0 + k // 7.

    Answers search as HubSpot does: sorted by time (ties in an arbitrary order), ``after``
    an offset, no ``paging.next`` at the cap and a 400 past it.
    """

    T0 = 1_700_000_000_000

    def __init__(self, count: int) -> None:
        self.count = count
        self.requests = 0

    def time(self, k: int) -> int:
        return self.T0 + k // 7

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = json.loads(request.content)
        since = int(body["filterGroups"][0]["filters"][0]["value"])
        after, limit = int(body.get("after", 0)), int(body["limit"])
        if after >= 10_000:
            return httpx.Response(
                400,
                json={
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": "Cannot page beyond 10000 results",
                },
            )
        first = max(0, (since - self.T0) * 7)
        total = max(0, self.count - first)
        stop = min(after + limit, total, 10_000)
        results = []
        for offset in range(after, stop):
            # Ties reversed within their millisecond: order among ties is not by id.
            k = first + offset
            group = k // 7
            k = group * 7 + (min(group * 7 + 6, self.count - 1) - k)
            stamp = self.time(k)
            results.append(
                {
                    "id": str(k + 1),
                    "properties": {
                        "email": f"c{k}@x.io",
                        "lastmodifieddate": iso(stamp),
                        "hs_object_id": str(k + 1),
                    },
                    "createdAt": iso(stamp),
                    "updatedAt": iso(stamp),
                    "archived": False,
                }
            )
        out: dict[str, Any] = {"total": total, "results": results}
        if stop < total and stop < 10_000:
            out["paging"] = {"next": {"after": str(stop)}}
        return httpx.Response(200, json=out)


def test_crossing_the_10000_search_cap_leaves_no_gap_and_no_duplicate(
    router: respx.MockRouter, make: Factory
) -> None:
    portal = LazyPortal(12_345)
    router.post(SEARCH).mock(side_effect=portal)

    ids, cursor, _ = drain(make(), limit=200)

    assert len(ids) == 12_345
    assert len(set(ids)) == 12_345
    assert set(ids) == {str(k + 1) for k in range(12_345)}
    assert cursor["after_time"] == portal.time(12_344)
    # The restart query started at the last time read, not past it.
    bodies = [json.loads(c.request.content) for c in router.calls]
    restarts = [b for b in bodies if "after" not in b]
    assert len(restarts) == 2
    assert int(restarts[1]["filterGroups"][0]["filters"][0]["value"]) == portal.time(9_999)


def test_small_cap_with_heavy_ties_on_the_stateful_fake(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot(search_cap=30)
    fake.install(router)
    made = [fake.add({"email": f"p{i}@x.io"}, at=1_700_000_000_000 + i // 9) for i in range(200)]

    ids, _, _ = drain(make(search_cap=30), limit=10)

    assert sorted(ids, key=int) == made
    assert len(ids) == len(set(ids))


def test_more_ties_than_the_cap_fail_clearly_instead_of_looping(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot(search_cap=20)
    fake.install(router)
    for i in range(50):
        fake.add({"email": f"p{i}@x.io"}, at=1_700_000_000_000)

    with pytest.raises(ConnectorError, match="share lastmodifieddate") as caught:
        drain(make(search_cap=20), limit=10)
    assert len(fake.calls) < 10
    assert caught.value.retriable is False


def test_fetch_by_ids_batches_100_and_drops_missing(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    made = [fake.add({"email": f"p{i}@x.io"}) for i in range(230)]

    got = make().fetch_by_ids("people", [*made, "999999", "not-a-number", made[0]])

    assert [r.id for r in got] == made
    reads = [c for c in fake.calls if c[1] == "batch/read"]
    assert [len(c[2]["inputs"]) for c in reads] == [100, 100, 31]
    assert all(i["id"].isdigit() for c in reads for i in c[2]["inputs"])


def test_find_by_id_property_reads_by_email_ignoring_case(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    ada = fake.add({"email": "ada@x.io", "firstname": "Ada"})

    found = make().find_by("people", "email", ["ADA@x.io", "nobody@x.io", None])

    assert list(found) == ["ADA@x.io"]
    assert found["ADA@x.io"].id == ada
    (call,) = fake.calls
    assert call[1] == "batch/read" and call[2]["idProperty"] == "email"


def test_find_by_other_property_searches_with_lowercase_in(
    router: respx.MockRouter, make: Factory
) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    fake.add({"email": "a@x.io", "firstname": "Ada"})
    second = fake.add({"email": "b@x.io", "firstname": "Ada"})
    bob = fake.add({"email": "c@x.io", "firstname": "Bob"})

    found = make().find_by("people", "firstname", ["ADA", "Bob", "Cy"])

    assert found["ADA"].id != second  # two Adas: the oldest id, every time
    assert found["Bob"].id == bob
    assert "Cy" not in found
    assert fake.calls[0][2]["filterGroups"][0]["filters"][0]["values"] == ["ada", "bob", "cy"]


def test_iter_ids_streams_list_pages(router: respx.MockRouter, make: Factory) -> None:
    fake = FakeHubSpot()
    fake.install(router)
    made = [fake.add({"email": f"p{i}@x.io"}) for i in range(250)]

    stream = make().iter_ids("people")
    first = next(stream)

    assert first == made[0]
    assert len([c for c in fake.calls if c[1] == "list"]) == 1  # one page so far
    assert [first, *stream] == made
    assert len([c for c in fake.calls if c[1] == "list"]) == 3
    # Delete reconciliation lists every id: it asks for ids, not the default properties.
    listed = [c.request for c in router.calls if c.request.method == "GET"]
    assert listed and all(r.url.params.get("properties") == "hs_object_id" for r in listed)


# ------------------------------------------------------------------ hostile bodies


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"results": {"id": "1"}}, "'results' is dict"),
        ({"results": [{"properties": {}}]}, "has no id"),
        ({"results": [{"id": "1", "properties": ["x"]}]}, "properties are not an object"),
        ({"results": [{"id": "1", "properties": {"email": {"nested": 1}}}]}, "holds a dict"),
        ({"results": [{"id": "1", "properties": {"email": "a"}}]}, "has no lastmodifieddate"),
        ([1, 2], "expected a JSON object"),
        ({"results": [], "paging": {"next": {"after": "abc"}}}, "not an offset"),
    ],
    ids=["results-dict", "no-id", "props-list", "nested-value", "no-date", "array", "bad-after"],
)
def test_wrong_shapes_fail_the_call_naming_the_problem(
    router: respx.MockRouter, make: Factory, body: Any, message: str
) -> None:
    router.post(SEARCH).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(HubSpotError, match=message) as caught:
        make().fetch_changes("people", None, limit=10, resume=True)
    assert caught.value.retriable is False


def test_truncated_json_is_retried_then_reported_retriable(
    router: respx.MockRouter, make: Factory
) -> None:
    route = router.post(SEARCH).mock(
        return_value=httpx.Response(200, content=b'{"total": 1, "results": [{"id": "1", "prop')
    )
    with pytest.raises(HubSpotError, match="not valid JSON") as caught:
        make().fetch_changes("people", None, limit=10, resume=True)
    assert caught.value.retriable is True
    assert route.call_count == 3  # retry.attempts


def test_deeply_nested_json_is_refused_not_crashing(
    router: respx.MockRouter, make: Factory
) -> None:
    router.post(SEARCH).mock(return_value=httpx.Response(200, content=b"[" * 100_000))
    with pytest.raises(HubSpotError, match="not valid JSON"):
        make().fetch_changes("people", None, limit=10, resume=True)


def test_oversized_answer_is_refused(
    router: respx.MockRouter, make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.hubspot._http.MAX_RESPONSE_BYTES", 1000)
    router.post(SEARCH).mock(
        return_value=httpx.Response(200, json={"results": [], "pad": "x" * 5000})
    )
    with pytest.raises(HubSpotError, match="over the 1000 byte limit"):
        make().fetch_changes("people", None, limit=10, resume=True)


def test_unknown_object_names_the_configured_ones(router: respx.MockRouter, make: Factory) -> None:
    router.get("/crm/v3/objects/contacts").mock(
        return_value=httpx.Response(200, json={"results": []})
    )
    connector = make()
    assert connector.check_object("people") is None
    problem = connector.check_object("leads")
    assert problem is not None and "cars, orgs, people" in problem
    with pytest.raises(ConnectorError, match="no object 'leads'"):
        connector.fetch_by_ids("leads", ["1"])
