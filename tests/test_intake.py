"""Event intake: exactly once, explainable, dated by when things happened."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from builders import ledger_entries, member_state, stored_event
from helpers import bearer, ledger_problems, post, purchase, refund

from service.worker import mature_due

EVENTS = "/v1/events"


async def test_purchase_earns_pending_points_with_an_explanation(client, make_key):
    key = await make_key("events:write")
    result = await post(client, key, EVENTS, purchase("e1", "alice", "120.50"))
    assert result["earned"] == 1205 and result["replay"] is False
    assert result["balances"]["pending"] == 1205 and result["balances"]["available"] == 0
    (lot,) = result["lots"]
    assert lot["activates_at"] == "2026-03-16T08:00:00Z"  # 14-day return window
    assert lot["expires_at"] == "2027-03-02T08:00:00Z"  # 365-day rolling expiry
    (effect,) = [e for e in result["effects"] if e["type"] == "points"]
    assert effect["rule_id"] and effect["ruleset_version"] == result["ruleset_version"]
    assert "EUR" in effect["reason"]


async def test_unknown_member_is_created_on_first_event(client, make_key):
    key = await make_key("events:write", "members:read")
    await post(client, key, EVENTS, purchase("e1", "newcomer", "10"))
    member = (await client.get("/v1/members/newcomer", headers=bearer(key))).json()
    assert member["balances"]["pending"] == 100


async def test_replaying_an_event_100_times_concurrently_books_it_once(client, make_key, db):
    key = await make_key("events:write")
    body = purchase("dup-1", "alice", "50")
    responses = await asyncio.gather(
        *(client.post(EVENTS, json=body, headers=bearer(key)) for _ in range(100))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1 and statuses.count(200) == 99, statuses
    assert all(r.json()["replay"] for r in responses if r.status_code == 200)
    assert {r.json()["earned"] for r in responses} == {500}
    state = await member_state(db, "alice")
    entries = len(await ledger_entries(db, "alice"))
    assert (entries, len(state.lots), state.balances.pending) == (1, 1, 500)


async def test_same_id_with_a_changed_body_is_409(client, make_key):
    key = await make_key("events:write")
    await post(client, key, EVENTS, purchase("e1", "alice", "50"))
    changed = await post(client, key, EVENTS, purchase("e1", "alice", "51"), status=409)
    assert changed["errors"][0]["field"] == "id"


async def test_attributes_are_checked_against_the_event_type(client, make_key):
    key = await make_key("events:write")
    body = purchase("e1", "alice", "50")
    body["attributes"]["amount"] = "fifty"
    problem = await post(client, key, EVENTS, body, status=422)
    assert problem["errors"][0]["field"] == "attributes.amount"
    unknown = {**purchase("e2", "alice", "5"), "type": "purchace"}
    problem = await post(client, key, EVENTS, unknown, status=422)
    assert "did you mean 'purchase'" in problem["detail"]


async def test_event_without_time_zone_is_400(client, make_key):
    key = await make_key("events:write")
    body = purchase("e1", "alice", "50", occurred_at="2026-03-02T08:00:00")
    problem = await post(client, key, EVENTS, body, status=400)
    assert problem["errors"][0]["field"] == "occurred_at"


async def test_events_need_the_events_write_scope(client, make_key):
    key = await make_key("members:read")
    await post(client, key, EVENTS, purchase("e1", "alice", "5"), status=403)


async def test_pending_points_become_available_then_expire(client, make_key, clock, db, runtime):
    key = await make_key("events:write", "members:read")
    await post(
        client, key, EVENTS, purchase("e1", "alice", "20", occurred_at="2026-03-02T08:00:00Z")
    )

    async def balances():
        member = await client.get("/v1/members/alice", headers=bearer(key))
        return member.json()["balances"]

    assert (await balances())["pending"] == 200
    clock.set(clock.now() + timedelta(days=14, hours=1))
    # reads are right before the worker runs
    assert (await balances())["available"] == 200
    assert await mature_due(runtime, clock.now()) == 1
    assert [e["kind"] for e in await ledger_entries(db, "alice")] == ["earn", "activate"]
    member = (await client.get("/v1/members/alice", headers=bearer(key))).json()
    assert member["expiring_points_30_days"] == 0
    clock.set(clock.now() + timedelta(days=340))
    member = (await client.get("/v1/members/alice", headers=bearer(key))).json()
    assert member["expiring_points_30_days"] == 200
    clock.set(clock.now() + timedelta(days=30))
    assert (await balances())["available"] == 0
    assert await mature_due(runtime, clock.now()) == 1
    last = (await ledger_entries(db, "alice"))[-1]
    assert (last["kind"], last["points"]) == ("expire", -200)


async def test_late_event_is_dated_by_when_it_happened(client, make_key, clock):
    key = await make_key("events:write", "members:read")
    clock.set(clock.now() + timedelta(days=20))
    late = purchase("late-1", "alice", "10", occurred_at="2026-03-02T08:00:00Z")
    result = await post(client, key, EVENTS, late)
    (lot,) = result["lots"]
    assert lot["activates_at"] == "2026-03-16T08:00:00Z"
    assert lot["state"] == "available"  # its return window already passed
    assert result["balances"]["available"] == 100


async def test_full_refund_reverses_the_purchase(client, make_key):
    key = await make_key("events:write")
    await post(client, key, EVENTS, purchase("p1", "alice", "80", order_id="o-1"))
    result = await post(client, key, EVENTS, refund("r1", "alice", "o-1", "80"))
    assert result["reversed"] == 800 and result["balances"]["pending"] == 0


async def test_partial_refunds_add_up_to_the_whole(client, make_key):
    key = await make_key("events:write")
    await post(client, key, EVENTS, purchase("p1", "alice", "100", order_id="o-1"))
    reversed_points = []
    for i, amount in enumerate(["33.33", "33.33", "33.34"]):
        result = await post(client, key, EVENTS, refund(f"r{i}", "alice", "o-1", amount))
        reversed_points.append(result["reversed"])
    assert sum(reversed_points) == 1000
    assert result["balances"]["pending"] == 0


async def test_refunding_more_than_was_bought_is_422(client, make_key):
    key = await make_key("events:write")
    await post(client, key, EVENTS, purchase("p1", "alice", "50", order_id="o-1"))
    await post(client, key, EVENTS, refund("r1", "alice", "o-1", "30"))
    too_much = await post(client, key, EVENTS, refund("r2", "alice", "o-1", "20.01"), status=422)
    assert too_much["errors"][0]["field"] == "attributes.amount"
    unknown = await post(
        client, key, EVENTS, refund("r3", "alice", "no-such-order", "1"), status=422
    )
    assert unknown["errors"][0]["field"] == "attributes.order_id"


async def test_a_second_purchase_with_the_same_order_is_409(client, make_key):
    key = await make_key("events:write")
    await post(client, key, EVENTS, purchase("p1", "alice", "50", order_id="o-1"))
    await post(client, key, EVENTS, purchase("p2", "alice", "50", order_id="o-1"), status=409)


async def test_batch_gives_a_result_per_event(client, make_key):
    key = await make_key("events:write")
    bad = purchase("b3", "carol", "5")
    bad["attributes"]["amount"] = "lots"
    batch = [
        purchase("b1", "alice", "10"),
        purchase("b2", "bob", "20"),
        bad,
        purchase("b1", "alice", "10"),
    ]
    response = await client.post("/v1/events/batch", json={"events": batch}, headers=bearer(key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == [201, 201, 422, 200]
    assert body["results"][2]["field"] == "attributes.amount"
    assert (body["processed"], body["replayed"], body["refused"]) == (2, 1, 1)


async def test_batch_over_1000_events_is_400(client, make_key):
    key = await make_key("events:write")
    batch = [purchase(f"e{i}", "alice", "1") for i in range(1001)]
    response = await client.post("/v1/events/batch", json={"events": batch}, headers=bearer(key))
    assert response.status_code == 400, response.text  # ~100 kB: under the body limit
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "events"


async def test_ledger_is_newest_first_with_cursor_pages(client, make_key):
    key = await make_key("events:write", "members:read")
    for i in range(5):
        await post(client, key, EVENTS, purchase(f"e{i}", "alice", "1"))
    first = (await client.get("/v1/members/alice/ledger?limit=2", headers=bearer(key))).json()
    assert [e["event_id"] for e in first["entries"]] == ["e4", "e3"]
    assert first["entries"][0]["reason"] and first["entries"][0]["rule_id"]
    cursor = first["next_cursor"]
    second = await client.get(
        f"/v1/members/alice/ledger?limit=2&cursor={cursor}", headers=bearer(key)
    )
    assert [e["event_id"] for e in second.json()["entries"]] == ["e2", "e1"]


async def test_verify_catches_a_tampered_ledger(client, make_key, db):
    key = await make_key("events:write")
    await post(client, key, EVENTS, purchase("e1", "alice", "10"))
    assert await ledger_problems(db) == []
    async with db.transaction() as conn:  # SQL on purpose: a tampered balances row
        await conn.raw.execute("UPDATE balances SET pending = pending + 1 WHERE member_id='alice'")
    problems = await ledger_problems(db)
    assert problems and "pending" in problems[0]
    async with db.transaction() as conn:  # put it back so the after-test check passes
        await conn.raw.execute("UPDATE balances SET pending = pending - 1 WHERE member_id='alice'")


async def test_ledger_entries_cannot_be_updated_or_deleted(client, make_key, db):
    import asyncpg
    import pytest

    key = await make_key("events:write")
    await post(client, key, EVENTS, purchase("e1", "alice", "10"))
    async with db.connection() as conn:  # SQL on purpose: the table itself refuses changes
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.raw.execute("UPDATE ledger_entries SET points = 1")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.raw.execute("DELETE FROM ledger_entries")


async def test_the_same_id_for_two_members_is_two_events(client, make_key, db):
    """The idempotency key is (member_id, id): docs/guarantees.md."""
    key = await make_key("events:write")
    for member in ("alice", "bob"):
        result = await post(client, key, EVENTS, purchase("e1", member, "10"))
        assert result["replay"] is False and result["earned"] == 100
    for member in ("alice", "bob"):
        assert await stored_event(db, member, "e1") is not None
        assert (await member_state(db, member)).balances.pending == 100
