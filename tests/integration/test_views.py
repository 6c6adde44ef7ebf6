"""Saved views on SQLite and PostgreSQL: the store API and ``syncd views``."""

from __future__ import annotations

import pytest

from store import (
    FilterGroup,
    NotFoundError,
    SearchError,
    Sort,
    Store,
    StoreError,
    parse_filter_expression,
)
from tests.integration._store_helpers import contact
from tests.integration.test_cli import as_json, ok, refused, run, usage_error


def where(*expressions: str) -> tuple[FilterGroup, ...]:
    return (FilterGroup(tuple(parse_filter_expression(e) for e in expressions)),)


def test_view_round_trip(store: Store) -> None:
    view = store.create_view(
        "contacts",
        "leads",
        where("lifecyclestage EQ lead", "firstname HAS_PROPERTY"),
        [Sort("email", descending=True)],
        ["email", "firstname", "email"],
    )
    assert view.filter_groups == (
        {
            "filters": [
                {"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"},
                {"propertyName": "firstname", "operator": "HAS_PROPERTY"},
            ]
        },
    )
    assert view.sorts == ({"propertyName": "email", "direction": "DESCENDING"},)
    assert view.columns == ("email", "firstname")
    assert store.get_view("contacts", "leads") == view
    assert store.get_view("0-1", "leads") == view  # by type id too
    assert store.list_views() == [view] == store.list_views("contacts")
    assert store.list_views("companies") == []
    store.delete_view("contacts", "leads")
    assert store.list_views() == []


def test_run_view_uses_filter_sort_and_columns(store: Store) -> None:
    a = contact(store, "a@x.com", lifecyclestage="lead", firstname="Ann", lastname="A")
    b = contact(store, "b@x.com", lifecyclestage="lead", firstname="Bob")
    contact(store, "c@x.com", lifecyclestage="customer")
    store.create_view(
        "contacts", "leads", where("lifecyclestage EQ lead"), [Sort("email", True)], ["email"]
    )
    page = store.run_view("contacts", "leads", limit=1)
    assert page.total == 2
    assert [r.id for r in page.records] == [b.id]
    assert set(page.records[0].properties) <= {"email", "hs_object_id"}
    assert page.next_after is not None
    rest = store.run_view("contacts", "leads", limit=5, after=page.next_after)
    assert [r.id for r in rest.records] == [a.id] and rest.next_after is None


def test_view_without_filter_shows_everything(store: Store) -> None:
    a, b = contact(store), contact(store)
    store.create_view("contacts", "all")
    assert {r.id for r in store.run_view("contacts", "all").records} == {a.id, b.id}


