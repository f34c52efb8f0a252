"""Webhooks, against a real HTTP receiver on loopback: signed messages the receiver verifies,
every message once the receiver recovers (500, timeouts, down), each member's in order; nothing
for a rolled-back change; dead letters after the retry period and their redelivery; the
time-driven kinds once each at the right moment in the member's time zone (the clock is moved,
never slept on)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from helpers import bearer, get, post, purchase
from webhook_receiver import Receiver

from service.operations.webhook_delivery import (
    find_time_driven,
    new_client,
    prune_delivered,
    run_delivery_pass,
)

ENDPOINTS = "/v1/admin/webhooks/endpoints"
EVENT_KINDS = [
    "points.earned",
    "points.reversed",
    "tier.changed",
    "badge.awarded",
    "challenge.completed",
    "challenge.progressed",
    "streak.milestone",
    "reward.redeemed",
]


@pytest.fixture
async def receiver():
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def _subscribe(client, key, receiver, kinds=None, **extra) -> dict:
    body = {"url": receiver.url, "kinds": kinds or ["points.earned"], **extra}
    response = await client.post(ENDPOINTS, json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    receiver.secrets.append(created["secret"])
    return created


def _pass(runtime, http, settings):
    """One delivery pass as the webhook `settings` say (no metrics)."""
    return run_delivery_pass(runtime, http, settings=settings, metrics=None)


async def _drain(runtime, settings, passes: int = 50) -> None:
    """Delivery passes until one takes nothing (the clock stands still)."""
    async with new_client(settings) as http:
        for _ in range(passes):
            if (await _pass(runtime, http, settings)).taken == 0:
                return
    raise AssertionError("deliveries never ran out")


async def _deliveries(client, key, endpoint_id, **params) -> list[dict]:
    path = f"{ENDPOINTS}/{endpoint_id}/deliveries"
    return (await get(client, key, path, params=params))["deliveries"]


async def test_a_purchase_is_delivered_signed_and_the_receiver_verifies_it(
    client, make_key, runtime, receiver, clock, settings
):
    key = await make_key("admin")
    endpoint = await _subscribe(client, key, receiver, kinds=EVENT_KINDS)
    await post(client, key, "/v1/events", purchase("p1", "alice", "42.00"))
    await _drain(runtime, settings)
    assert receiver.bad_signatures == 0
    (message,) = receiver.accepted
    assert message["type"] == "points.earned"
    assert message["data"]["member_id"] == "alice"
    assert message["data"]["event_id"] == "p1"
    assert message["data"]["points"] == 420 and message["data"]["pending"] == 420
    assert message["id"].startswith("msg_")
    assert message["headers"]["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert message["headers"]["webhook-signature"].startswith("v1,")
    (delivery,) = await _deliveries(client, key, endpoint["endpoint_id"])
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert delivery["last_status_code"] == 204 and delivery["kind"] == "points.earned"
    assert delivery["message_id"] == message["id"]
    # a second pass sends nothing again
    await _drain(runtime, settings)
    assert len(receiver.accepted) == 1


async def test_no_subscriber_no_message_and_kinds_not_asked_for_are_not_sent(
    client, make_key, runtime, receiver, db, settings
):
    key = await make_key("admin")
    await post(client, key, "/v1/events", purchase("p0", "alice", "10.00"))  # nobody subscribed yet
    await _subscribe(client, key, receiver, kinds=["tier.changed"])
    await post(client, key, "/v1/events", purchase("p1", "alice", "10.00"))
    await _drain(runtime, settings)
    assert receiver.accepted == []
    async with (
        db.connection() as conn
    ):  # SQL on purpose: the outbox table itself (no store function reads it whole)
        assert await conn.raw.fetchval("SELECT count(*) FROM webhook_messages") == 0


async def _stream(
    client, key, members: int, per_member: int, prefix: str = "e"
) -> dict[str, list[str]]:
    """Purchases interleaved across members; each member's event ids in posting order."""
    order: dict[str, list[str]] = {}
    for i in range(per_member):
        for m in range(members):
            member, event_id = f"m{m}", f"{prefix}{m}-{i}"
            await post(client, key, "/v1/events", purchase(event_id, member, f"{10 + i}.00"))
            order.setdefault(member, []).append(event_id)
    return order


def _received_in_order(receiver: Receiver, order: dict[str, list[str]]) -> None:
    got = {
        member: [m["data"]["event_id"] for m in messages]
        for member, messages in receiver.by_member("points.earned").items()
    }
    assert got == order


