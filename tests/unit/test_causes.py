"""Failure messages grouped by cause: what names a record goes, what tells causes apart stays."""

from __future__ import annotations

import pytest

from syncd.causes import cause_of


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        (
            "email ann17@shop.io is already used by contact 1734",
            "email <email> is already used by contact <n>",
        ),
        ("422 email is invalid", "422 email is invalid"),
        (
            "HTTP 409 from https://api.x.io/v1/contacts/88",
            "HTTP 409 from https://api.x.io/v1/contacts/<n>",
        ),
        (
            "card 0b6e1f3a-8c1d-4c9e-9a55-0f1e2d3c4b5a refused: status 412",
            "card <id> refused: status 412",
        ),
        ("row 5 value 3.5 out of range", "row <n> value <n> out of range"),
        (
            "field 'phone': e164 cannot map 'not a phone 7': not a phone number ((1) ...)",
            "field 'phone': e164 cannot map 'not a phone <n>': not a phone number ((<n>) ...)",
        ),
        ("", "(no message)"),
        (None, "(no message)"),
    ],
)
def test_cause_of(message: str | None, cause: str) -> None:
    assert cause_of(message) == cause


def test_one_cause_for_many_records_and_two_for_two_statuses() -> None:
    messages = [f"email c{n}@x.io is already used by contact {n}" for n in range(134)]
    assert len({cause_of(m) for m in messages}) == 1
    assert cause_of("HTTP 422: bad") != cause_of("HTTP 409: bad")
