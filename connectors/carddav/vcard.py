"""vCard <-> the flat fields a sync maps: pure functions over vobject components.

A write changes only the properties behind the fields it is given and leaves every other
line of the card as it was (photos, ``X-`` properties, extra addresses, parameters), because
the card belongs to the people who edit it in their address book apps: we are one of many
writers. The mapped fields are documented in ``docs/connector-carddav.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import vobject
from vobject.base import Component, ContentLine
from vobject.vcard import Address, Name

from connectors.carddav import patch, tel

__all__ = [
    "FIELDS",
    "LIST_FIELDS",
    "MAX_CARD_BYTES",
    "VCardError",
    "apply_fields",
    "card_fields",
    "card_updated_at",
    "checked_size",
    "new_card",
    "parse_card",
    "serialize",
    "touch",
    "write_text",
]

#: Cards larger than this are refused when read and when written (photos are the usual cause).
MAX_CARD_BYTES = 1024 * 1024

FIELDS: tuple[str, ...] = (
    "uid",
    "fn",
    "given_name",
    "family_name",
    "email",
    "emails",
    "phone",
    "phones",
    "org",
    "title",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "note",
)
LIST_FIELDS = frozenset({"emails", "phones"})
_ADR_PARTS = {
    "street": "street",
    "city": "city",
    "region": "region",
    "postal_code": "code",
    "country": "country",
}
_SIMPLE = {"uid": "uid", "fn": "fn", "title": "title", "note": "note"}


class VCardError(ValueError):
    """A card that cannot be read, or a value that cannot be written into one."""


# -- reading ---------------------------------------------------------------------------


def parse_card(text: str) -> Component:
    """Exactly one VCARD; anything else (garbage, a calendar, two cards) is refused."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CARD_BYTES:
        raise VCardError(f"the card is larger than {MAX_CARD_BYTES // 1024} KiB")
    try:
        components = list(vobject.readComponents(text, validate=False))
    except Exception as exc:  # vobject raises many kinds for broken input
        raise VCardError(f"not a valid vCard: {_short(str(exc))}") from None
    if len(components) != 1 or components[0].name != "VCARD":
        raise VCardError("not a single VCARD")
    card = components[0]
    try:
        # Decode every value now, so a broken line fails here and not in the middle of a sync.
        for line in card.getChildren():
            _ = line.value
        card_fields(card)
    except Exception as exc:
        raise VCardError(f"not a valid vCard: {_short(str(exc))}") from None
    return card


def card_fields(card: Component) -> dict[str, Any]:
    """The mapped fields of a card; absent values are None, absent lists empty."""
    fields: dict[str, Any] = {name: _text(_first(card, prop)) for name, prop in _SIMPLE.items()}
    n = _first(card, "n")
    given = family = None
    if n is not None and isinstance(n.value, Name):
        given, family = _part(n.value.given), _part(n.value.family)
    fields["given_name"], fields["family_name"] = given, family
    emails = _lines(card, "email")
    fields["emails"] = [v for v in (_text(line) for line in emails) if v]
    fields["email"] = _text(_preferred(emails))
    phones = _lines(card, "tel")
    fields["phones"] = [v for v in (_line_text("tel", line) for line in phones) if v]
    fields["phone"] = _line_text("tel", _preferred(phones))
    org = _first(card, "org")
    fields["org"] = _org(org)
    adr = _preferred(_lines(card, "adr"))
    address = adr.value if adr is not None and isinstance(adr.value, Address) else None
    for name, part in _ADR_PARTS.items():
        fields[name] = _part(getattr(address, part)) if address is not None else None
    return fields


def card_updated_at(card: Component) -> datetime | None:
    """The card's REV as an aware UTC time; None when absent or unreadable (never a guess)."""
    rev = _first(card, "rev")
    raw = rev.value if rev is not None else None
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date):
        moment = datetime.combine(raw, time(0), UTC)
    elif isinstance(raw, str) and raw.strip():
        moment_or_none = _parse_rev(raw.strip())
        if moment_or_none is None:
            return None
        moment = moment_or_none
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_rev(text: str) -> datetime | None:
    for candidate in (text, text.replace("Z", "+00:00")):
        try:
            return datetime.fromisoformat(candidate)
        except ValueError:
            pass
    for pattern in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S", "%Y%m%d"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            pass
    return None


# -- writing ---------------------------------------------------------------------------