async def test_a_receiver_that_fails_times_out_or_is_down_gets_everything_in_order(
    client, make_key, runtime, receiver, clock, settings
):
    settings = msgspec.structs.replace(settings, webhook_timeout_seconds=0.3)
    key = await make_key("admin")
    await _subscribe(client, key, receiver)
    order = await _stream(client, key, members=3, per_member=2)
    receiver.mode = "fail"
    async with new_client(settings) as http:
        first = await _pass(runtime, http, settings)
        assert first.failed == 3 and first.delivered == 0  # one head per member, each stops
        later = await _stream(client, key, members=3, per_member=1, prefix="x")
        for member, ids in later.items():  # more changes while the receiver fails
            order[member] += ids
        receiver.mode = "slow"
        receiver.slow_seconds = 2
        clock.advance(timedelta(minutes=2))
        assert (await _pass(runtime, http, settings)).failed == 3
        await receiver.stop()
        clock.advance(timedelta(minutes=5))
        assert (await _pass(runtime, http, settings)).failed == 3
        await receiver.start()  # the same port
        receiver.mode = "ok"
        clock.advance(timedelta(seconds=5))  # not every backoff is over yet
        await _pass(runtime, http, settings)
        clock.advance(timedelta(hours=2))
        while (await _pass(runtime, http, settings)).taken:
            pass
    assert receiver.bad_signatures == 0
    assert len(set(receiver.accepted_ids())) == 9
    _received_in_order(receiver, order)


async def test_two_replicas_passing_at_once_keep_each_members_order(
    client, make_key, runtime, receiver, settings, clock
):
    from service.runtime import Runtime
    from service.store.database import Database

    key = await make_key("admin")
    await _subscribe(client, key, receiver)
    order = await _stream(client, key, members=4, per_member=6)
    other_db = Database(settings.database_url or "", min_size=0, max_size=4)
    await other_db.open()
    try:
        other = Runtime(db=other_db, clock=runtime.clock, rules=runtime.rules)
        settings = msgspec.structs.replace(settings, webhook_batch=3)
        async with new_client(settings) as a, new_client(settings) as b:
            for _ in range(30):
                done = await asyncio.gather(_pass(runtime, a, settings), _pass(other, b, settings))
                if not any(r.taken for r in done):
                    break
    finally:
        await other_db.close()
    _received_in_order(receiver, order)
    assert len(receiver.accepted) == 24  # nothing twice


async def test_a_message_is_never_sent_for_a_rolled_back_change(
    client, make_key, runtime, receiver, db, settings
):
    key = await make_key("admin")
    await _subscribe(client, key, receiver)
    # the save of this event fails after the outbox CTE has its rows: the transaction rolls back
    async with db.transaction() as conn:
        await conn.raw.execute(
            """
            CREATE FUNCTION doom() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.event_id = 'doomed' THEN RAISE EXCEPTION 'doomed'; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER doom BEFORE INSERT ON ledger_entries
              FOR EACH ROW EXECUTE FUNCTION doom();
            """
        )
    response = await client.post(
        "/v1/events", json=purchase("doomed", "alice", "99.00"), headers=bearer(key)
    )
    assert response.status_code >= 500
    await post(client, key, "/v1/events", purchase("fine", "alice", "5.00"))
    await _drain(runtime, settings)
    assert [m["data"]["event_id"] for m in receiver.accepted] == ["fine"]
    async with (
        db.connection() as conn
    ):  # SQL on purpose: the outbox table itself (no store function reads it whole)
        kept = await conn.raw.fetch("SELECT payload FROM webhook_messages")
    assert [r["payload"]["event_id"] for r in kept] == ["fine"]
    async with db.transaction() as conn:
        await conn.raw.execute("DROP TRIGGER doom ON ledger_entries; DROP FUNCTION doom()")


