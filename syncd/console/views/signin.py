"""Sign in with an API token, sign out.

The sign-in form has its own CSRF guard (a login CSRF would sign a victim in as the
attacker): a random value in a short-lived SameSite=Strict cookie that the form must echo.
A good token gets a session cookie (``session``) and a redirect to the overview; a bad one
the form again, saying so, without telling which part was wrong.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from syncd.console.forms import FormError, read_form
from syncd.console.render import render
from syncd.console.session import COOKIE, issue_session, read_session, viewer_from_token

if TYPE_CHECKING:
    from syncd.console.app import Console

__all__ = ["routes", "sign_in_form"]

log = structlog.get_logger("syncd.console")

PRE_COOKIE = "syncd_console_signin"
_COOKIE_PATH = "/console"


def _set(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=_COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=False,  # the daemon serves plain HTTP on 127.0.0.1 by default; TLS is a proxy's
    )


def sign_in_form(status: int = 401, message: str | None = None) -> Response:
    """The sign-in page, with a fresh sign-in CSRF value in its cookie and its form."""
    nonce = secrets.token_urlsafe(24)
    response = render("sign_in.html", status, viewer=None, signin_csrf=nonce, message=message)
    _set(response, PRE_COOKIE, nonce, 3600)
    return response


def routes(console: Console) -> list[Route]:
    async def show(request: Request) -> Response:
        return sign_in_form(200)

    async def sign_in(request: Request) -> Response:
        try:
            form = await read_form(request)
        except FormError as exc:
            return sign_in_form(exc.status, str(exc))
        expected = request.cookies.get(PRE_COOKIE, "")
        given = form.get("csrf", "")
        if not expected or not hmac.compare_digest(expected.encode(), given.encode("utf-8")):
            log.info("console_sign_in_refused", reason="csrf")
            return sign_in_form(403, "The sign-in form was out of date; try again.")
        secret = form.get("token", "").strip()
        now = datetime.now(UTC)

        def check() -> tuple[str, str] | None:
            viewer = viewer_from_token(console.store, secret) if secret else None
            if viewer is None:
                return None
            return issue_session(console.store, viewer.name, console.session_hours, now)

        issued = await run_in_threadpool(check)
        if issued is None:
            log.info("console_sign_in_refused", reason="unknown or revoked")
            return sign_in_form(401, "That token is not valid: unknown, revoked or mistyped.")
        response = RedirectResponse("/console/", status_code=303)
        _set(response, COOKIE, issued[0], console.session_hours * 3600)
        response.delete_cookie(PRE_COOKIE, path=_COOKIE_PATH)
        return response

    async def sign_out(request: Request) -> Response:
        try:
            form = await read_form(request)
        except FormError:
            form = {}
        cookie = request.cookies.get(COOKIE)
        viewer = await run_in_threadpool(read_session, console.store, cookie, datetime.now(UTC))
        if viewer is not None and viewer.csrf is not None:
            given = form.get("csrf", "")
            if not hmac.compare_digest(viewer.csrf.encode(), given.encode("utf-8")):
                return render(
                    "message.html",
                    403,
                    viewer=viewer,
                    title="Form refused",
                    message="The sign-out form did not come from the console; still signed in.",
                )
        response = sign_in_form(200, "Signed out.")
        response.delete_cookie(COOKIE, path=_COOKIE_PATH)
        return response

    return [
        Route("/sign-in", show, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
    ]
