"""Who may call what: 401 for missing or bad credentials, 403 for the wrong scope or member."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from helpers import bearer, member_token


async def test_no_credentials_is_401_problem(client):
    response = await client.get("/v1/members/alice")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer lk_unknown_secret",
        "Bearer lk_bad",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "Bearer",
    ],
)
async def test_bad_credentials_are_401(client, header):
    response = await client.get("/v1/members/alice", headers={"Authorization": header})
    assert response.status_code == 401, response.text


async def test_key_with_right_scope_reads_member(client, make_key):
    writer = await make_key("members:write")
    reader = await make_key("members:read")
    put = await client.put(
        "/v1/members/alice", json={"display_name": "Alice"}, headers=bearer(writer)
    )
    assert put.status_code == 200, put.text
    got = await client.get("/v1/members/alice", headers=bearer(reader))
    assert got.status_code == 200
    assert got.json()["display_name"] == "Alice"


async def test_key_with_wrong_scope_is_403(client, make_key):
    key = await make_key("events:write")
    response = await client.get("/v1/members/alice", headers=bearer(key))
    assert response.status_code == 403
    assert "members:read" in response.json()["detail"]


async def test_admin_scope_implies_every_other(client, make_key):
    key = await make_key("admin")
    response = await client.put("/v1/members/bob", json={}, headers=bearer(key))
    assert response.status_code == 200


async def test_revoked_key_is_401(client, make_key, db):
    key = await make_key("members:read", name="old-checkout")
    assert (await client.get("/v1/members/x", headers=bearer(key))).status_code == 404
    from service.store import keys as key_store

    async with db.transaction() as conn:
        assert await key_store.revoke_key(conn, "old-checkout")
    assert (await client.get("/v1/members/x", headers=bearer(key))).status_code == 401


async def test_keys_are_stored_hashed(make_key, db):
    key = await make_key("admin")
    secret = key.split("_", 2)[2]
    async with db.connection() as conn:
        # SQL on purpose: no column of the table, whichever, may hold the secret
        rows = await conn.raw.fetch("SELECT * FROM api_keys")
    assert rows and all(secret not in str(dict(row)) for row in rows)


async def test_member_token_reads_own_member_and_me(client, make_key):
    minter = await make_key("members:token")
    token = await member_token(client, minter, "alice")
    own = await client.get("/v1/members/alice", headers=bearer(token))
    assert own.status_code == 200
    me = await client.get("/v1/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["member_id"] == "alice"


async def test_member_token_cannot_read_another_member(client, make_key):
    minter = await make_key("members:token")
    token = await member_token(client, minter, "alice")
    response = await client.get("/v1/members/bob", headers=bearer(token))
    assert response.status_code == 403


async def test_member_token_cannot_use_server_routes(client, make_key):
    minter = await make_key("members:token")
    token = await member_token(client, minter, "alice")
    response = await client.put("/v1/members/alice", json={}, headers=bearer(token))
    assert response.status_code == 403
    mint = await client.post("/v1/members/alice/tokens", headers=bearer(token))
    assert mint.status_code == 403


async def test_api_key_cannot_use_me(client, make_key):
    key = await make_key("admin")
    assert (await client.get("/v1/me", headers=bearer(key))).status_code == 403


async def test_expired_member_token_is_401(client, make_key, clock):
    minter = await make_key("members:token")
    token = await member_token(client, minter, "alice")
    clock.advance(timedelta(seconds=901))
    response = await client.get("/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


async def test_tampered_member_token_is_401(client, make_key):
    minter = await make_key("members:token")
    token = await member_token(client, minter, "alice")
    header, payload, signature = token.split(".")
    forged = jwt.encode({"sub": "bob", "typ": "member", "exp": 4102444800}, "guessed-secret")
    assert (await client.get("/v1/me", headers=bearer(forged))).status_code == 401
    flipped = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    assert (await client.get("/v1/me", headers=bearer(flipped))).status_code == 401


async def test_token_signed_with_the_previous_secret_still_works(client, clock):
    old = jwt.encode(
        {"sub": "alice", "typ": "member", "exp": int(clock.now().timestamp()) + 60},
        "test-secret-old-0123456789abcdef",
        algorithm="HS256",
    )
    response = await client.get("/v1/members/alice", headers=bearer(old))
    assert response.status_code == 404  # authenticated; alice has no record yet