async def test_dead_letters_after_the_retry_period_disable_the_endpoint_and_can_be_redelivered(
    client, make_key, runtime, receiver, clock, settings
):
    settings = msgspec.structs.replace(settings, webhook_retry_seconds=3600)
    key = await make_key("admin")
    endpoint = await _subscribe(client, key, receiver)
    endpoint_id = endpoint["endpoint_id"]
    await post(client, key, "/v1/events", purchase("p1", "alice", "10.00"))
    await post(client, key, "/v1/events", purchase("p2", "bob", "10.00"))
    receiver.mode = "fail"
    async with new_client(settings) as http:
        started = clock.now()
        for _ in range(40):  # attempts with backoff (and its jitter) past the hour
            result = await _pass(runtime, http, settings)
            if result.dead:
                break
            clock.advance(timedelta(minutes=6))
    assert clock.now() - started >= timedelta(hours=1)  # not before the retry period
    dead = await _deliveries(client, key, endpoint_id, status="dead")
    assert len(dead) == 2
    assert all(d["last_status_code"] == 500 and d["attempts"] > 3 for d in dead)
    assert all(d["last_error"] == "HTTP 500" for d in dead)
    shown = (await client.get(f"{ENDPOINTS}/{endpoint_id}", headers=bearer(key))).json()
    assert shown["status"] == "disabled"
    assert "failing since" in shown["disabled_reason"] and "HTTP 500" in shown["disabled_reason"]
    # while disabled, new changes make no deliveries for it
    await post(client, key, "/v1/events", purchase("p3", "alice", "10.00"))
    assert len(await _deliveries(client, key, endpoint_id)) == 2
    # the receiver is fixed; the admin resumes the endpoint and redelivers
    receiver.mode = "ok"
    resumed = await client.post(f"{ENDPOINTS}/{endpoint_id}/resume", headers=bearer(key))
    assert resumed.json()["status"] == "active" and resumed.json()["disabled_reason"] is None
    one = dead[0]["message_id"]
    again = await client.post(
        f"{ENDPOINTS}/{endpoint_id}/deliveries/{one}/redeliver", headers=bearer(key)
    )
    assert again.status_code == 200 and again.json() == {"redelivered": 1}
    rest = await client.post(
        f"{ENDPOINTS}/{endpoint_id}/dead-letters/redeliver", headers=bearer(key)
    )
    assert rest.json() == {"redelivered": 1}
    await _drain(runtime, settings)
    assert sorted(m["data"]["event_id"] for m in receiver.accepted) == ["p1", "p2"]
    statuses = {d["status"] for d in await _deliveries(client, key, endpoint_id)}
    assert statuses == {"delivered"}
    refused = await client.post(
        f"{ENDPOINTS}/{endpoint_id}/deliveries/{one}/redeliver", headers=bearer(key)
    )
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "message_id"


async def test_an_endpoint_answering_nothing_is_left_alone_until_its_earliest_retry(
    client, make_key, runtime, receiver, clock, settings
):
    """A pass that only failed on an endpoint sets when it is next worth trying: passes before
    then take nothing of it (not even a new member's message, due at once), so a receiver that
    is down does not make every pass read its backlog; resuming it tries it at once."""
    key = await make_key("admin")
    endpoint_id = (await _subscribe(client, key, receiver))["endpoint_id"]
    receiver.mode = "fail"
    await post(client, key, "/v1/events", purchase("p1", "alice", "10.00"))
    await post(client, key, "/v1/events", purchase("p2", "bob", "10.00"))
    async with new_client(settings) as http:
        first = await _pass(runtime, http, settings)
        assert (first.taken, first.failed) == (2, 2)
        await post(client, key, "/v1/events", purchase("p3", "carol", "10.00"))
        assert (await _pass(runtime, http, settings)).taken == 0
        assert receiver.requests == 2
        clock.advance(timedelta(seconds=6))  # past the first retry (5 s at most)
        receiver.mode = "ok"
        again = await _pass(runtime, http, settings)
        assert (again.taken, again.delivered) == (3, 3)
        receiver.mode = "fail"
        await post(client, key, "/v1/events", purchase("p4", "dan", "10.00"))
        assert (await _pass(runtime, http, settings)).failed == 1
        await post(client, key, "/v1/events", purchase("p5", "eve", "10.00"))
        assert (await _pass(runtime, http, settings)).taken == 0
        receiver.mode = "ok"
        await client.post(f"{ENDPOINTS}/{endpoint_id}/resume", headers=bearer(key))
        resumed = await _pass(runtime, http, settings)
        assert (resumed.taken, resumed.delivered) == (1, 1)  # eve's; dan's waits its backoff
    assert sorted(receiver.by_member()) == ["alice", "bob", "carol", "eve"]


async def _metric(client, name: str) -> float:
    text = (await client.get("/metrics")).text
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(name + " ")))


