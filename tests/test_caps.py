"""Caps hold under concurrency: per member per period, and a global budget of points."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from builders import member_state
from helpers import bearer, catch_up

from service.engine import PointsEffect
from service.pipeline import intake
from service.pipeline.intake import EventIn, IntakeOptions

DEMO = Path(__file__).parents[1] / "rules"

CAPPED_RULES = """
rules:
  - id: checkin-bonus
    on: checkin
    actions:
      - points: 5
    reason: "daily check-in: {points} points"
    caps:
      per_member:
        - period: day
          max_times: 3
        - period: lifetime
          max_points: 40
  - id: launch-budget
    on: checkin
    actions:
      - points: 10
    reason: "launch week bonus: {points} points"
    caps:
      budget: 95
"""


async def _publish_capped(client, admin):
    files = {p.name: p.read_text() for p in DEMO.glob("*.yaml")}
    files["checkins.yaml"] = CAPPED_RULES
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 201, response.text


def _checkin(event_id: str, member_id: str, at: str = "2026-03-02T10:00:00Z"):
    return {"id": event_id, "type": "checkin", "member_id": member_id, "occurred_at": at}


async def test_per_member_daily_cap_holds_under_50_concurrent_events(client, make_key, db, clock):
    admin = await make_key("admin")
    await _publish_capped(client, admin)
    events = [_checkin(f"c{i}", "alice") for i in range(50)]
    responses = await asyncio.gather(
        *(client.post("/v1/events", json=e, headers=bearer(admin)) for e in events)
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses][:3]
    fired = [e for r in responses for e in r.json()["effects"] if e["rule_id"] == "checkin-bonus"]
    assert len(fired) == 3
    state = await member_state(db, "alice", period_keys=("2026-03-02",))
    usage = state.usage["checkin-bonus:2026-03-02"]
    assert (usage.times, usage.points) == (3, 15)
    # the next day the cap starts over; the lifetime points cap trims the award
    more = [
        _checkin(f"d{day}-{i}", "alice", f"2026-03-{day:02d}T10:00:00Z")
        for day in (3, 4)
        for i in range(3)
    ]
    awarded = 0
    for event in more:
        catch_up(clock, event)
        body = (await client.post("/v1/events", json=event, headers=bearer(admin))).json()
        awarded += sum(e["points"] for e in body["effects"] if e["rule_id"] == "checkin-bonus")
    assert 15 + awarded == 40


async def test_global_budget_never_overshoots_under_50_concurrent_events(client, make_key, db):
    admin = await make_key("admin")
    await _publish_capped(client, admin)
    events = [_checkin(f"g{i}", f"member-{i}") for i in range(50)]
    responses = await asyncio.gather(
        *(client.post("/v1/events", json=e, headers=bearer(admin)) for e in events)
    )
    assert all(r.status_code == 201 for r in responses)
    granted = [
        e["points"]
        for r in responses
        for e in r.json()["effects"]
        if e["rule_id"] == "launch-budget"
    ]
    assert sum(granted) == 95  # nine full awards and one trimmed to 5
    assert sorted(granted) == [5] + [10] * 9
    # SQL on purpose: the budget row and every member's lots together (no store function
    # reads a budget by itself; the pipeline reads it inside a set)
    async with db.connection() as conn:
        spent = await conn.raw.fetchval(
            "SELECT spent FROM rule_budgets WHERE rule_id = 'launch-budget'"
        )
        lots = await conn.raw.fetchval(
            "SELECT sum(points) FROM lots WHERE rule_id = 'launch-budget'"
        )
    assert spent == 95 and lots == 95


BUDGET_AND_CAP_RULES = """
rules:
  - id: launch-budget
    on: checkin
    actions:
      - points: 10
    reason: "launch bonus: {points} points"
    caps:
      budget: 10
      per_member:
        - period: lifetime
          max_times: 5
"""


@pytest.mark.no_replay  # the budget is spent by raw SQL
async def test_a_spent_budget_does_not_use_up_a_members_cap(
    client, make_key, db, runtime, settings
):
    admin = await make_key("admin")
    files = {p.name: p.read_text() for p in DEMO.glob("*.yaml")}
    files["checkins.yaml"] = BUDGET_AND_CAP_RULES
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 201, response.text
    await runtime.rules.refresh()
    # Another event spends the budget while this one is being evaluated: it read the budget
    # as unspent, fires, then waits on the budget row and is granted 0 points. (The intake
    # is called directly: the test client would block this loop while the event waits.)
    async with db.connection() as other, db.connection() as watcher:
        await other.raw.execute("BEGIN")
        await other.raw.execute(
            "INSERT INTO rule_budgets (rule_id, spent) VALUES ('launch-budget', 10)"
        )
        event = msgspec.convert(_checkin("b1", "bob"), EventIn)
        ingest = asyncio.ensure_future(intake.ingest(runtime, IntakeOptions.of(settings), event))
        for _ in range(500):  # until the event waits on the budget row
            waiting = await watcher.raw.fetchval(  # (a transaction's view of it is frozen)
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            )
            if waiting:
                break
            await asyncio.sleep(0.01)
        assert waiting, "the event never reached the budget"
        await other.raw.execute("COMMIT")
        result = await ingest
    assert result.earned == 0 and not [e for e in result.effects if isinstance(e, PointsEffect)]
    async with db.connection() as conn:  # SQL on purpose: no usage row of anyone, any period
        usage = await conn.raw.fetch("SELECT member_id, times, points FROM rule_usage")
    assert usage == []  # bob got nothing, so none of his five times is used
