"""The console's Starlette application, mounted by the daemon's HTTP app at ``/console``.

Every route goes through :func:`page`: the form is read with limits (``forms``), then on a
worker thread the viewer is found (``session``); without one the sign-in page is all that is
shown. A POST from a session must carry the session's CSRF token, and a change needs a token
with the ``write`` scope; a refused request changes nothing. Handlers are plain functions
over the store and the same operations the CLI runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from config.models import Config
from store import Store
from store.errors import NotFoundError, StoreError
from syncd.console.forms import FormError, read_form
from syncd.console.render import render
from syncd.console.runs import PassStarter
from syncd.console.session import COOKIE, Viewer, bearer_secret, read_session, viewer_from_token
from syncd.errors import SyncdError

__all__ = ["Call", "Console", "create_console"]

log = structlog.get_logger("syncd.console")


@dataclass
class Console:
    """What the console's pages read and act on: the store, the configuration in force (the
    daemon's, replaced by a reload) and how long a sign-in lasts."""

    store: Store
    config: Callable[[], Config]
    session_hours: int = 12
    passes: PassStarter = field(init=False)

    def __post_init__(self) -> None:
        self.passes = PassStarter(self.store, self.config)


@dataclass
class Call:
    """One request as a handler sees it: who, what they sent, and the console."""

    request: Request
    viewer: Viewer
    form: dict[str, str]
    console: Console

    @property
    def store(self) -> Store:
        return self.console.store

    def query(self, name: str, limit: int = 200) -> str:
        """A query parameter, stripped, cut to ``limit`` characters ('' when absent)."""
        return str(self.request.query_params.get(name, "")).strip()[:limit]

    def page(self, template: str, code: int = 200, **context: Any) -> Response:
        context.setdefault("done", DONE.get(self.query("done", 20), ""))
        return render(template, code, viewer=self.viewer, now=datetime.now(UTC), **context)


Handler = Callable[[Call], Response]


class Refused(SyncdError):
    """An action the console will not take, with the status to answer and why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


#: What a page says after a change, by the code its redirect carries: fixed texts only, so
#: a crafted link cannot make the console say anything else.
DONE = {
    "paused": "Paused.",
    "resumed": "Resumed.",
    "started": "A pass started; its run appears below when it is recorded.",
    "confirmed": "Deletes confirmed: a pass without the brake started.",
    "resolved": "Conflict resolved; the next pass carries the value to the other side.",
    "retried": "Made due again; the next pass of the sync tries them.",
    "nothing": "Nothing to retry: they were retried already.",
}


def done(path: str, code: str) -> Response:
    """After a change: back to ``path`` (a console path), saying what happened (303)."""
    assert code in DONE
    separator = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{separator}done={code}", status_code=303)


def _viewer(console: Console, request: Request) -> Viewer | None:
    header = request.headers.get("authorization")
    if header is not None:
        secret = bearer_secret(header)
        return viewer_from_token(console.store, secret) if secret else None
    return read_session(console.store, request.cookies.get(COOKIE), datetime.now(UTC))


def sign_in_page(status: int = 401, message: str | None = None) -> Response:
    from syncd.console.views.signin import sign_in_form

    return sign_in_form(status, message)


def _guarded(
    console: Console,
    handler: Handler,
    request: Request,
    form: dict[str, str],
    writes: bool,
    viewer: Viewer | None = None,
) -> Response:
    viewer = viewer or _viewer(console, request)
    if viewer is None:
        if writes:
            log.info("console_refused", reason="signed out", path=request.url.path)
        return sign_in_page()
    call = Call(request, viewer, form, console)
    if writes:
        if viewer.csrf is not None and not _csrf_ok(viewer.csrf, form.get("csrf", "")):
            log.info("console_refused", reason="csrf", token_name=viewer.name)
            return call.page(
                "message.html",
                403,
                title="Form refused",
                message="This form is out of date or did not come from the console (its"
                " CSRF token is missing or wrong). Nothing was changed; reload the page"
                " and try again.",
            )
        if not viewer.can_write:
            log.info("console_refused", reason="missing scope", token_name=viewer.name)
            return call.page(
                "message.html",
                403,
                title="Read-only token",
                message=f"Token {viewer.name} has the read scope only: it may look, not act."
                " Sign in with a token made with `syncd tokens create NAME --scopes write`."
                " Nothing was changed.",
            )
    try:
        return handler(call)
    except NotFoundError as exc:
        return call.page("message.html", 404, title="Not found", message=str(exc))
    except Refused as exc:
        return call.page("message.html", exc.status, title="Not done", message=str(exc))
    except (SyncdError, StoreError) as exc:
        return call.page("message.html", 400, title="Not done", message=str(exc))


def _csrf_ok(expected: str, given: str) -> bool:
    import hmac

    return bool(given) and hmac.compare_digest(expected.encode(), given.encode("utf-8"))


def page(console: Console, handler: Handler, *, writes: bool = False) -> Callable[..., Any]:
    """``handler`` as a route endpoint: form limits, viewer, CSRF and scope checked first."""

    async def endpoint(request: Request) -> Response:
        form: dict[str, str] = {}
        viewer: Viewer | None = None
        if writes:
            # Signed out, nothing else is looked at: not even the form.
            viewer = await run_in_threadpool(_viewer, console, request)
            if viewer is None:
                log.info("console_refused", reason="signed out", path=request.url.path)
                return sign_in_page()
            try:
                form = await read_form(request)
            except FormError as exc:
                return render(
                    "message.html", exc.status, viewer=None, title="Form refused", message=str(exc)
                )
        return await run_in_threadpool(_guarded, console, handler, request, form, writes, viewer)

    return endpoint


def create_console(console: Console) -> Starlette:
    """The console's routes (paths relative to the ``/console`` mount)."""
    from syncd.console.views import conflicts, errors, overview, record, signin, sync

    routes = [
        Route("/", page(console, overview.show), methods=["GET"]),
        *signin.routes(console),
        Route("/syncs/{name}", page(console, sync.show), methods=["GET"]),
        Route("/syncs/{name}/{action}", page(console, sync.act, writes=True), methods=["POST"]),
        Route("/conflicts", page(console, conflicts.show), methods=["GET"]),
        Route(
            "/conflicts/{conflict_id:int}/resolve",
            page(console, conflicts.resolve, writes=True),
            methods=["POST"],
        ),
        Route("/errors", page(console, errors.show), methods=["GET"]),
        Route("/errors/retry", page(console, errors.retry, writes=True), methods=["POST"]),
        Route("/records", page(console, record.find), methods=["GET"]),
        Route(
            "/records/{object_name}/{record_id:int}", page(console, record.show), methods=["GET"]
        ),
    ]

    async def not_found(request: Request, _exc: Exception) -> Response:
        handler: Handler = lambda call: call.page(  # noqa: E731
            "message.html", 404, title="Not found", message="There is no such console page."
        )
        return await run_in_threadpool(_guarded, console, handler, request, {}, False)

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
