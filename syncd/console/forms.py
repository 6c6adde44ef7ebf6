"""A console form's fields, read with limits: a form is small, and anything else is refused.

Only ``application/x-www-form-urlencoded`` bodies (what the console's forms send), at most
``MAX_BODY`` bytes, ``MAX_FIELDS`` fields, each value at most ``MAX_VALUE`` characters,
valid UTF-8 and without NUL characters; a field given twice is refused rather than guessed.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

__all__ = ["MAX_BODY", "FormError", "read_form"]

MAX_BODY = 256 * 1024
MAX_FIELDS = 20
#: A property value is at most 65,536 characters (the API's limit too).
MAX_VALUE = 65_536


class FormError(Exception):
    """A form the console will not read; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def read_form(request: Request) -> dict[str, str]:
    """The form's fields, or :class:`FormError` naming what is wrong with it."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not kind and request.headers.get("content-length", "0") == "0":
        return {}  # a form without fields (a button alone), as some clients send it
    if kind != "application/x-www-form-urlencoded":
        raise FormError("send the form as application/x-www-form-urlencoded", 415)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 12 or int(declared) > MAX_BODY):
        raise FormError(f"the form is larger than {MAX_BODY} bytes", 413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            raise FormError(f"the form is larger than {MAX_BODY} bytes", 413)
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError(f"the form could not be read: {str(exc)[:120]}") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise FormError(f"form field {key[:40]!r} was given twice")
        if len(value) > MAX_VALUE:
            raise FormError(f"form field {key[:40]!r} is longer than {MAX_VALUE} characters")
        if "\x00" in key or "\x00" in value:
            raise FormError(f"form field {key[:40]!r} contains a NUL character")
        fields[key] = value
    return fields
