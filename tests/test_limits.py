"""Limits: rate limits per credential (shared by replicas), and hostile input refused cheaply."""

from __future__ import annotations

import pytest
from helpers import bearer, member_token, purchase
from litestar.testing import AsyncTestClient

from service.app import create_app

PER_MINUTE = 5
EVENTS_PER_MINUTE = 12
NOW = 60 * 29_500_000 + 15.0
"""A fixed moment 15 s into a minute, so that no test straddles a window boundary."""


@pytest.fixture
def settings_overrides():
    return {
        "rate_limit_per_minute": PER_MINUTE,
        "rate_limit_events_per_minute": EVENTS_PER_MINUTE,
        # the sync loop's first pass comes after every test here: they run the sync themselves
        # (`_sync`), when the test says it has happened, rather than wait for it
        "rate_limit_sync_seconds": 60,
    }


def _sync(client) -> None:
    """Run the app's rate-limit sync now, on the app's own event loop (as its sync loop
    would): its counts are added to the shared counters and the totals read back."""
    client.blocking_portal.call(client.app.state.rate_limiter.sync)


@pytest.fixture
def client_clock(client):
    client.app.state.rate_limiter.clock = lambda: NOW
    return client


def assert_rate_limited(response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "45"  # the rest of the minute
    body = response.json()
    assert body["status"] == 429 and body["code"] == "rate_limited"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_over_the_limit_is_429_with_retry_after(client_clock, make_key):
    client = client_clock
    key, other = await make_key("members:read"), await make_key("members:read")
    for _ in range(PER_MINUTE):
        response = await client.get("/v1/members/alice", headers=bearer(key))
        assert response.status_code == 404, response.text  # counted, not limited
    assert_rate_limited(await client.get("/v1/members/alice", headers=bearer(key)))
    # another key has its own budget; requests without credentials are not counted here
    assert (await client.get("/v1/members/alice", headers=bearer(other))).status_code == 404
    for _ in range(PER_MINUTE + 2):
        assert (await client.get("/v1/members/alice")).status_code == 401
    # the next minute starts a new window
    client.app.state.rate_limiter.clock = lambda: NOW + 60
    assert (await client.get("/v1/members/alice", headers=bearer(key))).status_code == 404


async def test_a_member_token_has_its_own_limit(client_clock, make_key):
    client = client_clock
    minter = await make_key("members:token")
    token = await member_token(client, minter, "alice")
    for _ in range(PER_MINUTE):
        assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200
    assert_rate_limited(await client.get("/v1/me", headers=bearer(token)))
    assert_rate_limited(await client.get("/v1/members/alice", headers=bearer(token)))


async def test_event_intake_has_its_own_higher_limit(client_clock, make_key):
    client = client_clock
    key = await make_key("events:write", "members:read")
    for i in range(EVENTS_PER_MINUTE - 1):
        response = await client.post(
            "/v1/events", json=purchase(f"e{i}", "alice", "1"), headers=bearer(key)
        )
        assert response.status_code == 201, response.text
    batch = {"events": [purchase("b1", "bob", "1")]}
    assert (await client.post("/v1/events/batch", json=batch, headers=bearer(key))).is_success
    refused = await client.post("/v1/events", json=purchase("x", "alice", "1"), headers=bearer(key))
    assert_rate_limited(refused)
    assert "event intake" in refused.json()["detail"]
    # the key's other requests are counted apart, under the lower limit
    for _ in range(PER_MINUTE):
        assert (await client.get("/v1/members/alice", headers=bearer(key))).status_code == 200
    assert_rate_limited(await client.get("/v1/members/alice", headers=bearer(key)))


async def test_only_a_hash_of_the_credential_is_stored(client_clock, make_key, db):
    client = client_clock
    key = await make_key("members:read")
    await client.get("/v1/members/alice", headers=bearer(key))
    _sync(client)
    async with db.connection() as conn:
        # SQL on purpose: what is stored, column by column, must not hold the credential
        rows = await conn.raw.fetch("SELECT credential, hits FROM rate_limit_counts")
    assert [r["hits"] for r in rows] == [1]
    secret = key.split("_", 2)[2]
    assert all(secret not in r["credential"] and key not in r["credential"] for r in rows)


async def test_two_replicas_share_one_budget(settings, clock, make_key):
    key = await make_key("members:read")
    apps = [create_app(settings, clock=clock), create_app(settings, clock=clock)]
    for app in apps:
        app.state.rate_limiter.clock = lambda: NOW
    async with (
        AsyncTestClient(app=apps[0], raise_server_exceptions=False) as one,
        AsyncTestClient(app=apps[1], raise_server_exceptions=False) as two,
    ):

        async def get(client) -> int:
            return (await client.get("/v1/members/alice", headers=bearer(key))).status_code

        assert [await get(one) for _ in range(3)] == [404, 404, 404]
        _sync(one)  # replica one adds its 3 to the shared counter
        assert await get(two) == 404
        _sync(two)  # replica two adds its 1 and reads back 4
        assert await get(two) == 404  # the 5th of the minute, across both
        assert await get(two) == 429
        _sync(two)  # replica two adds its 5th
        _sync(one)  # and replica one reads back 5 as well
        assert await get(one) == 429


# --- hostile input -------------------------------------------------------------------------


async def _post_raw(client, path: str, content: bytes, key: str):
    response = await client.post(
        path, content=content, headers={**bearer(key), "Content-Type": "application/json"}
    )
    return response


def _event_with_attribute(raw_value: str, attribute: str = "channel") -> bytes:
    return (
        '{"id":"e1","type":"purchase","member_id":"alice","occurred_at":"2026-03-02T08:00:00Z",'
        '"attributes":{"order_id":"o1","amount":"1","currency":"EUR","'
        + attribute
        + '":'
        + raw_value
        + "}}"
    ).encode()


async def test_a_body_over_the_limit_is_413(client, make_key, settings):
    key = await make_key("events:write")
    body = _event_with_attribute('"' + "x" * settings.max_body_bytes + '"')
    for path in ("/v1/events", "/v1/events/batch", "/v1/members/alice"):
        response = await _post_raw(client, path, body, key)
        if path == "/v1/members/alice":  # no POST route there: refused before reading the body
            assert response.status_code == 405, response.text
            continue
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 413


@pytest.mark.parametrize("depth", [1_000, 100_000, 400_000])
async def test_deeply_nested_json_is_refused_fast(client, make_key, depth):
    key = await make_key("events:write")
    body = _event_with_attribute("[" * depth + "]" * depth)
    response = await _post_raw(client, "/v1/events", body, key)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_huge_strings_and_numbers_are_refused_cheaply(client, make_key):
    key = await make_key("events:write")
    cases = {
        "a huge event id": purchase("x" * 200_000, "alice", "1"),
        "a huge member id": purchase("e1", "a" * 200_000, "1"),
        "a huge event type": {**purchase("e1", "alice", "1"), "type": "t" * 200_000},
        "an unknown huge attribute": {
            **purchase("e1", "alice", "1"),
            "attributes": {"k" * 200_000: 1},
        },
        "an out-of-range number": None,
    }
    for name, body in cases.items():
        if body is None:
            response = await client.post(
                "/v1/events",
                content=_event_with_attribute("1e400", attribute="amount"),
                headers={**bearer(key), "Content-Type": "application/json"},
            )
        else:
            response = await client.post("/v1/events", json=body, headers=bearer(key))
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json", name
        assert len(response.content) < 4096, (name, len(response.content))


async def test_huge_attribute_values_are_refused(client, make_key):
    key = await make_key("events:write")
    for i, body in enumerate(
        [
            purchase("s1", "alice", "1", order_id="o" * 200_000),
            purchase("d1", "alice", "9" * 200_000),
        ]
    ):
        response = await client.post("/v1/events", json=body, headers=bearer(key))
        assert 400 <= response.status_code < 500, (i, response.status_code)


async def test_nul_characters_are_a_400_not_a_500(client, make_key):
    key = await make_key("admin")
    body = {"member_id": "alice", "points": 5, "reason": "bad\x00reason"}
    response = await client.post("/v1/admin/adjustments", json=body, headers=bearer(key))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "nul_character"
    event = purchase("nul\x00id", "alice", "1")
    response = await client.post("/v1/events", json=event, headers=bearer(key))
    assert response.status_code == 400, response.text


async def test_a_nul_in_one_batch_event_refuses_only_that_event(client, make_key):
    key = await make_key("events:write")
    batch = [purchase("ok-1", "alice", "1"), purchase("nul\x00", "alice", "1")]
    response = await client.post("/v1/events/batch", json={"events": batch}, headers=bearer(key))
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == [201, 400]


async def test_a_token_spelled_another_way_shares_its_members_budget(client_clock, make_key):
    client = client_clock
    key = await make_key("members:token")
    token = await member_token(client, key, "alice")
    for n in range(PER_MINUTE):
        spelled = token + "=" * (n % 2)  # base64 padding: the same token to a JWT library
        response = await client.get("/v1/me", headers=bearer(spelled))
        assert response.status_code == 200, response.text
    assert_rate_limited(await client.get("/v1/me", headers=bearer(token + "=")))
    assert_rate_limited(await client.get("/v1/me", headers=bearer(token)))


async def test_made_up_credentials_are_counted_per_address_and_never_stored(
    client_clock, make_key, db
):
    client = client_clock
    for n in range(PER_MINUTE):
        response = await client.get("/v1/members/alice", headers=bearer(f"lk_junk_{n}"))
        assert response.status_code == 401, response.text
    assert_rate_limited(await client.get("/v1/members/alice", headers=bearer("made-up")))
    _sync(client)
    _sync(client)  # several syncs
    async with db.connection() as conn:
        # SQL on purpose: nothing at all is stored for them
        stored = await conn.raw.fetchval("SELECT count(*) FROM rate_limit_counts")
    assert stored == 0
    # a real key from the same address is not held up by the junk
    key = await make_key("members:read")
    assert (await client.get("/v1/members/alice", headers=bearer(key))).status_code == 404