def new_card(uid: str) -> Component:
    """An empty vCard 3.0 (the version every server, Google and iCloud included, accepts)."""
    card = vobject.vCard()
    card.add("version").value = "3.0"
    card.add("prodid").value = "-//syncd//carddav//EN"
    card.add("uid").value = uid
    card.add("fn").value = ""
    return card


def apply_fields(card: Component, fields: Mapping[str, Any]) -> None:
    """Write ``fields`` into ``card``, touching only the properties behind them.

    ``None`` or ``""`` removes a value. ``emails``/``phones`` replace every EMAIL/TEL line
    (lines whose value stays keep their parameters); ``email``/``phone`` change only the
    preferred (else first) line. FN follows the name when it was derived from it before.
    """
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise VCardError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; a card has: {', '.join(FIELDS)}"
        )
    auto_fn_before = _auto_fn(card)
    for name, prop in _SIMPLE.items():
        if name in fields:
            _set_single(card, prop, _value(name, fields[name]))
    if "given_name" in fields or "family_name" in fields:
        _set_name(card, fields)
    if "emails" in fields:
        _set_list(card, "email", _list_value("emails", fields["emails"]))
    if "email" in fields:
        _set_preferred(card, "email", _value("email", fields["email"]))
    if "phones" in fields:
        _set_list(card, "tel", _list_value("phones", fields["phones"]))
    if "phone" in fields:
        _set_preferred(card, "tel", _value("phone", fields["phone"]))
    if "org" in fields:
        _set_org(card, _value("org", fields["org"]))
    if any(name in fields for name in _ADR_PARTS):
        _set_address(card, fields)
    if "fn" not in fields or not _value("fn", fields["fn"]):
        current = _text(_first(card, "fn"))
        if not current or current == auto_fn_before:
            _set_single(card, "fn", _auto_fn(card) or None)
    if _first(card, "fn") is None:
        # FN is required; an empty one is valid and says "no name" honestly.
        card.add("fn").value = ""


