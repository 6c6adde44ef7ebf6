"""API tokens in the store: only hashes kept, names never reused, hostile secrets refused."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest
from sqlalchemy import select

from store import ApiToken, ApiTokenError, NotFoundError, Store
from store.db import tables as t


def test_create_keeps_only_the_hash(store: Store) -> None:
    token, secret = store.create_api_token("ci", ["write"])
    assert token == ApiToken("ci", ("read", "write"), secret[:12], token.created_at, None)
    assert token.created_at.tzinfo is not None
    with store._engine.connect() as conn:
        row = conn.execute(select(t.api_tokens)).mappings().one()
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(dict(row))
    assert store.verify_api_token(secret) == token


def test_each_secret_is_new(store: Store) -> None:
    secrets = {store.create_api_token(f"t{i}", ["read"])[1] for i in range(5)}
    assert len(secrets) == 5


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (["read"], ("read",)),
        (["write"], ("read", "write")),
        (["read", "write", "read"], ("read", "write")),
        ("write", ("read", "write")),
    ],
)
def test_write_implies_read(store: Store, given: Any, stored: tuple[str, ...]) -> None:
    assert store.create_api_token("x", given)[0].scopes == stored


@pytest.mark.parametrize(
    ("name", "scopes", "words"),
    [
        ("ok", ["admin"], "unknown token scope 'admin'"),
        ("ok", ["READ"], "unknown token scope 'READ'"),
        ("ok", [], "at least one scope"),
        ("ok", ["read", "x" * 10_000], "unknown token scope"),
        ("", ["read"], "token name '' is not valid"),
        ("a b", ["read"], "is not valid"),
        ("a\x00b", ["read"], "is not valid"),
        ("-lead", ["read"], "is not valid"),
        ("é", ["read"], "is not valid"),
        ("n" * 101, ["read"], "is not valid"),
        (None, ["read"], "is not valid"),
    ],
)
def test_bad_names_and_scopes_are_refused(
    store: Store, name: Any, scopes: list[str], words: str
) -> None:
    with pytest.raises(ApiTokenError) as caught:
        store.create_api_token(name, scopes)
    assert words in caught.value.message
    assert len(caught.value.message) < 300
    assert store.list_api_tokens(include_revoked=True) == []


def test_a_name_is_never_reused_even_revoked(store: Store) -> None:
    store.create_api_token("dup", ["read"])
    with pytest.raises(ApiTokenError, match="a token named 'dup' already exists"):
        store.create_api_token("dup", ["write"])
    store.revoke_api_token("dup")
    with pytest.raises(ApiTokenError, match="a revoked token named 'dup' already exists"):
        store.create_api_token("dup", ["write"])
    assert [x.name for x in store.list_api_tokens(include_revoked=True)] == ["dup"]


def test_concurrent_creates_of_one_name_make_one_token(store: Store) -> None:
    outcomes: list[object] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        barrier.wait()
        try:
            outcomes.append(store.create_api_token("race", ["read"]))
        except ApiTokenError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(isinstance(o, tuple) for o in outcomes) == 1
    assert sum(isinstance(o, ApiTokenError) for o in outcomes) == 3
    assert len(store.list_api_tokens()) == 1


def test_list_and_revoke(store: Store) -> None:
    a, _ = store.create_api_token("a", ["read"])
    b, secret_b = store.create_api_token("b", ["write"])
    assert store.list_api_tokens() == [a, b]
    revoked = store.revoke_api_token("b")
    assert revoked.revoked_at is not None and revoked.revoked
    assert store.verify_api_token(secret_b) is None
    assert store.list_api_tokens() == [a]
    assert store.list_api_tokens(include_revoked=True) == [a, revoked]
    # Revoking again changes nothing.
    assert store.revoke_api_token("b") == revoked


@pytest.mark.parametrize("name", ["ghost", "", "x" * 10_000, "a\x00b"])
def test_revoking_an_unknown_token_is_not_found(store: Store, name: str) -> None:
    with pytest.raises(NotFoundError, match="no API token named"):
        store.revoke_api_token(name)


HOSTILE_SECRETS = {
    "empty": "",
    "prefix only": "syncd_",
    "wrong secret": "syncd_" + "A" * 43,
    "huge": "syncd_" + "A" * 1_000_000,
    "nul": "syncd_\x00",
    "non-ascii": "syncd_é€",
    "lone surrogate": "syncd_\udc80",
    "not text": b"syncd_abc",
    "none": None,
    "sql": "syncd_' OR '1'='1",
}


@pytest.mark.parametrize("secret", HOSTILE_SECRETS.values(), ids=HOSTILE_SECRETS.keys())
def test_hostile_secrets_verify_as_nothing(store: Store, secret: Any) -> None:
    store.create_api_token("real", ["write"])
    assert store.verify_api_token(secret) is None


def test_a_near_miss_secret_is_refused(store: Store) -> None:
    _, secret = store.create_api_token("real", ["write"])
    assert store.verify_api_token(secret[:-1]) is None
    assert store.verify_api_token(secret + "x") is None
    assert store.verify_api_token(secret.upper()) is None
    assert store.verify_api_token(secret) is not None
