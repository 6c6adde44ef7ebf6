"""vCard <-> fields: the mapping is exact for every mapped field and touches nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.carddav.vcard import (
    MAX_CARD_BYTES,
    VCardError,
    apply_fields,
    card_fields,
    card_updated_at,
    new_card,
    parse_card,
    serialize,
    touch,
)

SINGLE = (
    "fn",
    "given_name",
    "family_name",
    "email",
    "phone",
    "org",
    "title",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "note",
)

# Any printable text, with the characters vCard must escape (, ; \ newline) made likely.
text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        st.sampled_from([",", ";", "\\", "\n", ":", " ", "é", "😀"]),
    ),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s)


def _round_trip(fields: dict[str, object]) -> dict[str, object]:
    card = new_card("uid-1")
    apply_fields(card, fields)
    return card_fields(parse_card(serialize(card)))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(SINGLE), text))
def test_single_fields_round_trip(fields: dict[str, str]) -> None:
    back = _round_trip(dict(fields))
    assert {k: back[k] for k in fields} == fields


@settings(max_examples=200, deadline=None)
@given(st.lists(text, max_size=4), st.lists(text, max_size=4))
def test_list_fields_round_trip(emails: list[str], phones: list[str]) -> None:
    back = _round_trip({"emails": emails, "phones": phones})
    assert back["emails"] == emails and back["phones"] == phones
    assert back["email"] == (emails[0] if emails else None)
    assert back["phone"] == (phones[0] if phones else None)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(SINGLE), text), st.dictionaries(st.sampled_from(SINGLE), text)
)
def test_a_second_write_keeps_fields_it_does_not_name(
    first: dict[str, str], second: dict[str, str]
) -> None:
    card = new_card("u")
    apply_fields(card, first)
    card = parse_card(serialize(card))
    apply_fields(card, second)
    back = card_fields(parse_card(serialize(card)))
    expected = {**first, **second}
    # FN follows the name when it was derived from it; it is checked in its own test.
    expected.pop("fn", None)
    assert {k: back[k] for k in expected} == expected


PHONE_CARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:p1\r\nFN:Dr. Ada\r\nN:Lovelace;Ada;King;Dr.;\r\n"
    "EMAIL;TYPE=INTERNET:first@x.io\r\nEMAIL;TYPE=INTERNET,pref:pref@x.io\r\n"
    "TEL;TYPE=CELL:+1 555\r\nX-SOCIALPROFILE;TYPE=twitter:@ada\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:AAECAw==\r\nREV:20240102T030405Z\r\nEND:VCARD\r\n"
)


def test_preferred_email_is_the_email_and_writes_keep_everything_else() -> None:
    card = parse_card(PHONE_CARD)
    fields = card_fields(card)
    assert fields["email"] == "pref@x.io" and fields["emails"] == ["first@x.io", "pref@x.io"]
    assert card_updated_at(card) == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)

    apply_fields(card, {"email": "new@x.io", "given_name": "Augusta"})
    out = serialize(card)

    assert "EMAIL;TYPE=INTERNET,pref:new@x.io" in out and "first@x.io" in out
    assert "N:Lovelace;Augusta;King;Dr.;" in out  # middle name and prefix kept
    assert "FN:Dr. Ada" in out  # a hand-written FN is not replaced
    assert (
        "X-SOCIALPROFILE;TYPE=twitter:@ada" in out and "PHOTO;ENCODING=b;TYPE=JPEG:AAECAw==" in out
    )


def test_emails_list_keeps_parameters_of_values_that_stay() -> None:
    card = parse_card(PHONE_CARD)
    apply_fields(card, {"emails": ["pref@x.io", "third@x.io"]})
    out = serialize(card)
    assert "EMAIL;TYPE=INTERNET,pref:pref@x.io" in out and "EMAIL:third@x.io" in out
    assert "first@x.io" not in out


def test_fn_follows_a_derived_name_and_empty_values_remove_properties() -> None:
    card = new_card("u")
    apply_fields(card, {"given_name": "Ada", "family_name": "Lovelace", "org": "Acme"})
    assert card_fields(card)["fn"] == "Ada Lovelace"
    apply_fields(card, {"family_name": "Byron"})
    assert card_fields(card)["fn"] == "Ada Byron"
    apply_fields(card, {"given_name": None, "family_name": "", "org": None, "email": "a@x.io"})
    fields = card_fields(card)
    assert (fields["given_name"], fields["family_name"], fields["org"]) == (None, None, None)
    assert fields["fn"] == "a@x.io"  # FN is required: the best name left
    assert "\r\nN:" not in serialize(card) and "ORG" not in serialize(card)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nickname": "x"}, "unknown field"),
        ({"email": {"a": 1}}, "takes text"),
        ({"phones": 5}, "list of text"),
        ({"note": True}, "takes text"),
        ({"note": "x" * (MAX_CARD_BYTES + 1)}, "larger than"),
    ],
)
def test_bad_values_are_refused(fields: dict[str, object], message: str) -> None:
    card = new_card("u")
    with pytest.raises(VCardError, match=message):
        apply_fields(card, fields)
        serialize(card)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n",  # never closed
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
        PHONE_CARD + PHONE_CARD,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN\r\nEND:VCARD\r\n",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPHOTO;ENCODING=b:!!!notbase64\r\nEND:VCARD\r\n",
        "BEGIN:VCARD\r\nNOTE:" + "x" * MAX_CARD_BYTES + "\r\nEND:VCARD\r\n",
        "\x00\x01\x02BEGIN:VCARD",
    ],
)
def test_hostile_cards_are_refused(text: str) -> None:
    with pytest.raises(VCardError):
        parse_card(text)


@pytest.mark.parametrize(
    ("rev", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("20240102T030405Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
        ("yesterday", None),
    ],
)
def test_rev_is_read_as_an_aware_time(rev: str, expected: datetime | None) -> None:
    card = parse_card(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nREV:{rev}\r\nEND:VCARD\r\n")
    assert card_updated_at(card) == expected


def test_touch_sets_rev() -> None:
    card = new_card("u")
    touch(card, datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC))
    assert card_updated_at(parse_card(serialize(card))) == datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)
