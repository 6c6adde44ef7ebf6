"""HubSpot's own Python client, pointed at our server, gets what HubSpot would answer.

The official client decodes a response by its status code into generated models whose
required fields are checked on construction, so a wrong status, a missing field or a wrong
type fails here the way it would fail for a user whose script we promise to run unchanged.
Every test runs on SQLite and PostgreSQL through the ``api`` fixture (a real uvicorn server).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import hubspot
import pytest
from hubspot.crm.associations.v4 import ApiException as AssocApiException
from hubspot.crm.associations.v4 import AssociationSpec, LabelsBetweenObjectPair
from hubspot.crm.associations.v4.schema import PublicAssociationDefinitionCreateRequest
from hubspot.crm.companies import ApiException as CompaniesApiException
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInputForCreate as CompanyBatchCreate,
)
from hubspot.crm.companies import SimplePublicObjectBatchInputForCreate as CompanyBatchInput
from hubspot.crm.companies import SimplePublicObjectInput as CompanyUpdate
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
    CollectionResponseSimplePublicObjectWithAssociationsForwardPaging,
    CollectionResponseWithTotalSimplePublicObjectForwardPaging,
    Filter,
    FilterGroup,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObject,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
    SimplePublicObjectWithAssociations,
)
from hubspot.crm.contacts import (
    AssociationSpec as ContactAssociationSpec,
)
from hubspot.crm.objects import ApiException as ObjectsApiException
from hubspot.crm.objects import SimplePublicObjectInputForCreate as ObjectCreate
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import ModelProperty, OptionInput, PropertyCreate, PropertyUpdate
from hubspot.crm.schemas import (
    ObjectSchema,
    ObjectSchemaEgg,
    ObjectTypeDefinitionLabels,
    ObjectTypePropertyCreate,
)

from syncd.api import ApiSettings
from tests.api.conftest import Api

# Properties HubSpot's search returns for a contact when the request names none (search guide).
CONTACT_SEARCH_DEFAULTS = {"firstname", "lastname", "email", "lastmodifieddate", "hs_object_id"}


@pytest.fixture
def api_settings() -> ApiSettings:
    # A few dozen calls per test: far below a real token's limit, but not a test of it.
    return ApiSettings(rate_limit_max=10_000)


@pytest.fixture
def hs(api: Api) -> Iterator[Any]:
    """The official client exactly as a user builds it, with our URL as the only change."""
    yield hubspot.Client.create(access_token=api.token, host=api.url)


def _body(exc: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def _aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


def _is_record_id(value: Any) -> bool:
    return isinstance(value, str) and value.isdigit()


def _create_contact(hs: Any, **properties: str) -> Any:
    return hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties=properties))


# ---------------------------------------------------------------- contacts


def test_contact_create_read_update_archive(hs: Any) -> None:
    created = _create_contact(hs, email="ada@example.com", firstname="Ada", lastname="Lovelace")
    assert isinstance(created, SimplePublicObject)  # 201 decoded as HubSpot documents it
    assert _is_record_id(created.id)
    assert created.properties["email"] == "ada@example.com"
    assert created.properties["firstname"] == "Ada"
    assert created.properties["hs_object_id"] == created.id
    assert created.properties["createdate"] and created.properties["lastmodifieddate"]
    assert created.archived is False
    assert _aware(created.created_at) and _aware(created.updated_at)

    read = hs.crm.contacts.basic_api.get_by_id(created.id)
    assert isinstance(read, SimplePublicObjectWithAssociations)
    assert read.id == created.id
    assert read.properties["lastname"] == "Lovelace"
    assert read.archived is False

    chosen = hs.crm.contacts.basic_api.get_by_id(created.id, properties=["email", "firstname"])
    assert chosen.properties["email"] == "ada@example.com"
    assert chosen.properties["firstname"] == "Ada"

    by_email = hs.crm.contacts.basic_api.get_by_id("ada@example.com", id_property="email")
    assert by_email.id == created.id

    updated = hs.crm.contacts.basic_api.update(
        created.id, SimplePublicObjectInput(properties={"firstname": "Augusta"})
    )
    assert isinstance(updated, SimplePublicObject)
    assert updated.id == created.id
    assert updated.properties["firstname"] == "Augusta"
    assert updated.updated_at >= created.updated_at
    again = hs.crm.contacts.basic_api.get_by_id(created.id, properties=["firstname", "lastname"])
    assert again.properties["firstname"] == "Augusta"
    assert again.properties["lastname"] == "Lovelace"

    _, status, _ = hs.crm.contacts.basic_api.archive_with_http_info(created.id)
    assert status == 204
    with pytest.raises(ApiException) as gone:
        hs.crm.contacts.basic_api.get_by_id(created.id)
    assert gone.value.status == 404

    archived = hs.crm.contacts.basic_api.get_page(archived=True)
    assert [r.id for r in archived.results] == [created.id]
    assert archived.results[0].archived is True
    assert _aware(archived.results[0].archived_at)


def test_contact_history_records_source_api_and_the_token(hs: Any) -> None:
    created = _create_contact(hs, email="hist@example.com", firstname="One")
    hs.crm.contacts.basic_api.update(
        created.id, SimplePublicObjectInput(properties={"firstname": "Two"})
    )

    read = hs.crm.contacts.basic_api.get_by_id(created.id, properties_with_history=["firstname"])
    history = read.properties_with_history["firstname"]
    assert [h.value for h in history] == ["Two", "One"]  # newest first, as HubSpot lists it
    assert {h.source_type for h in history} == {"API"}
    assert all(_aware(h.timestamp) for h in history)


def test_contact_list_pages_with_after(hs: Any) -> None:
    ids = [_create_contact(hs, email=f"page{i}@example.com").id for i in range(5)]

    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"limit": 2, "properties": ["email"]}
        if after is not None:
            kwargs["after"] = after
        page = hs.crm.contacts.basic_api.get_page(**kwargs)
        assert isinstance(page, CollectionResponseSimplePublicObjectWithAssociationsForwardPaging)
        assert len(page.results) <= 2
        seen += [r.id for r in page.results]
        pages += 1
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
        assert isinstance(after, str) and after
    assert sorted(seen, key=int) == sorted(ids, key=int)
    assert len(seen) == len(set(seen))
    assert pages == 3


def test_duplicate_email_is_a_409_naming_the_existing_id(hs: Any) -> None:
    first = _create_contact(hs, email="twin@example.com")

    with pytest.raises(ApiException) as refused:
        _create_contact(hs, email="Twin@Example.com", firstname="Second")

    assert refused.value.status == 409
    body = _body(refused.value)
    assert body["category"] == "CONFLICT"
    assert body["status"] == "error"
    assert body["correlationId"]
    assert f"Existing ID: {first.id}" in body["message"]
    page = hs.crm.contacts.basic_api.get_page()
    assert [r.id for r in page.results] == [first.id]


def test_missing_contact_is_a_404_in_hubspots_error_shape(hs: Any) -> None:
    with pytest.raises(ApiException) as gone:
        hs.crm.contacts.basic_api.get_by_id("987654321")
    assert gone.value.status == 404
    body = _body(gone.value)
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["status"] == "error"
    assert body["message"] and body["correlationId"]

    for odd in ("99999999999999999999999", "not-a-number", "-1"):
        with pytest.raises(ApiException) as refused:
            hs.crm.contacts.basic_api.get_by_id(odd)
        assert refused.value.status in (400, 404), odd

    with pytest.raises(ApiException) as gone:
        hs.crm.contacts.basic_api.update("987654321", SimplePublicObjectInput(properties={}))
    assert gone.value.status == 404


def test_unknown_property_is_a_400_naming_it(hs: Any) -> None:
    with pytest.raises(ApiException) as refused:
        _create_contact(hs, email="x@example.com", no_such_property="1")
    assert refused.value.status == 400
    body = _body(refused.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert "no_such_property" in json.dumps(body)


# ---------------------------------------------------------------- search


def test_contact_search_filters_sorts_and_pages(hs: Any) -> None:
    people = [
        ("ann@acme.example", "Ann", "Berlin"),
        ("bob@acme.example", "Bob", "Paris"),
        ("cid@other.example", "Cid", "Berlin"),
        ("dot@acme.example", "Dot", "Berlin"),
        ("eve@acme.example", "Eve", "Oslo"),
    ]
    ids = {
        email: _create_contact(hs, email=email, firstname=first, city=city).id
        for email, first, city in people
    }
    search = hs.crm.contacts.search_api.do_search

    by_email = search(
        PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[Filter(property_name="email", operator="EQ", value="bob@acme.example")]
                )
            ]
        )
    )
    assert isinstance(by_email, CollectionResponseWithTotalSimplePublicObjectForwardPaging)
    assert by_email.total == 1
    assert [r.id for r in by_email.results] == [ids["bob@acme.example"]]
    assert CONTACT_SEARCH_DEFAULTS <= set(by_email.results[0].properties)
    assert by_email.results[0].properties["email"] == "bob@acme.example"

    acme_in_berlin = FilterGroup(
        filters=[
            Filter(property_name="email", operator="CONTAINS_TOKEN", value="*@acme.example"),
            Filter(property_name="city", operator="EQ", value="berlin"),  # case-insensitive
        ]
    )
    oslo = FilterGroup(filters=[Filter(property_name="city", operator="EQ", value="Oslo")])
    request = PublicObjectSearchRequest(
        filter_groups=[acme_in_berlin, oslo],  # (acme AND Berlin) OR Oslo
        sorts=[{"propertyName": "firstname", "direction": "DESCENDING"}],
        properties=["firstname", "city"],
        limit=2,
    )
    first = search(request)
    assert first.total == 3
    assert [r.properties["firstname"] for r in first.results] == ["Eve", "Dot"]
    assert first.results[0].properties["city"] == "Oslo"
    assert first.paging is not None and first.paging.next is not None
    request.after = first.paging.next.after
    second = search(request)
    assert second.total == 3
    assert [r.properties["firstname"] for r in second.results] == ["Ann"]
    assert second.paging is None or second.paging.next is None

    nobody = search(
        PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[Filter(property_name="email", operator="EQ", value="zed@x.example")]
                )
            ]
        )
    )
    assert nobody.total == 0 and nobody.results == []


def test_search_on_an_unknown_property_is_a_400(hs: Any) -> None:
    with pytest.raises(ApiException) as refused:
        hs.crm.contacts.search_api.do_search(
            PublicObjectSearchRequest(
                filter_groups=[
                    FilterGroup(filters=[Filter(property_name="nope", operator="EQ", value="1")])
                ]
            )
        )
    assert refused.value.status == 400
    assert _body(refused.value)["category"] == "VALIDATION_ERROR"


# ---------------------------------------------------------------- batch


def test_contact_batch_create_read_archive(hs: Any) -> None:
    batch = hs.crm.contacts.batch_api
    made = batch.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectInputForCreate(
                    properties={"email": f"b{i}@example.com", "firstname": f"B{i}"}
                )
                for i in range(3)
            ]
        )
    )
    assert isinstance(made, BatchResponseSimplePublicObject)  # 201, all created
    assert made.status == "COMPLETE"
    assert _aware(made.started_at) and _aware(made.completed_at)
    assert sorted(r.properties["email"] for r in made.results) == [
        "b0@example.com",
        "b1@example.com",
        "b2@example.com",
    ]
    ids = [r.id for r in made.results]
    assert all(_is_record_id(i) for i in ids) and len(set(ids)) == 3

    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids],
            properties=["email", "firstname"],
            properties_with_history=[],
        )
    )
    assert isinstance(read, BatchResponseSimplePublicObject)
    assert read.status == "COMPLETE"
    assert {r.id: r.properties["firstname"] for r in read.results} == {
        r.id: r.properties["firstname"] for r in made.results
    }

    by_email = batch.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id="b1@example.com")],
            properties=["email"],
            properties_with_history=[],
            id_property="email",
        )
    )
    assert [r.id for r in by_email.results] == [ids[1]]

    renamed = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=i, properties={"firstname": f"R{n}"})
                for n, i in enumerate(ids)
            ]
        )
    )
    assert isinstance(renamed, BatchResponseSimplePublicObject)
    assert {r.id: r.properties["firstname"] for r in renamed.results} == {
        i: f"R{n}" for n, i in enumerate(ids)
    }

    upserted = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="b0@example.com", id_property="email", properties={"lastname": "Known"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="new@example.com", id_property="email", properties={"lastname": "Fresh"}
                ),
            ]
        )
    )
    by_new = {r.new: r for r in upserted.results}
    assert set(by_new) == {True, False}
    assert by_new[False].id == ids[0]
    assert by_new[False].properties["lastname"] == "Known"
    assert by_new[True].properties["email"] == "new@example.com"
    ids.append(by_new[True].id)

    _, status, _ = batch.archive_with_http_info(
        BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=i) for i in ids[:2]])
    )
    assert status == 204
    left = hs.crm.contacts.basic_api.get_page()
    assert sorted(r.id for r in left.results) == sorted(ids[2:])


def test_batch_read_with_a_missing_id_is_a_207_with_hubspots_error(hs: Any) -> None:
    live = _create_contact(hs, email="live@example.com")
    read = hs.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=live.id), SimplePublicObjectId(id="987654321")],
            properties=["email"],
            properties_with_history=[],
        )
    )
    # The client decodes 207 as the "with errors" model: every StandardError field it requires.
    assert isinstance(read, BatchResponseSimplePublicObjectWithErrors)
    assert [r.id for r in read.results] == [live.id]
    assert read.num_errors == 1
    error = read.errors[0]
    assert error.category == "OBJECT_NOT_FOUND"
    assert error.status == "error"
    assert "987654321" in json.dumps(error.context)


def test_batch_create_over_100_inputs_is_a_400_and_writes_nothing(hs: Any) -> None:
    with pytest.raises(ApiException) as refused:
        hs.crm.contacts.batch_api.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectInputForCreate(properties={"email": f"o{i}@example.com"})
                    for i in range(101)
                ]
            )
        )
    assert refused.value.status == 400
    assert hs.crm.contacts.basic_api.get_page().results == []


# ---------------------------------------------------------------- companies


def test_company_create_read_update_search_batch_archive(hs: Any) -> None:
    api = hs.crm.companies
    acme = api.basic_api.create(
        CompanyCreate(properties={"name": "Acme", "domain": "acme.example"})
    )
    assert _is_record_id(acme.id)
    assert acme.properties["name"] == "Acme"
    assert acme.properties["domain"] == "acme.example"
    assert acme.properties["hs_object_id"] == acme.id
    assert acme.archived is False

    read = api.basic_api.get_by_id(acme.id, properties=["name", "domain"])
    assert read.properties["domain"] == "acme.example"
    by_domain = api.basic_api.get_by_id("acme.example", id_property="domain")
    assert by_domain.id == acme.id

    renamed = api.basic_api.update(acme.id, CompanyUpdate(properties={"name": "Acme Corp"}))
    assert renamed.properties["name"] == "Acme Corp"

    batch = api.batch_api.create(
        CompanyBatchCreate(
            inputs=[
                CompanyBatchInput(
                    properties={"name": f"Co {i}", "domain": f"co{i}.example"},
                    object_write_trace_id=f"trace-{i}",
                )
                for i in range(2)
            ]
        )
    )
    assert batch.status == "COMPLETE"
    assert sorted(r.properties["name"] for r in batch.results) == ["Co 0", "Co 1"]

    found = api.search_api.do_search(
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "name", "operator": "CONTAINS_TOKEN", "value": "co*"}
                    ]
                }
            ],
            "sorts": [{"propertyName": "name", "direction": "ASCENDING"}],
            "properties": ["name"],
        }
    )
    assert found.total == 2
    assert [r.properties["name"] for r in found.results] == ["Co 0", "Co 1"]

    with pytest.raises(CompaniesApiException) as twin:
        api.basic_api.create(CompanyCreate(properties={"name": "Again", "domain": "acme.example"}))
    assert twin.value.status == 409
    assert f"Existing ID: {acme.id}" in _body(twin.value)["message"]

    _, status, _ = api.basic_api.archive_with_http_info(acme.id)
    assert status == 204
    with pytest.raises(CompaniesApiException) as gone:
        api.basic_api.get_by_id(acme.id)
    assert gone.value.status == 404
    assert {r.id for r in api.basic_api.get_page().results} == {r.id for r in batch.results}


# ---------------------------------------------------------------- associations


def test_labelled_association_between_contact_and_company(hs: Any) -> None:
    contact = _create_contact(hs, email="worker@example.com")
    company = hs.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Works"}))
    definitions = hs.crm.associations.v4.schema.definitions_api

    made = definitions.create(
        "contacts",
        "companies",
        PublicAssociationDefinitionCreateRequest(
            label="Employee", name="employee", inverse_label="Employer"
        ),
    )
    mine = {spec.label: spec for spec in made.results}
    assert set(mine) == {"Employee", "Employer"}
    assert all(spec.category == "USER_DEFINED" for spec in made.results)
    assert all(isinstance(spec.type_id, int) for spec in made.results)
    forward = mine["Employee"].type_id
    backward = mine["Employer"].type_id
    assert forward != backward

    listed = definitions.get_all("contacts", "companies")
    assert {(s.type_id, s.label) for s in listed.results} >= {(forward, "Employee")}
    assert any(s.label is None and s.category == "HUBSPOT_DEFINED" for s in listed.results)
    reverse_listed = definitions.get_all("companies", "contacts")
    assert (backward, "Employer") in {(s.type_id, s.label) for s in reverse_listed.results}

    linked = hs.crm.associations.v4.basic_api.create(
        "contacts",
        contact.id,
        "companies",
        company.id,
        [AssociationSpec(association_category="USER_DEFINED", association_type_id=forward)],
    )
    assert isinstance(linked, LabelsBetweenObjectPair)  # 201 decoded
    assert linked.from_object_type_id == "0-1"
    assert linked.to_object_type_id == "0-2"
    assert str(linked.from_object_id) == contact.id
    assert str(linked.to_object_id) == company.id
    assert "Employee" in linked.labels

    out = hs.crm.associations.v4.basic_api.get_page("contacts", contact.id, "companies")
    assert [str(r.to_object_id) for r in out.results] == [company.id]
    out_types = {(t.type_id, t.label, t.category) for t in out.results[0].association_types}
    assert (forward, "Employee", "USER_DEFINED") in out_types
    assert (279, None, "HUBSPOT_DEFINED") in out_types  # the unlabelled type comes along

    back = hs.crm.associations.v4.basic_api.get_page("companies", company.id, "contacts")
    assert [str(r.to_object_id) for r in back.results] == [contact.id]
    back_types = {(t.type_id, t.label) for t in back.results[0].association_types}
    assert (backward, "Employer") in back_types
    assert (280, None) in back_types

    by_type_id = hs.crm.associations.v4.basic_api.get_page("0-2", company.id, "0-1")
    assert [str(r.to_object_id) for r in by_type_id.results] == [contact.id]

    with_links = hs.crm.contacts.basic_api.get_by_id(contact.id, associations=["companies"])
    assert company.id in {a.id for a in with_links.associations["companies"].results}


def test_contact_created_with_an_inline_association(hs: Any) -> None:
    company = hs.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Inline"}))
    contact = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "inline@example.com"},
            associations=[
                PublicAssociationsForObject(
                    to=PublicObjectId(id=company.id),
                    types=[
                        ContactAssociationSpec(
                            association_category="HUBSPOT_DEFINED", association_type_id=279
                        )
                    ],
                )
            ],
        )
    )
    out = hs.crm.associations.v4.basic_api.get_page("contacts", contact.id, "companies")
    assert [str(r.to_object_id) for r in out.results] == [company.id]
    assert 279 in {t.type_id for t in out.results[0].association_types}


def test_default_association_and_unknown_type_id(hs: Any) -> None:
    contact = _create_contact(hs, email="plain@example.com")
    company = hs.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Plain"}))
    basic = hs.crm.associations.v4.basic_api

    basic.create_default("contacts", contact.id, "companies", company.id)
    out = basic.get_page("contacts", contact.id, "companies")
    assert [str(r.to_object_id) for r in out.results] == [company.id]

    with pytest.raises(AssocApiException) as refused:
        basic.create(
            "contacts",
            contact.id,
            "companies",
            company.id,
            [AssociationSpec(association_category="USER_DEFINED", association_type_id=987654)],
        )
    assert refused.value.status in (400, 404)


# ---------------------------------------------------------------- properties


def test_custom_property_created_and_used_on_a_contact(hs: Any) -> None:
    props = hs.crm.properties.core_api
    made = props.create(
        "contacts",
        PropertyCreate(
            name="favourite_colour",
            label="Favourite colour",
            type="enumeration",
            field_type="select",
            group_name="contactinformation",
            options=[
                OptionInput(label="Teal", value="teal", display_order=0, hidden=False),
                OptionInput(label="Ochre", value="ochre", display_order=1, hidden=False),
            ],
        ),
    )
    assert isinstance(made, ModelProperty)  # 201 decoded, every required field present
    assert made.name == "favourite_colour"
    assert made.type == "enumeration" and made.field_type == "select"
    assert made.group_name == "contactinformation"
    assert [o.value for o in made.options] == ["teal", "ochre"]

    got = props.get_by_name("contacts", "favourite_colour")
    assert got.label == "Favourite colour"
    every = props.get_all("contacts")
    assert "favourite_colour" in {p.name for p in every.results}
    assert {"email", "firstname"} <= {p.name for p in every.results}

    contact = _create_contact(hs, email="fav@example.com", favourite_colour="teal")
    assert contact.properties["favourite_colour"] == "teal"
    read = hs.crm.contacts.basic_api.get_by_id(contact.id, properties=["favourite_colour"])
    assert read.properties["favourite_colour"] == "teal"

    with pytest.raises(ApiException) as refused:
        hs.crm.contacts.basic_api.update(
            contact.id, SimplePublicObjectInput(properties={"favourite_colour": "mauve"})
        )
    assert refused.value.status == 400
    assert _body(refused.value)["category"] == "VALIDATION_ERROR"

    with pytest.raises(PropertiesApiException) as twice:
        props.create(
            "contacts",
            PropertyCreate(
                name="favourite_colour",
                label="Again",
                type="string",
                field_type="text",
                group_name="contactinformation",
            ),
        )
    assert twice.value.status == 409

    relabelled = props.update(
        "contacts", "favourite_colour", PropertyUpdate(label="Favourite colour (ask)")
    )
    assert isinstance(relabelled, ModelProperty)
    assert relabelled.label == "Favourite colour (ask)"
    _, status, _ = props.archive_with_http_info("contacts", "favourite_colour")
    assert status == 204
    with pytest.raises(PropertiesApiException) as gone:
        props.get_by_name("contacts", "favourite_colour")
    assert gone.value.status == 404


# ---------------------------------------------------------------- custom objects


def test_custom_object_schema_and_a_record_of_it(hs: Any) -> None:
    schema = hs.crm.schemas.core_api.create(
        ObjectSchemaEgg(
            name="cars",
            labels=ObjectTypeDefinitionLabels(singular="Car", plural="Cars"),
            primary_display_property="model",
            secondary_display_properties=["vin"],
            required_properties=["model"],
            searchable_properties=["model", "vin"],
            properties=[
                ObjectTypePropertyCreate(
                    name="model", label="Model", type="string", field_type="text"
                ),
                ObjectTypePropertyCreate(
                    name="vin", label="VIN", type="string", field_type="text", has_unique_value=True
                ),
                ObjectTypePropertyCreate(
                    name="year", label="Year", type="number", field_type="number"
                ),
            ],
            associated_objects=["CONTACT"],
        )
    )
    assert isinstance(schema, ObjectSchema)  # 201 decoded
    assert schema.name == "cars"
    assert schema.labels.singular == "Car" and schema.labels.plural == "Cars"
    assert schema.object_type_id.startswith("2-")
    assert schema.object_type_id == f"2-{schema.id}"
    assert schema.fully_qualified_name.startswith("p") and schema.fully_qualified_name.endswith(
        "_cars"
    )
    assert schema.primary_display_property == "model"
    assert schema.required_properties == ["model"]
    assert {"model", "vin", "year"} <= {p.name for p in schema.properties}
    assert "0-1" in {a.to_object_type_id for a in schema.associations}

    fetched = hs.crm.schemas.core_api.get_by_id(schema.object_type_id)
    assert fetched.id == schema.id
    assert "cars" in {s.name for s in hs.crm.schemas.core_api.get_all().results}

    car = hs.crm.objects.basic_api.create(
        schema.object_type_id,
        ObjectCreate(properties={"model": "Model T", "vin": "V1", "year": "1908"}),
    )
    assert _is_record_id(car.id)
    assert car.properties["model"] == "Model T"
    assert car.properties["year"] == "1908"
    assert car.archived is False

    for name in (schema.object_type_id, schema.fully_qualified_name, "cars"):
        read = hs.crm.objects.basic_api.get_by_id(name, car.id, properties=["model", "vin"])
        assert read.id == car.id, name
        assert read.properties["vin"] == "V1"

    listed = hs.crm.objects.basic_api.get_page(schema.object_type_id, properties=["model"])
    assert [r.id for r in listed.results] == [car.id]
    found = hs.crm.objects.search_api.do_search(
        schema.object_type_id,
        {
            "filterGroups": [
                {"filters": [{"propertyName": "year", "operator": "GTE", "value": "1900"}]}
            ],
            "properties": ["model"],
        },
    )
    assert found.total == 1 and found.results[0].properties["model"] == "Model T"

    owner = _create_contact(hs, email="driver@example.com")
    hs.crm.associations.v4.basic_api.create_default(
        schema.object_type_id, car.id, "contacts", owner.id
    )
    driven = hs.crm.associations.v4.basic_api.get_page("contacts", owner.id, schema.object_type_id)
    assert [str(r.to_object_id) for r in driven.results] == [car.id]

    with pytest.raises(ObjectsApiException) as missing_required:
        hs.crm.objects.basic_api.create(
            schema.object_type_id, ObjectCreate(properties={"vin": "V2"})
        )
    assert missing_required.value.status == 400

    with pytest.raises(ObjectsApiException) as twin:
        hs.crm.objects.basic_api.create(
            schema.object_type_id, ObjectCreate(properties={"model": "Other", "vin": "V1"})
        )
    assert twin.value.status == 409
    assert f"Existing ID: {car.id}" in _body(twin.value)["message"]

    with pytest.raises(ObjectsApiException) as unknown:
        hs.crm.objects.basic_api.get_by_id("2-987654", car.id)
    assert unknown.value.status in (400, 404)


# ---------------------------------------------------------------- authentication


def test_a_wrong_token_is_a_401_and_writes_nothing(api: Api, hs: Any) -> None:
    stranger = hubspot.Client.create(access_token="not-a-token", host=api.url)
    with pytest.raises(ApiException) as refused:
        _create_contact(stranger, email="intruder@example.com")
    assert refused.value.status == 401
    body = _body(refused.value)
    assert body["status"] == "error" and body["correlationId"]
    assert hs.crm.contacts.basic_api.get_page().results == []