def touch(card: Component, now: datetime) -> None:
    """Set REV, so readers (us included) see when the card last changed."""
    _set_single(card, "rev", now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def write_text(
    card: Component, fields: Mapping[str, Any], now: datetime, *, original: str | None = None
) -> str:
    """The text to PUT: ``card`` changed by ``fields``, its REV set to ``now``.

    For an update, ``card`` is parsed from ``original``, and every line of ``original`` the
    change left alone is kept byte for byte in its place (``patch.py``): only the lines of
    changed properties and REV are written anew.
    """
    shot = patch.snapshot(original, card) if original is not None else None
    apply_fields(card, fields)
    touch(card, now)
    patched = patch.render(shot, card) if shot is not None else None
    return checked_size(patched) if patched is not None else serialize(card)


def serialize(card: Component) -> str:
    try:
        text: str = card.serialize()
    except Exception as exc:  # vobject validates on the way out, with its own error kinds
        raise VCardError(f"the card cannot be written: {_short(str(exc))}") from None
    return checked_size(text)


def checked_size(text: str) -> str:
    """``text`` if it is a card small enough to write (see ``MAX_CARD_BYTES``)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CARD_BYTES:
        raise VCardError(f"the card would be larger than {MAX_CARD_BYTES // 1024} KiB")
    return text


def _value(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise VCardError(f"field {name!r} takes text, not {type(value).__name__}")
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return text or None


def _list_value(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence):
        raise VCardError(f"field {name!r} takes a list of text, not {type(value).__name__}")
    items = [_value(name, v) for v in value]
    return [v for v in items if v]


def _set_single(card: Component, prop: str, value: str | None) -> None:
    lines = card.contents.get(prop)
    if value is None:
        card.contents.pop(prop, None)
    elif lines:
        lines[0].value = value
        del lines[1:]
    else:
        card.add(prop).value = value


def _set_name(card: Component, fields: Mapping[str, Any]) -> None:
    line = _first(card, "n")
    if line is None or not isinstance(line.value, Name):
        card.contents.pop("n", None)
        line = card.add("n")
        line.value = Name()
    name: Name = line.value
    if "given_name" in fields:
        name.given = _value("given_name", fields["given_name"]) or ""
    if "family_name" in fields:
        name.family = _value("family_name", fields["family_name"]) or ""
    if _version(card) == "4.0" and not any(
        _part(getattr(name, p)) for p in ("family", "given", "additional", "prefix", "suffix")
    ):
        # vCard 4.0 makes N optional; 3.0 requires it, so there an empty N:;;;; says "no name".
        card.contents.pop("n", None)


def _set_list(card: Component, prop: str, values: list[str]) -> None:
    old = list(card.contents.get(prop, []))
    kept: list[ContentLine] = []
    for value in values:
        reuse = next((line for line in old if _line_text(prop, line) == value), None)
        if reuse is not None:
            old.remove(reuse)
            kept.append(reuse)
        else:
            # Through add(), so the property's behaviour escapes the value: a bare
            # ContentLine would write a newline raw and let a value inject lines.
            line = card.add(prop)
            _set_line(card, prop, line, value, new=True)
            kept.append(line)
    if kept:
        card.contents[prop] = kept
    else:
        card.contents.pop(prop, None)


def _set_preferred(card: Component, prop: str, value: str | None) -> None:
    lines = card.contents.get(prop, [])
    line = _preferred(lines)
    if line is None:
        if value is not None:
            _set_line(card, prop, card.add(prop), value, new=True)
        return
    if value is None:
        lines.remove(line)
        if not lines:
            card.contents.pop(prop, None)
    elif _line_text(prop, line) != value:
        _set_line(card, prop, line, value, new=False)


def _set_line(card: Component, prop: str, line: ContentLine, value: str, *, new: bool) -> None:
    """One line's value; a TEL keeps (or, new in a vCard 4.0, takes) the ``tel:`` URI form."""
    if prop != "tel":
        line.value = value
        return
    uri = tel.is_uri_line(line) if not new else _version(card) == "4.0"
    tel.set_number(line, value, uri=uri)
    if new and uri and tel.is_uri_line(line):
        line.params["VALUE"] = ["uri"]


def _version(card: Component) -> str | None:
    return _text(_first(card, "version"))


def _line_text(prop: str, line: ContentLine | None) -> str | None:
    """A line's value as a field holds it (a ``tel:`` URI as its E.164 number)."""
    if line is None:
        return None
    if prop == "tel":
        return tel.line_number(line)
    return _text(line)


def _set_org(card: Component, value: str | None) -> None:
    line = _first(card, "org")
    if value is None:
        card.contents.pop("org", None)
        return
    if line is None:
        card.add("org").value = [value]
        return
    units = line.value[1:] if isinstance(line.value, list) else []
    line.value = [value, *units]
    del card.contents["org"][1:]


def _set_address(card: Component, fields: Mapping[str, Any]) -> None:
    lines = card.contents.get("adr", [])
    line = _preferred(lines)
    if line is None or not isinstance(line.value, Address):
        if line is not None:
            lines.remove(line)
        line = card.add("adr")
        line.value = Address()
    address: Address = line.value
    for name, part in _ADR_PARTS.items():
        if name in fields:
            setattr(address, part, _value(name, fields[name]) or "")
    parts = ("box", "extended", "street", "city", "region", "code", "country")
    if not any(_part(getattr(address, p)) for p in parts):
        card.contents["adr"].remove(line)
        if not card.contents["adr"]:
            card.contents.pop("adr")


# -- helpers ---------------------------------------------------------------------------


def _lines(card: Component, prop: str) -> list[ContentLine]:
    return list(card.contents.get(prop, []))


def _first(card: Component, prop: str) -> ContentLine | None:
    lines = card.contents.get(prop)
    return lines[0] if lines else None


def _preferred(lines: Sequence[ContentLine]) -> ContentLine | None:
    """The line marked preferred (vCard 3 ``TYPE=pref``, vCard 4 ``PREF=1``), else the first."""
    for line in lines:
        types = [t.lower() for v in line.params.get("TYPE", []) for t in str(v).split(",")]
        if "pref" in types or line.params.get("PREF", [None])[0] == "1":
            return line
    return lines[0] if lines else None


def _text(line: ContentLine | None) -> str | None:
    if line is None:
        return None
    value = line.value
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    return str(value) or None if value is not None else None


def _part(value: Any) -> str | None:
    """One N/ADR component: vCard 3 allows a comma list there (several given names)."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value if v)
    return str(value) or None if value is not None else None


def _org(line: ContentLine | None) -> str | None:
    if line is None:
        return None
    value = line.value
    if isinstance(value, list):
        return str(value[0]) or None if value else None
    return str(value) or None


def _auto_fn(card: Component) -> str:
    """The FN we would write for a card: the name, else the company, else the email."""
    fields = card_fields(card)
    name = " ".join(p for p in (fields["given_name"], fields["family_name"]) if p)
    return name or fields["org"] or fields["email"] or ""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "..."
