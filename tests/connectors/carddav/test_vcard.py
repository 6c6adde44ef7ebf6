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
    write_text,
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
    # vCard 3.0 requires N too: an empty one says "no name" (a phone editing the card then
    # has an N to put a name in).
    assert "\r\nN:;;;;\r\n" in serialize(card) and "ORG" not in serialize(card)


def test_a_vcard_4_card_without_a_name_loses_its_n_line() -> None:
    card = parse_card("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada\r\nN:Lovelace;Ada;;;\r\nEND:VCARD\r\n")
    apply_fields(card, {"given_name": None, "family_name": None})
    assert "\r\nN:" not in serialize(card)  # optional in 4.0


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


# -- issue 13 #11: tel: URIs and byte-for-byte updates -------------------------------------

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CARD_V4 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "UID:urn:uuid:4fbe8971\r\n"
    "FN:Ada Lovelace\r\n"
    "N:Lovelace;Ada;;;\r\n"
    "TEL;VALUE=uri;TYPE=cell:tel:+45-1234-5678\r\n"
    "TEL;VALUE=uri;TYPE=work:tel:+45-8765-4321;ext=12\r\n"
    "item1.X-ABLabel:_$!<Other>!$_\r\n"
    "X-LONG:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
    " continued\r\n"
    "REV:20200101T000000Z\r\n"
    "END:VCARD\r\n"
)


def _update(text: str, fields: dict[str, object]) -> str:
    return write_text(parse_card(text), fields, NOW, original=text)


def test_tel_uris_read_as_e164_with_their_extension() -> None:
    fields = card_fields(parse_card(CARD_V4))
    assert fields["phone"] == "+4512345678"
    assert fields["phones"] == ["+4512345678", "+4587654321;ext=12"]


def test_an_update_keeps_every_line_it_did_not_change_byte_for_byte() -> None:
    out = _update(CARD_V4, {"title": "Countess"})
    expected = CARD_V4.replace("REV:20200101T000000Z", "REV:2026-12-06T12:00:00Z").replace(
        "END:VCARD", "TITLE:Countess\r\nEND:VCARD"
    )
    assert out == expected
    # Nothing to change but REV: the card is the same text with the new REV.
    assert _update(CARD_V4, {"phones": ["+4512345678", "+4587654321;ext=12"]}) == (
        CARD_V4.replace("REV:20200101T000000Z", "REV:2026-12-06T12:00:00Z")
    )


def test_a_phone_written_into_a_tel_uri_line_is_a_valid_uri_and_the_other_tel_stays() -> None:
    out = _update(CARD_V4, {"phone": "+45 9999 8888"})
    assert "TEL;TYPE=cell;VALUE=uri:tel:+4599998888\r\n" in out
    assert "TEL;VALUE=uri;TYPE=work:tel:+45-8765-4321;ext=12\r\n" in out  # as it was
    assert card_fields(parse_card(out))["phones"] == ["+4599998888", "+4587654321;ext=12"]
    # A new number in a vCard 4.0 is a URI too; one without a country code stays text.
    out = _update(CARD_V4, {"phones": ["+4587654321;ext=12", "+1 555 0100", "555-0199"]})
    assert "TEL;VALUE=uri;TYPE=work:tel:+45-8765-4321;ext=12\r\n" in out
    assert "TEL;VALUE=uri:tel:+15550100\r\n" in out and "TEL:555-0199\r\n" in out
    assert card_fields(parse_card(out))["phones"] == [
        "+4587654321;ext=12",
        "+15550100",
        "555-0199",
    ]


def test_a_card_that_does_not_line_up_is_written_whole() -> None:
    # vobject reads X_CUSTOM as X-CUSTOM: the text no longer lines up with the parsed card.
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\r\nX_CUSTOM:1\r\nEND:VCARD\r\n"
    out = _update(card, {"title": "T"})
    assert "TITLE:T" in out and "X-CUSTOM:1" in out
    assert card_fields(parse_card(out))["fn"] == "Ada"
