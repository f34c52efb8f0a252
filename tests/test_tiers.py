"""Tiers: points earned in the calendar year upgrade at once; a tier lapses only after the
year ends and its grace period passes; a late event counts in the year it happened."""

from __future__ import annotations

from datetime import UTC, datetime

from builders import member_rows
from helpers import bearer, get, post, purchase

from service.operations.tiers import review_tiers_due


def _base_earn(result):
    return sum(e["points"] for e in result["effects"] if e.get("rule_id") == "base-earn")


async def _tier(client, key, member="alice"):
    return (await get(client, key, f"/v1/members/{member}"))["tier"]


async def test_upgrade_at_once_and_downgrade_after_year_end_and_grace(
    client, make_key, clock, runtime, db
):
    key = await make_key("admin")
    first = await post(client, key, "/v1/events", purchase("p1", "alice", "200.00"))  # 2000 points
    assert [(m["from_tier"], m["to_tier"]) for m in first["tier_moves"]] == [("member", "silver")]
    assert "points earned 2000 in 2026 reached 2000" in first["tier_moves"][0]["reason"]
    tier = await _tier(client, key)
    assert tier["current"] == "silver" and tier["multiplier"] == 1.25
    assert tier["next"] == {"tier": "gold", "name": "Gold", "threshold": 5000.0, "missing": 3000.0}
    assert tier["lapses_at"] == "2027-01-30T23:00:00Z"  # 31 Jan 2027 00:00 Berlin: year + 30 days

    # silver earns 1.25x at once
    second = await post(client, key, "/v1/events", purchase("p2", "alice", "100.00"))
    assert second["earned"] == 1250

    # in the grace period the tier holds, and the worker leaves it alone
    clock.set(datetime(2027, 1, 20, 12, 0, tzinfo=UTC))
    assert (await _tier(client, key))["current"] == "silver"
    assert await review_tiers_due(runtime, clock.now()) == 0

    # after the grace period: read lazily as member, then stored by the worker with a reason
    clock.set(datetime(2027, 2, 1, 12, 0, tzinfo=UTC))
    lapsed = await _tier(client, key)
    assert lapsed["current"] == "member" and lapsed["next"]["tier"] == "silver"
    assert await review_tiers_due(runtime, clock.now()) == 1
    rows = sorted((await member_rows(db, "alice")).tier_moves, key=lambda r: r.seq)
    assert [(r.from_tier, r.to_tier) for r in rows] == [
        ("member", "silver"),
        ("silver", "member"),
    ]
    assert rows[1].at == datetime(2027, 1, 30, 23, 0, tzinfo=UTC)
    assert "Silver lapsed" in rows[1].reason and "below its 2000" in rows[1].reason
    # a purchase now earns the base rate again
    third = await post(
        client, key, "/v1/events", purchase("p3", "alice", "10.00", "2027-02-01T10:00:00Z")
    )
    assert _base_earn(third) == 100 and third["tier_moves"] == []


async def test_spending_points_never_costs_the_tier(client, make_key, clock):
    key = await make_key("admin")
    await post(client, key, "/v1/events", purchase("p1", "carol", "250.00", "2026-03-02T08:00:00Z"))
    clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))  # past the return window
    response = await client.post(
        "/v1/admin/adjustments",
        json={"member_id": "carol", "points": -1000, "reason": "goodwill correction"},
        headers={**bearer(key), "Idempotency-Key": "adj-1"},
    )
    assert response.status_code in (200, 201), response.text
    assert (await _tier(client, key, "carol"))["current"] == "silver"


async def test_a_late_event_counts_in_the_year_it_happened(client, make_key, clock):
    key = await make_key("admin")
    clock.set(datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    await post(
        client, key, "/v1/events", purchase("p1", "dave", "300.00", "2026-11-02T10:00:00Z")
    )  # silver
    clock.set(datetime(2027, 1, 10, 12, 0, tzinfo=UTC))
    late = await post(
        client, key, "/v1/events", purchase("p2", "dave", "200.00", "2026-12-20T10:00:00Z")
    )
    assert _base_earn(late) == 2500  # silver 1.25x
    # 3000 + 2500 in 2026 reaches gold (5000), held until the end of 2026 plus grace
    assert [m["to_tier"] for m in late["tier_moves"]] == ["gold"]
    tier = await _tier(client, key, "dave")
    assert tier["current"] == "gold" and tier["lapses_at"] == "2027-01-30T23:00:00Z"
    assert tier["value"] == 0.0  # nothing earned in 2027 yet
