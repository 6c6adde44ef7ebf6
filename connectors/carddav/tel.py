"""Phone numbers in vCards: ``tel:`` URIs (vCard 4.0, RFC 3966) <-> the text a sync maps.

vCard 4.0 writes ``TEL;VALUE=uri:tel:+45-1234-5678``; a CRM phone property wants the number,
not a URI. Reading gives the number in E.164 (``+4512345678``, with ``;ext=12`` when the URI
has an extension), and writing a number into a URI line makes a valid ``tel:`` URI again, so
the number round-trips and the next read equals what was written (no ping-pong). Lines that
hold plain text (vCard 3.0 ``TEL:+45 1234 5678``) are read and written as they are.
"""

from __future__ import annotations

import re

import phonenumbers
from vobject.base import ContentLine

__all__ = ["is_uri_line", "line_number", "set_number"]

_SCHEME = "tel:"
# What a written tel: URI may hold (RFC 3966 without the rarely used parameters' quoting).
_URI_SAFE = re.compile(r"^tel:[0-9A-Za-z+\-.()*#;=%]+$")


def is_uri_line(line: ContentLine) -> bool:
    """A TEL line whose value is a URI: ``VALUE=uri``, or a value that starts with ``tel:``."""
    values = [str(v).lower() for v in line.params.get("VALUE", [])]
    raw = line.value
    return "uri" in values or (isinstance(raw, str) and raw[:4].lower() == _SCHEME)


def line_number(line: ContentLine) -> str | None:
    """The number a TEL line holds, as a sync maps it: ``tel:`` URIs become E.164."""
    raw = line.value
    if raw is None:
        return None
    text = str(raw)
    if text[:4].lower() != _SCHEME:
        return text or None
    return uri_to_number(text)


def uri_to_number(uri: str) -> str | None:
    """``tel:+45-1234-5678;ext=12`` -> ``+4512345678;ext=12``; a URI that is no global
    number (``tel:7042;phone-context=example.com``) loses only its scheme."""
    body = uri[4:].strip()
    if not body:
        return None
    if body.startswith("+"):
        try:
            number = phonenumbers.parse(uri, None)
        except phonenumbers.NumberParseException:
            return body
        return _e164(number)
    return body


def set_number(line: ContentLine, number: str, *, uri: bool) -> None:
    """Write ``number`` into ``line``: a valid ``tel:`` URI when ``uri``, else plain text.

    A number that cannot be a global ``tel:`` URI (no country code) is written as text and
    the line's ``VALUE=uri`` parameter is dropped, so the card stays valid either way.
    """
    uri_text = number_to_uri(number) if uri else None
    if uri_text is None:
        if "VALUE" in line.params:
            del line.params["VALUE"]
        line.value = number
        return
    line.value = uri_text
    # Already a valid URI: written as is (vobject would escape ``;ext=`` into ``\\;ext=``).
    line.encoded = True


def number_to_uri(number: str) -> str | None:
    """``+4512345678;ext=12`` (or any spelling with a country code) -> ``tel:+4512345678;ext=12``."""
    text = number.strip()
    if text[:4].lower() == _SCHEME:
        return text if _URI_SAFE.match(text) else None
    if not text.startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    uri = _SCHEME + _e164(parsed)
    return uri if _URI_SAFE.match(uri) else None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    text: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{text};ext={number.extension}" if number.extension else text