@pytest.mark.parametrize(
    ("name", "filters", "sorts", "columns", "error", "message"),
    [
        ("v", where("nope EQ 1"), [], [], SearchError, "no property 'nope'"),
        ("v", where("createdate GT someday"), [], [], SearchError, "someday"),
        ("v", [{"filters": [{"operator": "EQ"}]}], [], [], SearchError, "propertyName"),
        ("v", "lifecyclestage = lead", [], [], SearchError, "expected a list"),
        ("v", (), [Sort("nope")], [], NotFoundError, "no property 'nope'"),
        ("v", (), [], ["emial"], NotFoundError, "did you mean 'email'"),
        ("", (), [], [], StoreError, "not blank"),
        ("v" * 201, (), [], [], StoreError, "at most 200"),
    ],
    ids=[
        "unknown-filter-property",
        "bad-filter-value",
        "filter-without-property",
        "filter-not-json-list",
        "unknown-sort-property",
        "unknown-column",
        "empty-name",
        "long-name",
    ],
)
def test_create_view_refusals(
    store: Store,
    name: str,
    filters: object,
    sorts: list[Sort],
    columns: list[str],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        store.create_view("contacts", name, filters, sorts, columns)
    assert store.list_views() == []


def test_view_names_are_unique_per_object(store: Store) -> None:
    store.create_view("contacts", "mine")
    with pytest.raises(StoreError, match="contacts already has a view named 'mine'"):
        store.create_view("contacts", "mine")
    store.create_view("companies", "mine")  # another object: fine
    assert [(v.object, v.name) for v in store.list_views()] == [
        ("companies", "mine"),
        ("contacts", "mine"),
    ]


def test_unknown_view_and_object(store: Store) -> None:
    with pytest.raises(NotFoundError, match="contacts has no view named 'x'"):
        store.get_view("contacts", "x")
    with pytest.raises(NotFoundError, match="contacts has no view named 'x'"):
        store.delete_view("contacts", "x")
    with pytest.raises(NotFoundError):
        store.create_view("nope", "x")


# ------------------------------------------------------------------ CLI


def test_cli_views_end_to_end(db_url: str) -> None:
    ok(run(db_url, "records create contacts -s email=a@x.com -s lifecyclestage=lead"))
    ok(run(db_url, "records create contacts -s email=b@x.com -s lifecyclestage=customer"))
    out = ok(
        run(
            db_url,
            "views create contacts 'My leads' --filter 'lifecyclestage EQ lead' "
            "--sort email:desc --columns email,lifecyclestage",
        )
    )
    assert "saved view 'My leads' of contacts" in out
    shown = as_json(run(db_url, "--json views show contacts 'My leads'"))
    assert shown["filterGroups"] == [
        {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}]}
    ]
    assert shown["columns"] == ["email", "lifecyclestage"]
    listed = as_json(run(db_url, "--json views list contacts"))
    assert [v["name"] for v in listed] == ["My leads"]
    assert "lifecyclestage EQ lead" in ok(run(db_url, "views list"))
    result = as_json(run(db_url, "--json views run contacts 'My leads'"))
    assert result["total"] == 1
    assert result["results"][0]["properties"] == {"email": "a@x.com", "lifecyclestage": "lead"}
    assert "a@x.com" in ok(run(db_url, "views run contacts 'My leads'"))
    ok(run(db_url, "views delete contacts 'My leads'"))
    assert as_json(run(db_url, "--json views list")) == []


def test_cli_views_or_filters(db_url: str) -> None:
    ok(run(db_url, "records create contacts -s email=a@x.com -s lifecyclestage=lead"))
    ok(run(db_url, "records create contacts -s email=b@x.com -s firstname=Zed"))
    ok(run(db_url, "records create contacts -s email=c@x.com"))
    ok(
        run(
            db_url,
            "views create contacts either -f 'lifecyclestage EQ lead' -f 'firstname EQ zed' --or",
        )
    )
    assert as_json(run(db_url, "--json views run contacts either"))["total"] == 2


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("views create contacts v --filter 'nope EQ 1'", "no property 'nope'"),
        ("views create contacts v --columns emial", "did you mean 'email'"),
        ("views show contacts missing", "no view named 'missing'"),
        ("views run contacts missing", "no view named 'missing'"),
        ("views delete contacts missing", "no view named 'missing'"),
        ("views list nope", "nope"),
    ],
    ids=[
        "unknown-property",
        "unknown-column",
        "show-missing",
        "run-missing",
        "delete-missing",
        "unknown-object",
    ],
)
def test_cli_views_refusals(db_url: str, command: str, message: str) -> None:
    assert message in refused(run(db_url, command))


def test_cli_duplicate_view_is_refused(db_url: str) -> None:
    ok(run(db_url, "views create contacts v"))
    assert "already has a view named 'v'" in refused(run(db_url, "views create contacts v"))


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("views create contacts v --filter 'email'", "expected PROPERTY OPERATOR"),
        ("views create contacts v --filter 'email LIKE x'", "unknown"),
        ("views create contacts v --sort email:sideways", "asc or desc"),
        ("views create contacts v --or", "--or needs --filter"),
    ],
    ids=["no-operator", "unknown-operator", "bad-sort", "or-alone"],
)
def test_cli_views_usage_errors(db_url: str, command: str, message: str) -> None:
    assert message in usage_error(run(db_url, command))
