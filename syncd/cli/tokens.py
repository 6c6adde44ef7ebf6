"""``syncd tokens``: the bearer tokens of the HTTP API (create, list, revoke).

A token's secret is printed once, by ``create``; the store keeps only its hash, so a lost
secret is replaced (create another, revoke the old one), never recovered. Scopes: ``read``
(GET, search, batch read) or ``write`` (everything, read included). A revoked token is
refused from its next request on, by every daemon sharing the store.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from store import ApiToken
from syncd.cli._context import get_state
from syncd.cli._output import emit_json, info, print_table

__all__ = ["app"]

app = typer.Typer(
    help="API bearer tokens: create (the secret is shown once), list, revoke.",
    no_args_is_help=True,
)

NameArg = Annotated[
    str, typer.Argument(metavar="NAME", help="Token name; API writes carry it in history.")
]


def _scopes(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "name": token.name,
        "scopes": list(token.scopes),
        "prefix": token.prefix,
        "createdAt": token.created_at,
        "revokedAt": token.revoked_at,
    }


@app.command("create")
def create(
    ctx: typer.Context,
    name: NameArg,
    scopes: Annotated[
        str,
        typer.Option(
            "--scopes",
            metavar="read|write",
            help="read: GET, search and batch read. write: everything (read included).",
        ),
    ] = "read",
) -> None:
    """A new token; its secret is printed now and never again."""
    state = get_state(ctx)
    with state.open_store() as store:
        token, secret = store.create_api_token(name, _scopes(scopes))
    if state.json:
        emit_json({"name": token.name, "scopes": list(token.scopes), "token": secret})
        return
    info(f"Created API token {token.name} (scopes: {', '.join(token.scopes)}):")
    info(secret)
    info("Copy it now: it will not be shown again (only its hash is stored).")


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Revoked tokens too.")] = False,
) -> None:
    """Tokens, oldest first: name, the secret's first characters, scopes, dates. No secrets."""
    state = get_state(ctx)
    with state.open_store() as store:
        tokens = store.list_api_tokens(include_revoked=all_)
    if state.json:
        emit_json([_token_json(t) for t in tokens])
        return
    print_table(
        ["name", "prefix", "scopes", "created", "revoked"],
        ((t.name, f"{t.prefix}…", ", ".join(t.scopes), t.created_at, t.revoked_at) for t in tokens),
        title="API tokens",
    )


@app.command("revoke")
def revoke(ctx: typer.Context, name: NameArg) -> None:
    """Refuse the token from its next request on; its name stays taken (history names it)."""
    state = get_state(ctx)
    with state.open_store() as store:
        known = {t.name: t for t in store.list_api_tokens(include_revoked=True)}
        token = store.revoke_api_token(name)
    if state.json:
        emit_json(_token_json(token))
    elif name in known and known[name].revoked:
        info(f"API token {token.name} was already revoked ({token.revoked_at:%Y-%m-%d %H:%M:%S}).")
    else:
        info(f"Revoked API token {token.name}: requests with it are refused from now on.")
