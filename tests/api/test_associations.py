"""``/crm/v4``: associations, batches and labels over a real server (SQLite, PostgreSQL).

Labels are HubSpot's type ids (contact→company 279 unlabelled, 1 Primary); a labelled pair is
readable from both records, the far side seeing the inverse label.
"""

from __future__ import annotations

from typing import Any

import hubspot
import pytest
from hubspot.crm.associations.v4 import (
    AssociationSpec,
    CollectionResponseMultiAssociatedObjectWithLabelForwardPaging,
    LabelsBetweenObjectPair,
)
from hubspot.crm.associations.v4.schema import (
    CollectionResponseAssociationSpecWithLabelNoPaging,
    PublicAssociationDefinitionCreateRequest,
)

from store import Record, SourceType, Store
from syncd.api import ApiSettings
from tests.api.conftest import Api
from tests.conftest import API

V4 = "/crm/v4"
CONTACT_TO_COMPANY = 279
COMPANY_TO_CONTACT = 280
PRIMARY = 1


@pytest.fixture
def api_settings() -> ApiSettings:
    return ApiSettings(rate_limit_max=100_000)


def contact(store: Store, n: int = 0) -> Record:
    return store.create_record("contacts", {"email": f"person{n}@example.com"}, API)


def company(store: Store, n: int = 0) -> Record:
    return store.create_record("companies", {"name": f"Co {n}", "domain": f"co{n}.example"}, API)


def spec(type_id: int, category: str = "HUBSPOT_DEFINED") -> dict[str, Any]:
    return {"associationCategory": category, "associationTypeId": type_id}


def labels(store: Store, a: str, a_id: int, b: str, b_id: int) -> set[str | None]:
    return {
        x.label
        for assoc in store.list_associations(a, a_id, b)
        if assoc.to_id == b_id
        for x in assoc.labels
    }


def billing_label(api: Api) -> tuple[int, int]:
    """A paired USER_DEFINED label contacts→companies; (forward type id, inverse type id)."""
    answer = api.client.post(
        f"{V4}/associations/contacts/companies/labels",
        json={
            "label": "Billing contact",
            "name": "billing_contact",
            "inverseLabel": "Billed company",
        },
    )
    assert answer.status_code == 200, answer.text
    by_label = {x["label"]: x["typeId"] for x in answer.json()["results"]}
    return by_label["Billing contact"], by_label["Billed company"]


def assert_error(answer: Any, status: int, category: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == "error" and body["category"] == category and body["message"]
    return body


# ------------------------------------------------------------------ one pair


def test_default_association_is_answered_200_with_both_directions(api: Api) -> None:
    ann, acme = contact(api.store), company(api.store)
    answer = api.client.put(
        f"{V4}/objects/contacts/{ann.id}/associations/default/companies/{acme.id}"
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "COMPLETE" and body["startedAt"] and body["completedAt"]
    assert sorted(
        (r["from"]["id"], r["to"]["id"], r["associationSpec"]["associationTypeId"])
        for r in body["results"]
    ) == sorted(
        [
            (str(ann.id), str(acme.id), CONTACT_TO_COMPANY),
            (str(acme.id), str(ann.id), COMPANY_TO_CONTACT),
        ]
    )
    assert {r["associationSpec"]["associationCategory"] for r in body["results"]} == {
        "HUBSPOT_DEFINED"
    }
    listed = api.client.get(f"{V4}/objects/companies/{acme.id}/associations/contacts").json()
    assert listed["results"] == [
        {
            "toObjectId": str(ann.id),
            "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": COMPANY_TO_CONTACT, "label": None}
            ],
        }
    ]


def test_labelled_association_is_listed_both_ways_with_the_inverse_label(api: Api) -> None:
    forward, inverse = billing_label(api)
    ann, acme = contact(api.store), company(api.store)
    answer = api.client.put(
        f"{V4}/objects/0-1/{ann.id}/associations/0-2/{acme.id}",
        json=[spec(forward, "USER_DEFINED")],
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "fromObjectTypeId": "0-1",
        "fromObjectId": str(ann.id),
        "toObjectTypeId": "0-2",
        "toObjectId": str(acme.id),
        "labels": ["Billing contact"],
    }
    from_ann = api.client.get(f"{V4}/objects/contacts/{ann.id}/associations/companies").json()
    (item,) = from_ann["results"]
    assert {(t["category"], t["typeId"], t["label"]) for t in item["associationTypes"]} == {
        ("HUBSPOT_DEFINED", CONTACT_TO_COMPANY, None),
        ("USER_DEFINED", forward, "Billing contact"),
    }
    from_acme = api.client.get(f"{V4}/objects/companies/{acme.id}/associations/contacts").json()
    (item,) = from_acme["results"]
    assert {(t["typeId"], t["label"]) for t in item["associationTypes"]} == {
        (COMPANY_TO_CONTACT, None),
        (inverse, "Billed company"),
    }


