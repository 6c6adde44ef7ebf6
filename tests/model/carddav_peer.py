"""The CardDAV peer: an address book on a real Radicale server, edited by a second client
(a phone, say) through plain HTTP: GET the card, change a line, PUT it back with If-Match.

Cards carry no REV bump from that client (many do not), so ``most_recent`` must fall back to
when syncd first saw a change.
"""

from __future__ import annotations

import uuid

from tests.connectors.carddav.conftest import PASSWORD, USER, Radicale
from tests.model.machine import Values

FIELDS = {"email": "email", "firstname": "given_name", "lastname": "family_name"}


def _card(uid: str, values: Values) -> str:
    given, family = values.get("firstname") or "", values.get("lastname") or ""
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{given} {family}".strip() or "FN:-"]
    lines.append(f"N:{family};{given};;;")
    if values.get("email"):
        lines.append(f"EMAIL;TYPE=INTERNET:{values['email']}")
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def _parse(text: str) -> Values:
    values: Values = {"email": None, "firstname": None, "lastname": None}
    for line in text.replace("\r\n ", "").splitlines():
        name, _, value = line.partition(":")
        key = name.split(";")[0].upper()
        if key == "N":
            family, given = ([*value.split(";"), "", ""])[:2]
            values["firstname"], values["lastname"] = given or None, family or None
        elif key == "EMAIL" and values["email"] is None:
            values["email"] = value or None
    return values


def _edited(text: str, values: Values) -> str:
    """The card with the given values changed and every other line as it was."""
    merged = {**_parse(text), **values}
    out: list[str] = []
    email_done = False
    # A card written without names (syncd leaves N out when both are empty) gets an N line
    # when a name is edited, as a phone's editor adds one.
    names_done = not ({"firstname", "lastname"} & values.keys())
    for line in text.replace("\r\n ", "").splitlines():
        key = line.partition(":")[0].split(";")[0].upper()
        if key == "N":
            out.append(f"N:{merged['lastname'] or ''};{merged['firstname'] or ''};;;")
            names_done = True
        elif key == "END" and not names_done:
            out.extend([f"N:{merged['lastname'] or ''};{merged['firstname'] or ''};;;", line])
            names_done = True
        elif key == "EMAIL" and "email" in values:
            if not email_done and merged["email"]:
                out.append(f"{line.partition(':')[0]}:{merged['email']}")
            email_done = True
        elif key == "END" and "email" in values and not email_done and merged["email"]:
            out.extend([f"EMAIL;TYPE=INTERNET:{merged['email']}", line])
        else:
            out.append(line)
    return "\r\n".join(out) + "\r\n"


class CardDavPeer:
    """One address book for the whole test; emptied for each example."""

    external_object = "contacts"
    external_fields = FIELDS

    def __init__(self, radicale: Radicale) -> None:
        self.radicale = radicale
        self.book = radicale.new_book()
        self.env = {"PEER_URL": self.book, "PEER_PASSWORD": PASSWORD}
        self.connector_yaml = (
            'type: carddav\nurl: "${PEER_URL}"\n'
            f'username: {USER}\npassword: "${{PEER_PASSWORD}}"\n'
            "timeout_seconds: 10\nobjects:\n  contacts: {}\n"
        )

    def reset(self) -> None:
        for href in self.radicale.hrefs(self.book):
            self.radicale.client.delete(self._url(href))

    def _url(self, href: str) -> str:
        return self.radicale.base + href

    def _taken(self, email: str | None, but: str | None) -> bool:
        return bool(email) and any(
            (v["email"] or "").lower() == str(email).lower() and href != but
            for href, v in self.rows().items()
        )

    def create(self, values: Values) -> str | None:
        if self._taken(values.get("email"), None):
            return None  # one person, one card: the model keeps to that
        uid = uuid.uuid4().hex[:12]
        url = f"{self.book}{uid}.vcf"
        self.radicale.put(url, _card(uid, values))
        return url.removeprefix(self.radicale.base)

    def edit(self, external_id: str, values: Values) -> bool:
        if "email" in values and self._taken(values["email"], external_id):
            return False
        text, etag = self.radicale.get(self._url(external_id))
        self.radicale.put(self._url(external_id), _edited(text, values), etag)
        return True

    def delete(self, external_id: str) -> None:
        self.radicale.delete(self._url(external_id))

    def _cards(self) -> dict[str, str]:
        return {
            href: self.radicale.get(self._url(href))[0] for href in self.radicale.hrefs(self.book)
        }

    def rows(self) -> dict[str, Values]:
        return {href: _parse(text) for href, text in self._cards().items()}

    def snapshot(self) -> object:
        return self._cards()

    def version(self, external_id: str) -> str | None:
        found = self.radicale.client.get(self._url(external_id))
        return found.headers["ETag"] if found.status_code == 200 else None
