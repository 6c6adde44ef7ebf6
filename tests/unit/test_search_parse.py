"""Parsing search requests: the CLI mini-language, HubSpot's JSON, sorts and limits."""

from __future__ import annotations

import pytest

from store import (
    Filter,
    FilterGroup,
    SearchError,
    Sort,
    parse_filter_expression,
    parse_filter_groups,
    parse_sort,
    parse_sorts,
)

EXPRESSIONS = [
    ("email EQ a@b.com", Filter("email", "EQ", "a@b.com")),
    ("amount BETWEEN 10 20", Filter("amount", "BETWEEN", "10", high_value="20")),
    (
        "lifecyclestage IN lead,customer",
        Filter("lifecyclestage", "IN", values=("lead", "customer")),
    ),
    (
        "lifecyclestage not_in lead , customer",
        Filter("lifecyclestage", "NOT_IN", values=("lead", "customer")),
    ),
    ("phone HAS_PROPERTY", Filter("phone", "HAS_PROPERTY")),
    (
        "notes_last_contacted MORE_THAN_DAYS_AGO 90",
        Filter("notes_last_contacted", "MORE_THAN_DAYS_AGO", "90"),
    ),
    ("firstname EQ Mary Ann", Filter("firstname", "EQ", "Mary Ann")),
    ("email CONTAINS_TOKEN *@hubspot.com", Filter("email", "CONTAINS_TOKEN", "*@hubspot.com")),
    ("associations.contact EQ 12", Filter("associations.contact", "EQ", "12")),
]


@pytest.mark.parametrize(("text", "expected"), EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_filter_expression(text: str, expected: Filter) -> None:
    assert parse_filter_expression(text) == expected


BAD_EXPRESSIONS = [
    ("email", "expected PROPERTY OPERATOR"),
    ("email EQQ x", "operator 'EQQ' unknown; did you mean 'EQ'"),
    ("email EQ", "EQ needs a value"),
    ("phone HAS_PROPERTY yes", "HAS_PROPERTY takes no value"),
    ("amount BETWEEN 10", "BETWEEN needs two values"),
    ("stage IN ,", "IN needs a list"),
]


@pytest.mark.parametrize(("text", "message"), BAD_EXPRESSIONS, ids=[e[0] for e in BAD_EXPRESSIONS])
def test_bad_filter_expression(text: str, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        parse_filter_expression(text)


def test_hubspot_json_shape() -> None:
    raw = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "amount",
                        "operator": "between",
                        "value": 10,
                        "highValue": 20.5,
                    }
                ]
            },
            {"filters": [{"propertyName": "stage", "operator": "IN", "values": ["a", "b"]}]},
            {"filters": [{"propertyName": "vip", "operator": "EQ", "value": True}]},
        ]
    }
    assert parse_filter_groups(raw) == (
        FilterGroup((Filter("amount", "BETWEEN", "10", high_value="20.5"),)),
        FilterGroup((Filter("stage", "IN", values=("a", "b")),)),
        FilterGroup((Filter("vip", "EQ", "true"),)),
    )
    assert parse_filter_groups([]) == ()


def _filters(n: int) -> dict[str, object]:
    return {"filters": [{"propertyName": "p", "operator": "HAS_PROPERTY"}] * n}


LIMITS = [
    ([_filters(1)] * 5, None),
    ([_filters(1)] * 6, "6 filter groups; at most 5"),
    ([_filters(6)], None),
    ([_filters(7)], r"filterGroups\[0\]\.filters: 7 filters; at most 6"),
    ([_filters(6)] * 3, None),
    ([_filters(6)] * 3 + [_filters(1)], "19 filters in all; at most 18"),
]


@pytest.mark.parametrize(
    ("raw", "message"),
    LIMITS,
    ids=["5-groups", "6-groups", "6-filters", "7-filters", "18-in-all", "19-in-all"],
)
def test_hubspot_limits(raw: list[object], message: str | None) -> None:
    if message is None:
        parse_filter_groups(raw)
    else:
        with pytest.raises(SearchError, match=message):
            parse_filter_groups(raw)


BAD_JSON = [
    ("x", r"filterGroups: expected a list of filter groups, got text"),
    ([1], r"filterGroups\[0\]: expected an object"),
    ([{"filters": [{"operator": "EQ"}]}], r"filters\[0\]\.propertyName: required"),
    (
        [{"filters": [{"propertyName": "a", "operator": "EQQ", "value": "1"}]}],
        r"filters\[0\]\.operator: 'EQQ' unknown; did you mean 'EQ'",
    ),
    (
        [{"filters": [{"propertyName": "a", "operator": 3}]}],
        r"filters\[0\]\.operator: expected one of",
    ),
    (
        [{"filters": [{"propertyName": "a", "operator": "IN", "values": "a"}]}],
        r"filters\[0\]\.values: expected a list",
    ),
    (
        [{"filters": [{"propertyName": "a", "operator": "EQ", "value": [1]}]}],
        r"filters\[0\]\.value: expected text or a number, got a list",
    ),
    (
        [{"filters": [{"propertyName": "a", "operator": "EQ", "value": "x" * 70_000}]}],
        r"longer than 65536",
    ),
    ([{"filters": [{"propertyName": "a", "operator": "EQ", "value": "a\x00"}]}], r"NUL"),
    ([{"filter": []}], r"filterGroups\[0\]\.filter: unknown field; did you mean 'filters'"),
]


@pytest.mark.parametrize(
    ("raw", "message"),
    BAD_JSON,
    ids=[
        "not-a-list",
        "group-not-object",
        "no-property",
        "unknown-operator",
        "operator-not-text",
        "values-not-list",
        "value-a-list",
        "too-long",
        "nul",
        "misspelt-key",
    ],
)
def test_bad_json_names_the_path(raw: object, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        parse_filter_groups(raw)


SORTS = [
    ("createdate", Sort("createdate")),
    ("createdate:desc", Sort("createdate", True)),
    ("createdate:ASC", Sort("createdate")),
    ("-amount", Sort("amount", True)),
]


@pytest.mark.parametrize(("text", "expected"), SORTS, ids=[s[0] for s in SORTS])
def test_sort(text: str, expected: Sort) -> None:
    assert parse_sort(text) == expected


def test_sorts_in_hubspot_shape() -> None:
    assert parse_sorts([{"propertyName": "amount", "direction": "DESCENDING"}, "name"]) == (
        Sort("amount", True),
        Sort("name"),
    )
    with pytest.raises(SearchError, match=r"sorts\[0\]\.direction"):
        parse_sorts([{"propertyName": "amount", "direction": "DOWN"}])
    with pytest.raises(SearchError, match="asc or desc"):
        parse_sort("amount:sideways")
