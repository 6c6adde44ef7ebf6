"""HubSpot associations (v4): read with their labels, written and removed in batches.

Label names are looked up once per object pair through the labels endpoint and kept; links
are sorted by one function for both writing and removing, so one bad link fails alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from connectors.base import WriteOutcome, WriteResult

from ._http import AuthError, HubSpotClient, HubSpotError
from ._parse import as_list, bad_answer, error_keys, error_text, paging_after, results
from ._writing import failed_result

__all__ = ["Associations"]

#: Inputs per association batch read (HubSpot's maximum is 1,000).
ASSOCIATION_READ_BATCH = 1000
#: Inputs per association batch create (HubSpot's maximum is 2,000).
ASSOCIATION_WRITE_BATCH = 2000


def sort_links(
    links: Sequence[tuple[str, str, Sequence[str]]],
    labels: Mapping[str, tuple[str, int]],
    from_type: str,
    to_type: str,
    out: list[WriteResult | None],
) -> tuple[list[int], list[tuple[int, list[dict[str, Any]]]]]:
    """Positions of the links without labels, and of those with labels and their v4 types.

    A link that cannot be sent (an id that is not a number, an unknown label) gets its
    failure in ``out`` here and is in neither list: adding and removing refuse alike.
    """
    plain: list[int] = []
    labelled: list[tuple[int, list[dict[str, Any]]]] = []
    for pos, (from_id, to_id, names) in enumerate(links):
        if not (str(from_id).isdigit() and str(to_id).isdigit()):
            out[pos] = failed_result(f"association {from_id} -> {to_id}: ids must be numbers")
        elif not names:
            plain.append(pos)
        elif unknown := [n for n in names if n.lower() not in labels]:
            known = ", ".join(sorted(labels)) or "(none)"
            out[pos] = failed_result(
                f"no association label {', '.join(unknown)} from {from_type} to "
                f"{to_type}; labels: {known}"
            )
        else:
            types = [
                {
                    "associationCategory": labels[n.lower()][0],
                    "associationTypeId": labels[n.lower()][1],
                }
                for n in names
            ]
            labelled.append((pos, types))
    return plain, labelled


class Associations:
    """The associations of one HubSpot connector; ``type_of`` names an object's type id."""

    def __init__(self, http: HubSpotClient, type_of: Callable[[str], str]) -> None:
        self.http = http
        self.type_of = type_of
        self._labels: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}

    def read_associations(
        self, from_object: str, ids: Sequence[str], to_object: str
    ) -> dict[str, list[tuple[str, list[str]]]]:
        """For each id, the records of ``to_object`` it is associated with and the labels.

        The unlabeled association comes back with no label name, so a plain association
        is ``(to_id, [])``. Ids HubSpot does not know are absent.
        """
        from_type, to_type = self.type_of(from_object), self.type_of(to_object)
        wanted = [i for i in dict.fromkeys(str(i) for i in ids) if i.isdigit()]
        path = f"/crm/v4/associations/{from_type}/{to_type}/batch/read"
        out: dict[str, list[tuple[str, list[str]]]] = {}
        for start in range(0, len(wanted), ASSOCIATION_READ_BATCH):
            chunk = wanted[start : start + ASSOCIATION_READ_BATCH]
            _, body = self.http.request(
                "POST",
                path,
                json_body={"inputs": [{"id": i} for i in chunk]},
                accept=frozenset({207}),
            )
            for item in results(body, path):
                if not isinstance(item, dict) or not isinstance(item.get("from"), dict):
                    raise bad_answer("an association result has no 'from'", path)
                from_id = str(item["from"].get("id"))
                links = out.setdefault(from_id, [])
                links.extend(self.association_targets(as_list(item, "to", path), path))
                after = paging_after(item, path)
                if after is not None:
                    links.extend(self.more_associations(from_type, from_id, to_type, after))
        return out

    def write_associations(
        self,
        from_object: str,
        to_object: str,
        links: Sequence[tuple[str, str, Sequence[str]]],
    ) -> list[WriteResult]:
        """Associate ``(from_id, to_id, label names)``; no labels makes the default association.

        Label names are looked up (once per object pair) through the labels endpoint; an
        unknown label fails that link, naming the labels that exist.
        """
        from_type, to_type = self.type_of(from_object), self.type_of(to_object)
        out: list[WriteResult | None] = [None] * len(links)
        labels = self.label_types(from_type, to_type) if any(lb for *_, lb in links) else {}
        plain, labelled = sort_links(links, labels, from_type, to_type, out)
        base = f"/crm/v4/associations/{from_type}/{to_type}"
        for start in range(0, len(plain), ASSOCIATION_WRITE_BATCH):
            chunk = plain[start : start + ASSOCIATION_WRITE_BATCH]
            plain_inputs: list[dict[str, Any]] = [
                {"from": {"id": links[p][0]}, "to": {"id": links[p][1]}} for p in chunk
            ]
            self.associate(f"{base}/batch/associate/default", chunk, plain_inputs, links, out)
        for start in range(0, len(labelled), ASSOCIATION_WRITE_BATCH):
            part = labelled[start : start + ASSOCIATION_WRITE_BATCH]
            inputs = [
                {"from": {"id": links[p][0]}, "to": {"id": links[p][1]}, "types": types}
                for p, types in part
            ]
            self.associate(f"{base}/batch/create", [p for p, _ in part], inputs, links, out)
        return [
            r if r is not None else failed_result("HubSpot did not confirm this link") for r in out
        ]

    def remove_associations(
        self,
        from_object: str,
        to_object: str,
        links: Sequence[tuple[str, str, Sequence[str]]],
    ) -> list[WriteResult]:
        """Remove ``(from_id, to_id, label names)``: no labels removes every association of
        the pair (``batch/archive``), labels remove only those (``batch/labels/archive``).

        A pair that is not associated counts as removed; an unknown label fails that link.
        """
        from_type, to_type = self.type_of(from_object), self.type_of(to_object)
        out: list[WriteResult | None] = [None] * len(links)
        labels = self.label_types(from_type, to_type) if any(lb for *_, lb in links) else {}
        whole, labelled = sort_links(links, labels, from_type, to_type, out)
        base = f"/crm/v4/associations/{from_type}/{to_type}"
        for start in range(0, len(whole), ASSOCIATION_WRITE_BATCH):
            chunk = whole[start : start + ASSOCIATION_WRITE_BATCH]
            inputs: list[dict[str, Any]] = [
                {"from": {"id": links[p][0]}, "to": [{"id": links[p][1]}]} for p in chunk
            ]
            self.associate(f"{base}/batch/archive", chunk, inputs, links, out)
        for start in range(0, len(labelled), ASSOCIATION_WRITE_BATCH):
            part = labelled[start : start + ASSOCIATION_WRITE_BATCH]
            inputs = [
                {"from": {"id": links[p][0]}, "to": {"id": links[p][1]}, "types": types}
                for p, types in part
            ]
            self.associate(f"{base}/batch/labels/archive", [p for p, _ in part], inputs, links, out)
        return [
            r if r is not None else failed_result("HubSpot did not confirm this removal")
            for r in out
        ]

    def association_targets(self, items: list[Any], path: str) -> list[tuple[str, list[str]]]:
        out: list[tuple[str, list[str]]] = []
        for target in items:
            if not isinstance(target, dict) or not isinstance(target.get("toObjectId"), str | int):
                raise bad_answer("an association target has no toObjectId", path)
            names = [
                t["label"]
                for t in as_list(target, "associationTypes", path)
                if isinstance(t, dict) and isinstance(t.get("label"), str) and t["label"]
            ]
            out.append((str(target["toObjectId"]), names))
        return out

    def more_associations(
        self, from_type: str, from_id: str, to_type: str, after: str
    ) -> list[tuple[str, list[str]]]:
        path = f"/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}"
        out: list[tuple[str, list[str]]] = []
        token: str | None = after
        while token is not None:
            _, body = self.http.request("GET", path, params={"limit": 500, "after": token})
            out.extend(self.association_targets(results(body, path), path))
            token = paging_after(body, path)
        return out

    def label_types(self, from_type: str, to_type: str) -> dict[str, tuple[str, int]]:
        key = (from_type, to_type)
        if key not in self._labels:
            path = f"/crm/v4/associations/{from_type}/{to_type}/labels"
            _, body = self.http.request("GET", path)
            labels: dict[str, tuple[str, int]] = {}
            for item in results(body, path):
                if not isinstance(item, dict):
                    raise bad_answer("a label is not an object", path)
                label, category, type_id = (
                    item.get("label"),
                    item.get("category"),
                    item.get("typeId"),
                )
                if (
                    isinstance(label, str)
                    and isinstance(category, str)
                    and isinstance(type_id, int)
                ):
                    labels[label.lower()] = (category, type_id)
            self._labels[key] = labels
        return self._labels[key]

    def associate(
        self,
        path: str,
        positions: list[int],
        inputs: list[dict[str, Any]],
        links: Sequence[tuple[str, str, Sequence[str]]],
        out: list[WriteResult | None],
    ) -> None:
        try:
            _, body = self.http.request(
                "POST", path, json_body={"inputs": inputs}, accept=frozenset({207})
            )
        except AuthError:
            raise
        except HubSpotError as exc:
            for pos in positions:
                out[pos] = failed_result(str(exc), retriable=exc.retriable)
            return
        failed: set[str] = set()
        messages: dict[str, str] = {}
        for error in as_list(body, "errors", path) if body is not None else []:
            if isinstance(error, dict):
                for key in ("fromObjectId", "ids", "id"):
                    for rid in error_keys(error, key):
                        failed.add(rid)
                        messages[rid] = error_text(error)
        for pos in positions:
            from_id, to_id, _ = links[pos]
            if str(from_id) in failed:
                out[pos] = failed_result(messages[str(from_id)], f"{from_id}->{to_id}")
            else:
                out[pos] = WriteResult(WriteOutcome.CREATED, external_id=f"{from_id}->{to_id}")
