"""Pages from the package's Jinja2 templates: autoescaped, strict, with the console's filters.

Every value a page shows passes Jinja's HTML escaping (record values may hold anything an
outside system sent). Responses carry a Content-Security-Policy that allows no script and
only the page's own nonce-tagged stylesheet, are never cached and never framed.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from syncd.status import ago

__all__ = ["render", "when"]

_HERE = Path(__file__).parent
_ENV = Environment(
    loader=FileSystemLoader(str(_HERE / "templates")),
    autoescape=select_autoescape(["html", "svg"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_CSS = (_HERE / "templates" / "console.css").read_text(encoding="utf-8")


def when(moment: datetime | None) -> str:
    """A time as operators read it in the console: UTC, to the second."""
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(moment: datetime | None, now: datetime | None = None) -> str:
    return ago(moment, now or datetime.now(UTC))


_ENV.filters["when"] = when
_ENV.filters["ago"] = _ago


def render(template: str, code: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context`` as a response with the console's headers."""
    nonce = secrets.token_urlsafe(12)
    for key in ("section", "done", "title"):
        context.setdefault(key, "")
    viewer = context.get("viewer")
    csrf = getattr(viewer, "csrf", None)
    # Every form's hidden CSRF field, made once per page (an include per form was the
    # errors page's largest cost).
    context["csrf_input"] = (
        Markup('<input type="hidden" name="csrf" value="%s">') % csrf if csrf else Markup("")
    )
    html = _ENV.get_template(template).render(css=_CSS, nonce=nonce, **context)
    headers = {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:;"
            " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(html, status_code=code, headers=headers)