async def test_messages_delivered_everywhere_are_removed_after_the_keep_days_and_no_other(
    client, make_key, runtime, receiver, clock, settings, db
):
    """p1 was delivered to A alone; p2 waits for B (paused); p3 is a dead letter of A and waits
    for B. After the keep days only p1 goes; once B and the dead letter are delivered, the rest."""
    settings = msgspec.structs.replace(settings, webhook_retry_seconds=1)
    key = await make_key("admin")
    a = (await _subscribe(client, key, receiver))["endpoint_id"]
    await post(client, key, "/v1/events", purchase("p1", "alice", "10.00"))
    await _drain(runtime, settings)
    b = (await _subscribe(client, key, receiver))["endpoint_id"]
    await client.post(f"{ENDPOINTS}/{b}/pause", headers=bearer(key))
    await post(client, key, "/v1/events", purchase("p2", "bob", "10.00"))
    await _drain(runtime, settings)
    receiver.mode = "fail"
    await post(client, key, "/v1/events", purchase("p3", "carol", "10.00"))
    async with new_client(settings) as http:
        await _pass(runtime, http, settings)
        clock.advance(timedelta(seconds=10))
        assert (await _pass(runtime, http, settings)).dead == 1
    assert await _metric(client, "loyalty_webhook_dead_letters") == 1.0
    assert await _metric(client, "loyalty_webhook_queued") == 0.0  # B's wait: B is paused
    clock.advance(timedelta(days=31))
    assert await prune_delivered(runtime, keep_days=0) == 0  # 0 keeps every message
    assert await prune_delivered(runtime, keep_days=30) == 1
    listed = await _deliveries(client, key, a)  # newest first: p3's dead letter, p2's
    assert [d["status"] for d in listed] == ["dead", "delivered"]
    assert [d["status"] for d in await _deliveries(client, key, b)] == ["pending", "pending"]
    receiver.mode = "ok"
    for endpoint_id in (a, b):  # A was disabled: failing for longer than the retry period
        await client.post(f"{ENDPOINTS}/{endpoint_id}/resume", headers=bearer(key))
    await client.post(f"{ENDPOINTS}/{a}/dead-letters/redeliver", headers=bearer(key))
    await _drain(runtime, settings)
    assert await prune_delivered(runtime, keep_days=40) == 0  # not that old yet
    assert await prune_delivered(runtime, keep_days=30) == 2
    assert await _deliveries(client, key, a) == [] and await _deliveries(client, key, b) == []
    async with db.connection() as conn:  # no route lists messages without deliveries
        assert await conn.raw.fetchval("SELECT count(*) FROM webhook_messages") == 0
    accepted = sorted(m["data"]["event_id"] for m in receiver.accepted)
    assert accepted == ["p1", "p2", "p2", "p3", "p3"]


async def test_a_redirect_is_not_followed_but_failed(client, make_key, runtime, receiver, settings):
    key = await make_key("admin")
    endpoint = await _subscribe(client, key, receiver)
    await post(client, key, "/v1/events", purchase("p1", "alice", "10.00"))
    receiver.mode = "redirect"
    async with new_client(settings) as http:
        result = await _pass(runtime, http, settings)
    assert result.failed == 1 and receiver.requests == 1
    (delivery,) = await _deliveries(client, key, endpoint["endpoint_id"])
    assert delivery["status"] == "pending" and delivery["last_status_code"] == 302
    assert "redirects not followed" in delivery["last_error"]


async def test_streak_at_risk_is_sent_once_hours_before_the_members_day_ends(
    client, make_key, runtime, receiver, clock, settings
):
    key = await make_key("admin")
    await _subscribe(client, key, receiver, kinds=["streak.at_risk"], at_risk_hours=4)
    response = await client.put(
        "/v1/members/sam", json={"timezone": "America/New_York"}, headers=bearer(key)
    )
    assert response.status_code in (200, 201), response.text
    # check-ins on 2 and 3 March, New York time (noon there is 17:00 UTC)
    for day in (2, 3):
        at = datetime(2026, 3, day, 17, 0, tzinfo=UTC)
        clock.set(at)
        await post(
            client,
            key,
            "/v1/events",
            {"id": f"c{day}", "type": "checkin", "member_id": "sam", "occurred_at": at.isoformat()},
        )
    # 4 March 21:00 UTC: the UTC day ends in 3 hours, but in New York it is 16:00 (8 hours left)
    clock.set(datetime(2026, 3, 4, 21, 0, tzinfo=UTC))
    assert await find_time_driven(runtime) == 0
    # 4 March 20:30 New York (01:30 UTC on the 5th): the day ends in 3.5 hours
    clock.set(datetime(2026, 3, 5, 1, 30, tzinfo=UTC))
    assert await find_time_driven(runtime) == 1
    clock.advance(timedelta(minutes=30))
    assert await find_time_driven(runtime) == 0  # once
    await _drain(runtime, settings)
    (message,) = receiver.accepted
    assert message["type"] == "streak.at_risk"
    data = message["data"]
    assert (data["member_id"], data["streak_id"], data["length"]) == ("sam", "daily-checkin", 2)
    assert data["ends_at"] == "2026-03-05T05:00:00Z" and data["timezone"] == "America/New_York"
    # the next evening the streak is broken (4 March was missed): nothing at risk to tell
    clock.set(datetime(2026, 3, 6, 1, 30, tzinfo=UTC))
    assert await find_time_driven(runtime) == 0