def test_a_labelled_put_replaces_the_labels_unless_the_old_ones_are_sent(api: Api) -> None:
    forward, _ = billing_label(api)
    ann, acme = contact(api.store), company(api.store)
    url = f"{V4}/objects/contacts/{ann.id}/associations/companies/{acme.id}"
    api.client.put(url, json=[spec(forward, "USER_DEFINED")])
    moved = api.client.put(url, json=[spec(PRIMARY)])
    assert moved.status_code == 201 and moved.json()["labels"] == ["Primary"]
    assert labels(api.store, "contacts", ann.id, "companies", acme.id) == {None, "Primary"}
    both = api.client.put(url, json=[spec(PRIMARY), spec(forward, "USER_DEFINED")])
    assert sorted(both.json()["labels"]) == ["Billing contact", "Primary"]
    assert labels(api.store, "contacts", ann.id, "companies", acme.id) == {
        None,
        "Primary",
        "Billing contact",
    }
    plain = api.client.put(url, json=[spec(CONTACT_TO_COMPANY)])
    assert plain.json()["labels"] == []
    assert labels(api.store, "contacts", ann.id, "companies", acme.id) == {None}


def test_association_writes_carry_the_tokens_name_as_source(api: Api) -> None:
    ann, acme = contact(api.store), company(api.store)
    head = api.store.journal_head()
    api.client.put(f"{V4}/objects/contacts/{ann.id}/associations/default/companies/{acme.id}")
    entries = [e for e in api.store.read_journal(head) if e.op == "associate"]
    assert entries and {(e.source_type, e.source_id) for e in entries} == {
        (SourceType.API, "tester")
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ([spec(999_999)], 400),
        ([spec(CONTACT_TO_COMPANY, "USER_DEFINED")], 400),
        ([spec(COMPANY_TO_CONTACT)], 400),
        ([spec(CONTACT_TO_COMPANY, "WORK")], 400),
        ([], 400),
        ({"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}, 400),
        ([spec(-1)], 400),
        ([spec(2**40)], 400),
        ([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": "x"}], 400),
        ([spec(CONTACT_TO_COMPANY)] * 21, 400),
    ],
    ids=[
        "unknown-type", "wrong-category", "wrong-direction", "unknown-category", "empty",
        "not-a-list", "negative", "huge", "wrong-type", "too-many",
    ],
)  # fmt: skip
def test_a_bad_labelled_put_is_refused_and_writes_nothing(api: Api, body: Any, status: int) -> None:
    ann, acme = contact(api.store), company(api.store)
    answer = api.client.put(
        f"{V4}/objects/contacts/{ann.id}/associations/companies/{acme.id}", json=body
    )
    assert_error(answer, status, "VALIDATION_ERROR")
    assert api.store.list_associations("contacts", ann.id) == []


@pytest.mark.parametrize(
    "path",
    [
        "objects/contacts/{ann}/associations/companies/999999",
        "objects/contacts/999999/associations/companies/{acme}",
        "objects/contacts/abc/associations/companies/{acme}",
        "objects/contacts/99999999999999999999/associations/companies/{acme}",
        "objects/nothings/{ann}/associations/companies/{acme}",
        "objects/contacts/{ann}/associations/default/companies/999999",
    ],
    ids=["unknown-to", "unknown-from", "text-id", "huge-id", "unknown-object", "default"],
)
def test_unknown_records_and_objects_are_404(api: Api, path: str) -> None:
    ann, acme = contact(api.store), company(api.store)
    answer = api.client.put(
        f"{V4}/{path.format(ann=ann.id, acme=acme.id)}", json=[spec(CONTACT_TO_COMPANY)]
    )
    assert_error(answer, 404, "OBJECT_NOT_FOUND")
    assert api.store.list_associations("contacts", ann.id) == []


def test_archived_records_cannot_be_associated(api: Api) -> None:
    ann, acme = contact(api.store), company(api.store)
    api.store.archive_records("companies", [acme.id], API)
    answer = api.client.put(
        f"{V4}/objects/contacts/{ann.id}/associations/default/companies/{acme.id}"
    )
    assert_error(answer, 404, "OBJECT_NOT_FOUND")


def test_delete_removes_every_type_between_the_pair(api: Api) -> None:
    ann, acme = contact(api.store), company(api.store)
    url = f"{V4}/objects/contacts/{ann.id}/associations/companies/{acme.id}"
    api.client.put(url, json=[spec(PRIMARY)])
    answer = api.client.delete(url)
    assert answer.status_code == 204 and answer.content == b""
    assert api.store.list_associations("contacts", ann.id) == []
    assert api.client.delete(url).status_code == 204  # nothing left to remove is not an error
    assert api.store.get_record("companies", acme.id).id == acme.id
    assert_error(
        api.client.delete(f"{V4}/objects/contacts/{ann.id}/associations/companies/999999"),
        404,
        "OBJECT_NOT_FOUND",
    )


def test_the_list_is_paged(api: Api) -> None:
    ann = contact(api.store)
    companies = [company(api.store, n) for n in range(3)]
    for c in companies:
        api.store.associate("contacts", ann.id, "companies", c.id, API)
    url = f"{V4}/objects/contacts/{ann.id}/associations/companies"
    first = api.client.get(url, params={"limit": 2}).json()
    assert [r["toObjectId"] for r in first["results"]] == [str(c.id) for c in companies[:2]]
    after = first["paging"]["next"]["after"]
    second = api.client.get(url, params={"limit": 2, "after": after}).json()
    assert [r["toObjectId"] for r in second["results"]] == [str(companies[2].id)]
    assert second.get("paging") is None
    assert_error(api.client.get(url, params={"limit": 501}), 400, "VALIDATION_ERROR")
    assert_error(api.client.get(url, params={"limit": 0}), 400, "VALIDATION_ERROR")
    assert_error(api.client.get(url, params={"after": "x"}), 400, "VALIDATION_ERROR")
    assert_error(
        api.client.get(f"{V4}/objects/contacts/999999/associations/companies"),
        404,
        "OBJECT_NOT_FOUND",
    )


# ------------------------------------------------------------------ batches


def test_batch_associate_default_reports_failures_in_the_same_answer(api: Api) -> None:
    people = [contact(api.store, n) for n in range(2)]
    acme = company(api.store)
    inputs = [{"from": {"id": str(p.id)}, "to": {"id": str(acme.id)}} for p in people]
    inputs.append({"from": {"id": "999999"}, "to": {"id": str(acme.id)}})
    answer = api.client.post(
        f"{V4}/associations/contacts/companies/batch/associate/default", json={"inputs": inputs}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["results"]) == 4  # both directions of each pair made
    assert body["numErrors"] == 1
    (error,) = body["errors"]
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert error["context"] == {"fromObjectId": ["999999"], "toObjectId": [str(acme.id)]}
    assert {a.to_id for a in api.store.list_associations("companies", acme.id)} == {
        p.id for p in people
    }


def test_batch_create_answers_201_or_207(api: Api) -> None:
    forward, _ = billing_label(api)
    people = [contact(api.store, n) for n in range(3)]
    acme = company(api.store)

    def pair(p: Any, *types: dict[str, Any]) -> dict[str, Any]:
        return {"from": {"id": p}, "to": {"id": acme.id}, "types": list(types)}

    ok = api.client.post(
        f"{V4}/associations/contacts/companies/batch/create",
        json={
            "inputs": [
                pair(people[0].id, spec(forward, "USER_DEFINED")),
                pair(people[1].id, spec(279)),
            ]
        },
    )
    assert ok.status_code == 201, ok.text
    assert sorted(r["labels"] for r in ok.json()["results"]) == [[], ["Billing contact"]]
    mixed = api.client.post(
        f"{V4}/associations/contacts/companies/batch/create",
        json={
            "inputs": [
                pair(people[2].id, spec(PRIMARY)),
                pair("999999", spec(279)),
                pair(people[0].id, spec(424242)),
            ]
        },
    )
    assert mixed.status_code == 207, mixed.text
    body = mixed.json()
    assert [r["labels"] for r in body["results"]] == [["Primary"]]
    assert body["numErrors"] == 2
    assert labels(api.store, "contacts", people[0].id, "companies", acme.id) == {
        None,
        "Billing contact",
    }


def test_a_bad_batch_input_is_a_400_naming_it(api: Api) -> None:
    acme = company(api.store)
    answer = api.client.post(
        f"{V4}/associations/contacts/companies/batch/create",
        json={"inputs": [{"from": {"id": "x" * 41}, "to": {"id": acme.id}, "types": [spec(279)]}]},
    )
    assert_error(answer, 400, "VALIDATION_ERROR")


def test_batch_limits_are_hubspots(api: Api) -> None:
    pair = {"from": {"id": "1"}, "to": {"id": "2"}, "types": [spec(279)]}
    too_many = api.client.post(
        f"{V4}/associations/contacts/companies/batch/create", json={"inputs": [pair] * 2001}
    )
    assert_error(too_many, 400, "VALIDATION_ERROR")
    reads = api.client.post(
        f"{V4}/associations/contacts/companies/batch/read", json={"inputs": [{"id": "1"}] * 1001}
    )
    assert_error(reads, 400, "VALIDATION_ERROR")
    archive = api.client.post(
        f"{V4}/associations/contacts/companies/batch/archive",
        json={
            "inputs": [
                {"from": {"id": str(i)}, "to": [{"id": "1"}, {"id": "2"}]} for i in range(1, 1002)
            ]
        },
    )
    assert_error(archive, 400, "VALIDATION_ERROR")


def test_batch_read_answers_200_or_207_and_pages_per_record(api: Api) -> None:
    ann, bob = contact(api.store, 1), contact(api.store, 2)
    companies = [company(api.store, n) for n in range(3)]
    for c in companies:
        api.store.associate("contacts", ann.id, "companies", c.id, API)
    url = f"{V4}/associations/contacts/companies/batch/read"
    ok = api.client.post(url, json={"inputs": [{"id": str(ann.id)}, {"id": bob.id}]})
    assert ok.status_code == 200, ok.text
    results = {r["from"]["id"]: r for r in ok.json()["results"]}
    assert [t["toObjectId"] for t in results[str(ann.id)]["to"]] == [str(c.id) for c in companies]
    assert results[str(bob.id)]["to"] == []
    paged = api.client.post(
        url, json={"inputs": [{"id": str(ann.id), "after": str(companies[0].id)}]}
    ).json()
    assert [t["toObjectId"] for t in paged["results"][0]["to"]] == [
        str(c.id) for c in companies[1:]
    ]
    mixed = api.client.post(url, json={"inputs": [{"id": str(ann.id)}, {"id": "999999"}]})
    assert mixed.status_code == 207
    assert mixed.json()["errors"][0]["context"] == {"id": ["999999"]}


def test_batch_archive_and_label_archive(api: Api) -> None:
    forward, _ = billing_label(api)
    ann, bob = contact(api.store, 1), contact(api.store, 2)
    acme = company(api.store)
    for person in (ann, bob):
        api.store.associate(
            "contacts", person.id, "companies", acme.id, API, label="Billing contact"
        )
    labels_url = f"{V4}/associations/contacts/companies/batch/labels/archive"
    only_label = api.client.post(
        labels_url,
        json={"inputs": [{"from": {"id": ann.id}, "to": {"id": acme.id},
                          "types": [spec(forward, "USER_DEFINED")]}]},
    )  # fmt: skip
    assert only_label.status_code == 204, only_label.text
    assert labels(api.store, "contacts", ann.id, "companies", acme.id) == {None}
    default = api.client.post(
        labels_url,
        json={"inputs": [{"from": {"id": ann.id}, "to": {"id": acme.id}, "types": [spec(279)]}]},
    )
    assert default.status_code == 204
    assert api.store.list_associations("contacts", ann.id) == []
    unknown = api.client.post(
        labels_url,
        json={"inputs": [{"from": {"id": bob.id}, "to": {"id": acme.id}, "types": [spec(4242)]}]},
    )
    assert_error(unknown, 400, "VALIDATION_ERROR")
    archived = api.client.post(
        f"{V4}/associations/contacts/companies/batch/archive",
        json={"inputs": [{"from": {"id": bob.id}, "to": [{"id": acme.id}, {"id": "999999"},
                                                        {"id": "nope"}]}]},
    )  # fmt: skip
    assert archived.status_code == 204, archived.text
    assert api.store.list_associations("contacts", bob.id) == []


# ------------------------------------------------------------------ labels


def test_labels_are_listed_created_renamed_and_deleted(api: Api) -> None:
    url = f"{V4}/associations/contacts/companies/labels"
    builtin = api.client.get(url)
    assert builtin.status_code == 200
    assert {(x["category"], x["typeId"], x["label"]) for x in builtin.json()["results"]} == {
        ("HUBSPOT_DEFINED", CONTACT_TO_COMPANY, None),
        ("HUBSPOT_DEFINED", PRIMARY, "Primary"),
    }
    forward, inverse = billing_label(api)
    assert_error(
        api.client.post(url, json={"label": "Billing contact", "name": "x"}), 409, "CONFLICT"
    )
    renamed = api.client.put(
        url, json={"associationTypeId": forward, "label": "Payer", "inverseLabel": "Payee"}
    )
    assert renamed.status_code == 204, renamed.text
    assert {x.label for x in api.store.list_labels("contacts", "companies")} >= {"Payer"}
    assert {x.label for x in api.store.list_labels("companies", "contacts")} >= {"Payee"}
    assert_error(
        api.client.put(url, json={"associationTypeId": PRIMARY, "label": "Main"}),
        400,
        "VALIDATION_ERROR",
    )
    assert_error(
        api.client.put(url, json={"associationTypeId": 424242, "label": "X"}),
        404,
        "OBJECT_NOT_FOUND",
    )
    ann, acme = contact(api.store), company(api.store)
    api.store.associate("contacts", ann.id, "companies", acme.id, API, label="Payer")
    assert_error(api.client.delete(f"{url}/{forward}"), 400, "VALIDATION_ERROR")
    api.store.dissociate("contacts", ann.id, "companies", acme.id, API, label="Payer")
    assert api.client.delete(f"{url}/{forward}").status_code == 204
    remaining = {x.type_id for x in api.store.list_labels("contacts", "companies")}
    assert forward not in remaining
    assert inverse not in {x.type_id for x in api.store.list_labels("companies", "contacts")}
    assert_error(api.client.delete(f"{url}/{forward}"), 404, "OBJECT_NOT_FOUND")
    assert_error(api.client.delete(f"{url}/{PRIMARY}"), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "body",
    [
        {"label": "", "name": "x"},
        {"label": "L" * 101, "name": "x"},
        {"label": "Pay\x00er", "name": "x"},
        {"label": 5, "name": "x"},
        {"name": "x"},
    ],
    ids=["empty", "oversized", "nul", "wrong-type", "missing"],
)
def test_a_bad_label_is_400(api: Api, body: dict[str, Any]) -> None:
    url = f"{V4}/associations/contacts/companies/labels"
    before = api.store.list_labels("contacts", "companies")
    assert_error(api.client.post(url, json=body), 400, "VALIDATION_ERROR")
    assert api.store.list_labels("contacts", "companies") == before


def test_a_paired_self_label_reads_each_way(api: Api) -> None:
    made = api.client.post(
        f"{V4}/associations/contacts/contacts/labels",
        json={"label": "Manager", "name": "manager", "inverseLabel": "Employee"},
    ).json()["results"]
    by_label = {x["label"]: x["typeId"] for x in made}
    boss, worker = contact(api.store, 1), contact(api.store, 2)
    answer = api.client.put(
        f"{V4}/objects/contacts/{boss.id}/associations/contacts/{worker.id}",
        json=[spec(by_label["Manager"], "USER_DEFINED")],
    )
    assert answer.status_code == 201 and answer.json()["labels"] == ["Manager"]
    assert labels(api.store, "contacts", worker.id, "contacts", boss.id) == {None, "Employee"}


# ------------------------------------------------------------------ HubSpot's client


def test_hubspot_client_makes_labels_and_labelled_associations(api: Api) -> None:
    hs = hubspot.Client.create(access_token=api.token, host=api.url)
    created = hs.crm.associations.v4.schema.definitions_api.create(
        from_object_type="contacts",
        to_object_type="companies",
        public_association_definition_create_request=PublicAssociationDefinitionCreateRequest(
            label="Decision maker", name="decision_maker"
        ),
    )
    assert isinstance(created, CollectionResponseAssociationSpecWithLabelNoPaging)
    type_id = next(x.type_id for x in created.results if x.label == "Decision maker")
    every = hs.crm.associations.v4.schema.definitions_api.get_all(
        from_object_type="contacts", to_object_type="companies"
    )
    assert "Decision maker" in {x.label for x in every.results}
    ann, acme = contact(api.store), company(api.store)
    pair = hs.crm.associations.v4.basic_api.create(
        object_type="contacts",
        object_id=ann.id,
        to_object_type="companies",
        to_object_id=acme.id,
        association_spec=[
            AssociationSpec(association_category="USER_DEFINED", association_type_id=type_id)
        ],
    )
    assert isinstance(pair, LabelsBetweenObjectPair) and pair.labels == ["Decision maker"]
    page = hs.crm.associations.v4.basic_api.get_page(
        object_type="companies", object_id=acme.id, to_object_type="contacts"
    )
    assert isinstance(page, CollectionResponseMultiAssociatedObjectWithLabelForwardPaging)
    assert page.results[0].to_object_id == str(ann.id)
    default = hs.crm.associations.v4.basic_api.create_default(
        from_object_type="companies",
        from_object_id=acme.id,
        to_object_type="contacts",
        to_object_id=contact(api.store, 9).id,
    )
    assert default.status == "COMPLETE" and len(default.results) == 2
