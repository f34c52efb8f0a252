"""Streaks: daily check-ins counted on the member's wall clock (Europe/Berlin), across the
spring-forward night of 29 March 2026; one freeze a month covers a missed day, two missed days
break the streak; a late check-in fills the day it happened."""

from __future__ import annotations

from datetime import UTC, datetime

from helpers import bearer


def _checkin(event_id: str, at: datetime) -> dict:
    return {"id": event_id, "type": "checkin", "member_id": "sam", "occurred_at": at.isoformat()}


async def _checkin_at(client, key, clock, day: int, month: int = 3, hour_utc: int = 23):
    # 00:30 Berlin on day+1 is 23:30 (winter) or 22:30 (summer) UTC on `day`
    at = datetime(2026, month, day, hour_utc, 30, tzinfo=UTC)
    clock.set(at)
    response = await client.post(
        "/v1/events", json=_checkin(f"c-{month}-{day}", at), headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _streak(client, key):
    body = (await client.get("/v1/members/sam", headers=bearer(key))).json()
    (streak,) = body["streaks"]
    return streak


async def test_streak_survives_a_frozen_day_across_dst_and_breaks_without_a_freeze(
    client, make_key, clock
):
    key = await make_key("admin")
    # local days 24..28 March at 00:30 CET (23:30 UTC the day before)
    for day in (23, 24, 25, 26, 27):
        await _checkin_at(client, key, clock, day)
    assert (await _streak(client, key))["current"] == 5
    # 29 March (23 hours long) is missed; 30 March 00:30 CEST is 22:30 UTC on the 29th
    result = await _checkin_at(client, key, clock, 29, hour_utc=22)
    (effect,) = [e for e in result["effects"] if e["type"] == "streak"]
    assert effect["unit"] == "2026-03-30" and effect["current"] == 6
    streak = await _streak(client, key)
    assert (streak["current"], streak["freezes_left"]) == (6, 0)  # March's freeze covered the 29th
    # 31 March: the seventh day pays the milestone
    result = await _checkin_at(client, key, clock, 30, hour_utc=22)
    paid = [e for e in result["effects"] if e["type"] == "points"]
    assert [(e["rule_id"], e["points"]) for e in paid] == [("streak:daily-checkin", 100)]
    assert "7-day streak" in paid[0]["reason"]
    assert "streak-week" in result["badges"]
    # April: 1st and 2nd missed; one freeze cannot cover two days, so the 3rd starts over
    result = await _checkin_at(client, key, clock, 2, month=4, hour_utc=22)
    (effect,) = [e for e in result["effects"] if e["type"] == "streak"]
    assert effect["unit"] == "2026-04-03" and effect["current"] == 1
    streak = await _streak(client, key)
    assert (streak["current"], streak["longest"], streak["freezes_left"]) == (1, 7, 1)


async def test_a_late_checkin_fills_its_own_day(client, make_key, clock):
    key = await make_key("admin")
    for day in (23, 24, 26):  # local 24, 25 and 27 March; the 26th is missing
        await _checkin_at(client, key, clock, day)
    assert (await _streak(client, key))["freezes_left"] == 0
    # the 26th's check-in (10:00 Berlin) arrives late, on the 27th
    late = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)
    response = await client.post("/v1/events", json=_checkin("late", late), headers=bearer(key))
    assert response.status_code == 201, response.text
    (effect,) = [e for e in response.json()["effects"] if e["type"] == "streak"]
    assert effect["unit"] == "2026-03-26" and effect["current"] == 4
    streak = await _streak(client, key)
    assert (streak["current"], streak["freezes_left"]) == (4, 1)