async def test_points_expiring_is_sent_once_days_before(
    client, make_key, runtime, receiver, clock, settings
):
    key = await make_key("admin")
    await _subscribe(client, key, receiver, kinds=["points.expiring"], expiring_days=7)
    await post(
        client, key, "/v1/events", purchase("p1", "alice", "50.00")
    )  # 500 points, expire in 365 days
    expires = datetime(2027, 3, 2, 8, 0, tzinfo=UTC)
    clock.set(expires - timedelta(days=8))
    assert await find_time_driven(runtime) == 0
    clock.set(expires - timedelta(days=6, hours=23))
    assert await find_time_driven(runtime) == 1
    clock.advance(timedelta(days=1))
    assert await find_time_driven(runtime) == 0
    await _drain(runtime, settings)
    (message,) = receiver.accepted
    assert message["type"] == "points.expiring"
    assert message["data"] == {
        "member_id": "alice",
        "points": 500,
        "expires_at": "2027-03-02T08:00:00Z",
    }


async def test_the_game_kinds_come_with_their_change(client, make_key, runtime, receiver, settings):
    key = await make_key("admin")
    await _subscribe(client, key, receiver, kinds=EVENT_KINDS)
    await post(
        client, key, "/v1/events", purchase("big", "alice", "600.00")
    )  # tier and badge territory
    refund = {
        "id": "r1",
        "type": "refund",
        "member_id": "alice",
        "occurred_at": "2026-03-02T08:30:00Z",
        "attributes": {"order_id": "order-big", "amount": "100.00"},
    }
    await post(client, key, "/v1/events", refund)
    await _drain(runtime, settings)
    kinds = [m["type"] for m in receiver.accepted]
    assert "points.earned" in kinds and "points.reversed" in kinds
    reversed_ = next(m for m in receiver.accepted if m["type"] == "points.reversed")
    assert reversed_["data"]["event_id"] == "r1" and reversed_["data"]["points"] > 0
    assert kinds.index("points.earned") < kinds.index("points.reversed")


async def test_bad_requests_name_the_field(client, make_key):
    key = await make_key("admin")
    cases = [
        ({"url": "http://10.1.2.3/x", "kinds": ["points.earned"]}, 422, "url"),
        ({"url": "ftp://example.com/x", "kinds": ["points.earned"]}, 422, "url"),
        ({"url": "http://127.0.0.1:9/x", "kinds": ["points.earnt"]}, 400, "kinds[0]"),
        ({"url": "http://127.0.0.1:9/x", "kinds": []}, 400, "kinds"),
        ({"kinds": ["points.earned"]}, 400, "url"),
        (
            {"url": "http://127.0.0.1:9/x", "kinds": ["tier.changed"], "expiring_days": 0},
            400,
            "expiring_days",
        ),
        (
            {"url": "http://127.0.0.1:9/x", "kinds": ["tier.changed"], "colour": "red"},
            400,
            "colour",
        ),
    ]
    for body, status, field in cases:
        response = await client.post(ENDPOINTS, json=body, headers=bearer(key))
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field], response.text
    missing = await client.get(f"{ENDPOINTS}/we_0000000000000000", headers=bearer(key))
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "endpoint_id"
    bad_id = await client.get(f"{ENDPOINTS}/nope", headers=bearer(key))
    assert bad_id.status_code == 400
    bad_status = await client.get(
        f"{ENDPOINTS}/we_0000000000000000/deliveries?status=lost", headers=bearer(key)
    )
    assert bad_status.status_code == 400


