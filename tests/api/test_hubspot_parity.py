"""Issue 18 through HubSpot's own Python client against a real uvicorn server: what client
code written for HubSpot reads (system properties it did not ask for, one error per bad
property, bool options, the correlation header, no ``null`` where HubSpot sends none).
SQLite and PostgreSQL through the ``api`` fixture."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import hubspot
import pytest
from hubspot.crm.associations.v4 import ApiException as AssocApiException
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObjectWithErrors,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import ModelProperty, OptionInput, PropertyCreate

from syncd.api import ApiSettings
from tests.api.conftest import Api

SYSTEM = {"createdate", "hs_object_id", "lastmodifieddate"}


@pytest.fixture
def api_settings() -> ApiSettings:
    return ApiSettings(rate_limit_max=10_000)


@pytest.fixture
def hs(api: Api) -> Iterator[Any]:
    yield hubspot.Client.create(access_token=api.token, host=api.url)


def _create(hs: Any, **properties: str) -> Any:
    return hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties=properties))


def test_sdk_reads_naming_properties_get_the_system_ones(hs: Any) -> None:
    made = _create(hs, email="ada@example.com", firstname="Ada")
    read = hs.crm.contacts.basic_api.get_by_id(made.id, properties=["email"])
    assert set(read.properties) == {"email"} | SYSTEM
    assert read.properties["hs_object_id"] == made.id
    page = hs.crm.contacts.basic_api.get_page(properties=["email"])
    assert set(page.results[0].properties) == {"email"} | SYSTEM
    found = hs.crm.contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(properties=["email"])
    )
    assert set(found.results[0].properties) == {"email"} | SYSTEM
    batch = hs.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            properties=["email"], properties_with_history=[], inputs=[SimplePublicObjectId(made.id)]
        )
    )
    assert set(batch.results[0].properties) == {"email"} | SYSTEM
    # A 200 batch has no errors to report: the SDK model has none rather than nulls sent.
    assert batch.requested_at is None and batch.links is None


def test_sdk_batch_create_with_three_bad_properties_gets_three_errors(hs: Any) -> None:
    bad = {"nosuch": "x", "email": "not-an-email", "lifecyclestage": "bogus"}
    answer = hs.crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(properties={"email": "ok@example.com"}),
                SimplePublicObjectBatchInputForCreate(properties=bad),
            ]
        )
    )
    assert isinstance(answer, BatchResponseSimplePublicObjectWithErrors)  # the 207 model
    assert answer.num_errors == 1 and len(answer.results) == 1
    details = answer.errors[0].errors
    assert sorted((d.context["propertyName"][0], d.code) for d in details) == [
        ("email", "INVALID_EMAIL"),
        ("lifecyclestage", "INVALID_OPTION"),
        ("nosuch", "PROPERTY_DOESNT_EXIST"),
    ]
    with pytest.raises(ApiException) as refused:
        _create(hs, **bad)
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert len(body["errors"]) == 3
    # The correlation id is in the header too, the same as in the body.
    assert refused.value.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]


def test_sdk_creates_a_booleancheckbox_with_hubspots_options(hs: Any) -> None:
    made = hs.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="vip",
            label="VIP",
            type="bool",
            field_type="booleancheckbox",
            group_name="contactinformation",
            options=[
                OptionInput(label="Yes", value="true", display_order=0, hidden=False),
                OptionInput(label="No", value="false", display_order=1, hidden=False),
            ],
        ),
    )
    assert isinstance(made, ModelProperty)
    assert [(o.value, o.label) for o in made.options] == [("true", "Yes"), ("false", "No")]
    assert made.archived_at is None and made.referenced_object_type is None


def test_sdk_association_list_and_errors_without_nulls(api: Api, hs: Any) -> None:
    ann = _create(hs, email="ann@example.com")
    page = hs.crm.associations.v4.basic_api.get_page("contacts", ann.id, "companies")
    assert page.results == [] and page.paging is None
    raw = api.client.get(f"/crm/v4/objects/contacts/{ann.id}/associations/companies")
    assert raw.json() == {"results": []}  # paging left out, as HubSpot leaves it out
    with pytest.raises(AssocApiException) as refused:
        hs.crm.associations.v4.basic_api.get_page("contacts", "987654321", "companies")
    body = json.loads(refused.value.body)
    assert refused.value.status == 404 and not {"id", "subCategory"} & set(body)
    assert refused.value.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]
