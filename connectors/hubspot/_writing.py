"""Writing HubSpot objects: batch creates, updates and archives, one result per input.

A batch HubSpot refuses as a whole (400/409/422) is split until the bad input fails alone;
a create whose answer is lost is failed as "maybe created" (its match value finds it on the
next pass) unless HubSpot certainly did not process it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.base import WriteOutcome, WriteResult
from connectors.errors import TransientError

from ._http import AuthError, HubSpotClient, HubSpotError
from ._options import HubSpotObjectOptions
from ._parse import as_list, bad_answer, error_keys, error_text, existing_id, parse_object, results

__all__ = ["BATCH", "Writer", "failed_result"]

#: Inputs per object batch call (HubSpot's documented maximum).
BATCH = 100


def failed_result(
    error: str, external_id: str | None = None, *, retriable: bool = False
) -> WriteResult:
    """One input's failure, in the order of the inputs."""
    return WriteResult(
        WriteOutcome.FAILED, external_id=external_id, error=error, retriable=retriable
    )


class Writer:
    """Creates, updates and archives of one HubSpot connector, over its client."""

    def __init__(self, http: HubSpotClient) -> None:
        self.http = http

    def create(
        self,
        obj: HubSpotObjectOptions,
        items: list[tuple[int, str, dict[str, str]]],
        out: list[WriteResult | None],
        conflicts: list[tuple[int, str]],
    ) -> None:
        path = f"/crm/v3/objects/{obj.object_type}/batch/create"
        traces: dict[str, int] = {}
        inputs: list[dict[str, Any]] = []
        for pos, key, properties in items:
            # The idempotency key maps each result back to its input; repeated keys in one
            # batch get the position added so the mapping stays one to one.
            trace = key if key and key not in traces else f"{key}#{pos}"
            traces[trace] = pos
            inputs.append({"properties": properties, "objectWriteTraceId": trace})
        try:
            status, body = self.http.request(
                "POST",
                path,
                json_body={"inputs": inputs},
                idempotent=False,
                accept=frozenset({207}),
            )
        except AuthError:
            raise
        except HubSpotError as exc:
            if exc.status in (400, 409, 422) and len(items) > 1:
                for item in items:  # one bad input refused the batch: find it
                    self.create(obj, [item], out, conflicts)
                return
            eid = existing_id(exc.body) if isinstance(exc.body, dict) else None
            if exc.status == 409 and eid is not None and len(items) == 1:
                conflicts.append((items[0][0], eid))
                return
            # A timeout, dropped connection or 5xx after sending: HubSpot may have made them.
            unsure = isinstance(exc, TransientError) and exc.sent
            for pos, _, _ in items:
                out[pos] = WriteResult(
                    WriteOutcome.FAILED,
                    error=str(exc),
                    retriable=exc.retriable,
                    maybe_created=unsure,
                )
            return
        got = results(body, path)
        untraced = [r for r in got if isinstance(r, dict) and not r.get("objectWriteTraceId")]
        for raw in got:
            echoed = raw.get("objectWriteTraceId") if isinstance(raw, dict) else None
            if echoed is None:
                continue
            traced = traces.get(str(echoed))
            if traced is None:
                raise bad_answer(f"a created record names an unknown trace id {echoed!r}", path)
            record = parse_object(raw, obj.modified, path)
            out[traced] = WriteResult(WriteOutcome.CREATED, external_id=record.id, record=record)
        if untraced and status == 201 and len(untraced) == len(items):
            # All created and no trace ids echoed: HubSpot keeps the input order.
            for (pos, _, _), raw in zip(items, untraced, strict=True):
                record = parse_object(raw, obj.modified, path)
                out[pos] = WriteResult(WriteOutcome.CREATED, external_id=record.id, record=record)
        for error in as_list(body, "errors", path):
            if not isinstance(error, dict):
                continue
            for trace in error_keys(error, "objectWriteTraceId"):
                pos_or_none = traces.get(trace)
                if pos_or_none is None:
                    continue
                eid = existing_id(error)
                if error.get("category") == "CONFLICT" and eid is not None:
                    conflicts.append((pos_or_none, eid))
                else:
                    out[pos_or_none] = failed_result(error_text(error))

    def update_chunks(
        self, updates: list[tuple[int, str, bool]]
    ) -> Iterator[list[tuple[int, str, bool]]]:
        """Batches of at most 100 with each id once (HubSpot refuses repeated ids)."""
        chunk: list[tuple[int, str, bool]] = []
        ids: set[str] = set()
        for item in updates:
            if len(chunk) >= BATCH or item[1] in ids:
                yield chunk
                chunk, ids = [], set()
            chunk.append(item)
            ids.add(item[1])
        if chunk:
            yield chunk

    def update(
        self,
        obj: HubSpotObjectOptions,
        items: list[tuple[int, str, bool, dict[str, str]]],
        out: list[WriteResult | None],
    ) -> None:
        path = f"/crm/v3/objects/{obj.object_type}/batch/update"
        sendable = []
        for pos, rid, created, properties in items:
            if rid.isdigit():
                sendable.append((pos, rid, created, properties))
            else:
                out[pos] = failed_result(f"no {obj.object_type} record with id {rid!r}", rid)
        if not sendable:
            return
        payload = {"inputs": [{"id": rid, "properties": p} for _, rid, _, p in sendable]}
        try:
            _, body = self.http.request("POST", path, json_body=payload, accept=frozenset({207}))
        except AuthError:
            raise
        except HubSpotError as exc:
            if exc.status in (400, 404, 409, 422) and len(sendable) > 1:
                for item in sendable:
                    self.update(obj, [item], out)
                return
            for pos, rid, _, _ in sendable:
                message = str(exc)
                if exc.status == 404:
                    message = f"no {obj.object_type} record with id {rid!r} (deleted in HubSpot?)"
                out[pos] = failed_result(message, rid, retriable=exc.retriable)
            return
        by_id = {rid: (pos, created) for pos, rid, created, _ in sendable}
        for raw in results(body, path):
            record = parse_object(raw, obj.modified, path)
            entry = by_id.get(record.id)
            if entry is None:
                continue
            outcome = WriteOutcome.CREATED if entry[1] else WriteOutcome.UPDATED
            out[entry[0]] = WriteResult(
                outcome, external_id=record.id, record=record, matched=entry[1]
            )
        for error in as_list(body, "errors", path):
            if not isinstance(error, dict):
                continue
            for rid in error_keys(error, "ids"):
                if rid in by_id:
                    text = error_text(error)
                    if error.get("category") == "OBJECT_NOT_FOUND":
                        text = f"no {obj.object_type} record with id {rid!r} (deleted in HubSpot?)"
                    out[by_id[rid][0]] = failed_result(text, rid)

    def archive(
        self, obj: HubSpotObjectOptions, items: list[tuple[int, str]], out: dict[int, WriteResult]
    ) -> None:
        path = f"/crm/v3/objects/{obj.object_type}/batch/archive"
        payload = {"inputs": [{"id": rid} for _, rid in items]}
        try:
            _, body = self.http.request("POST", path, json_body=payload, accept=frozenset({207}))
        except AuthError:
            raise
        except HubSpotError as exc:
            if exc.status in (400, 409, 422) and len(items) > 1:
                for item in items:
                    self.archive(obj, [item], out)
                return
            for pos, rid in items:
                if exc.status == 404:
                    out[pos] = WriteResult(WriteOutcome.DELETED, external_id=rid)
                else:
                    out[pos] = failed_result(str(exc), rid, retriable=exc.retriable)
            return
        failed: dict[str, str] = {}
        for error in as_list(body, "errors", path) if body is not None else []:
            if isinstance(error, dict) and error.get("category") != "OBJECT_NOT_FOUND":
                for rid in error_keys(error, "ids"):
                    failed[rid] = error_text(error)
        for pos, rid in items:
            if rid in failed:
                out[pos] = failed_result(failed[rid], rid)
            else:  # archived now, or already gone
                out[pos] = WriteResult(WriteOutcome.DELETED, external_id=rid)