async def test_an_endpoint_is_listed_updated_paused_rotated_and_deleted(
    client, make_key, runtime, receiver, clock, settings
):
    key = await make_key("admin")
    created = await _subscribe(client, key, receiver, description="CRM")
    endpoint_id = created["endpoint_id"]
    listed = (await client.get(ENDPOINTS, headers=bearer(key))).json()["endpoints"]
    assert [e["endpoint_id"] for e in listed] == [endpoint_id]
    assert "secret" not in listed[0]
    changed = await client.patch(
        f"{ENDPOINTS}/{endpoint_id}",
        json={"kinds": ["points.earned", "tier.changed"], "description": "CRM (prod)"},
        headers=bearer(key),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["kinds"] == ["points.earned", "tier.changed"]
    assert changed.json()["url"] == receiver.url
    # paused: messages are kept, not sent; resumed: sent
    await client.post(f"{ENDPOINTS}/{endpoint_id}/pause", headers=bearer(key))
    await post(client, key, "/v1/events", purchase("p1", "alice", "10.00"))
    await _drain(runtime, settings)
    assert receiver.accepted == []
    await client.post(f"{ENDPOINTS}/{endpoint_id}/resume", headers=bearer(key))
    await _drain(runtime, settings)
    assert len(receiver.accepted) == 1
    # rotation: both secrets sign during the overlap, only the new one after it
    rotated = await client.post(
        f"{ENDPOINTS}/{endpoint_id}/secret", json={"overlap_seconds": 3600}, headers=bearer(key)
    )
    assert rotated.status_code == 200, rotated.text
    old, new = created["secret"], rotated.json()["secret"]
    receiver.secrets = [old]
    await post(client, key, "/v1/events", purchase("p2", "alice", "10.00"))
    await _drain(runtime, settings)
    signature = receiver.accepted[-1]["headers"]["webhook-signature"]
    assert len(signature.split()) == 2
    receiver.secrets = [new]
    clock.advance(timedelta(hours=2))
    await post(client, key, "/v1/events", purchase("p3", "alice", "10.00"))
    await _drain(runtime, settings)
    assert len(receiver.accepted[-1]["headers"]["webhook-signature"].split()) == 1
    assert receiver.bad_signatures == 0 and len(receiver.accepted) == 3
    # metrics: the queue as stored
    await client.post(f"{ENDPOINTS}/{endpoint_id}/pause", headers=bearer(key))
    await post(client, key, "/v1/events", purchase("p4", "alice", "10.00"))
    await client.post(f"{ENDPOINTS}/{endpoint_id}/resume", headers=bearer(key))
    clock.advance(timedelta(seconds=30))
    text = (await client.get("/metrics")).text
    assert "loyalty_webhook_queued 1.0" in text
    assert "loyalty_webhook_lag_seconds 30.0" in text
    deleted = await client.delete(f"{ENDPOINTS}/{endpoint_id}", headers=bearer(key))
    assert deleted.status_code == 204
    gone = await client.get(f"{ENDPOINTS}/{endpoint_id}", headers=bearer(key))
    assert gone.status_code == 404


async def test_engagement_changed_is_sent_when_a_member_drifts_a_level(
    client, make_key, runtime, receiver, clock, settings
):
    """A member's first level is no change; falling a level by time alone (the worker's pass)
    is, and is told with both levels."""
    from datetime import timedelta

    from service.operations.engagement import review_engagement_due

    key = await make_key("admin")
    await _subscribe(client, key, receiver, kinds=["engagement.changed"])
    await post(client, key, "/v1/events", purchase("p1", "alice", "42.00"))
    await _drain(runtime, settings)
    assert receiver.accepted == []  # the first level is recorded, not a move
    clock.advance(timedelta(days=60))
    assert await review_engagement_due(runtime, clock.now()) == 1
    await _drain(runtime, settings)
    (message,) = receiver.accepted
    assert message["type"] == "engagement.changed"
    data = message["data"]
    assert (data["member_id"], data["from_level"], data["to_level"]) == (
        "alice",
        "moderately_engaged",
        "at_risk",
    )
    assert data["event_id"] is None and 12 <= data["score"] < 35


async def test_a_deliveries_cursor_beyond_a_bigint_is_refused_not_a_500(client, make_key, receiver):
    key = await make_key("admin")
    endpoint = await _subscribe(client, key, receiver)
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}/deliveries"
    top = await client.get(path, params={"before": 2**63 - 1}, headers=bearer(key))
    assert top.status_code == 200, top.text
    over = await client.get(path, params={"before": 2**63}, headers=bearer(key))
    assert over.status_code == 400 and "before" in over.text, over.text
