"""One meaning of time: an event is decided as of its `occurred_at`, from what the member had done
by then, however late it is posted (docs/api.md, "Time")."""

from __future__ import annotations

from datetime import UTC, date, datetime

from helpers import bearer, post, purchase


def _checkin(event_id: str, day: date) -> dict:
    at = datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC)  # 09:00 in Berlin (summer)
    return {"id": event_id, "type": "checkin", "member_id": "lena", "occurred_at": at.isoformat()}


def _streak_effect(result: dict) -> dict:
    (effect,) = [e for e in result["effects"] if e["type"] == "streak"]
    return effect


def _points_by_rule(result: dict) -> dict[str, int]:
    return {e["rule_id"]: e["points"] for e in result["effects"] if e["type"] == "points"}


async def test_late_checkins_build_a_streak_on_their_own_days(client, make_key, clock):
    key = await make_key("admin")
    clock.set(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))  # the week of 4-10 May is posted in June
    results = []
    for n in range(7):
        results.append(
            await post(client, key, "/v1/events", _checkin(f"may-{n}", date(2026, 5, 4 + n)))
        )
    assert [_streak_effect(r)["current"] for r in results] == [1, 2, 3, 4, 5, 6, 7]
    assert "7-day streak" in _streak_effect(results[-1])["reason"]
    assert _points_by_rule(results[-1]) == {"streak:daily-checkin": 100}
    assert "streak-week" in results[-1]["badges"]
    assert all(not _points_by_rule(r) for r in results[:-1])
    body = (await client.get("/v1/members/lena", headers=bearer(key))).json()
    (streak,) = body["streaks"]
    assert (streak["current"], streak["longest"]) == (0, 7)  # as of today (June), it is over


async def test_a_late_checkin_that_joins_two_runs_pays_the_joined_run_once(client, make_key, clock):
    key = await make_key("admin")
    # 2 June is frozen (June's one freeze); 4-9 June missed; then 10-12 and 14-16 June
    days = [date(2026, 6, d) for d in (1, 3, 10, 11, 12, 14, 15, 16)]
    for day in days:  # posted as they happen
        clock.set(datetime(day.year, day.month, day.day, 7, 30, tzinfo=UTC))
        result = await post(client, key, "/v1/events", _checkin(f"live-{day}", day))
    assert _streak_effect(result)["current"] == 3  # no freeze left for 13 June
    clock.set(datetime(2026, 6, 17, 7, 0, tzinfo=UTC))
    late = await post(client, key, "/v1/events", _checkin("late-13", date(2026, 6, 13)))
    effect = _streak_effect(late)
    assert (effect["unit"], effect["current"]) == ("2026-06-13", 7)  # 10-16 June, one run
    assert "7-day streak" in effect["reason"]
    assert _points_by_rule(late) == {"streak:daily-checkin": 100}
    assert "streak-week" in late["badges"]
    # the next day continues the joined run, and pays nothing again
    clock.set(datetime(2026, 6, 17, 8, 0, tzinfo=UTC))
    nxt = await post(client, key, "/v1/events", _checkin("live-17", date(2026, 6, 17)))
    assert _streak_effect(nxt)["current"] == 8
    assert not _points_by_rule(nxt)
    # a late day that lengthens the paid run from its start does not pay it again either
    clock.set(datetime(2026, 6, 18, 8, 0, tzinfo=UTC))
    early = await post(client, key, "/v1/events", _checkin("late-9", date(2026, 6, 9)))
    assert _streak_effect(early)["current"] == 9
    assert not _points_by_rule(early)
    body = (await client.get("/v1/members/lena", headers=bearer(key))).json()
    (streak,) = body["streaks"]
    assert (streak["current"], streak["longest"]) == (9, 9)


async def test_back_dated_purchases_measure_recency_at_their_own_time(client, make_key, clock):
    key = await make_key("admin")
    clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))  # last spring's orders imported in autumn
    first = await post(
        client, key, "/v1/events", purchase("p1", "imre", "20.00", "2026-03-02T10:00:00Z")
    )
    second = await post(
        client, key, "/v1/events", purchase("p2", "imre", "20.00", "2026-03-03T10:00:00Z")
    )
    assert "win-back" not in _points_by_rule(first)
    assert "win-back" not in _points_by_rule(second)
    # imported out of order: the day before the member's latest known purchase
    third = await post(
        client, key, "/v1/events", purchase("p3", "imre", "20.00", "2026-03-01T10:00:00Z")
    )
    assert "win-back" not in _points_by_rule(third)


async def test_win_back_pays_on_the_purchase_that_came_back_even_out_of_order(
    client, make_key, clock
):
    key = await make_key("admin")
    clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    await post(client, key, "/v1/events", purchase("p1", "ines", "20.00", "2026-01-02T10:00:00Z"))
    june = await post(
        client, key, "/v1/events", purchase("p2", "ines", "20.00", "2026-06-10T10:00:00Z")
    )
    assert _points_by_rule(june)["win-back"] == 200  # 159 days after 2 January
    # posted after June's, an April purchase is measured to 2 January (118 days): it came back
    april = await post(
        client, key, "/v1/events", purchase("p3", "ines", "20.00", "2026-04-30T10:00:00Z")
    )
    assert _points_by_rule(april)["win-back"] == 200
    # and a purchase a week after April's is not a return, though June's is younger than it
    may = await post(
        client, key, "/v1/events", purchase("p4", "ines", "20.00", "2026-05-07T10:00:00Z")
    )
    assert "win-back" not in _points_by_rule(may)


async def test_late_events_in_one_batch_see_each_other_in_order(client, make_key, clock):
    key = await make_key("admin")
    clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    await post(client, key, "/v1/events", purchase("p0", "olga", "20.00", "2025-10-01T10:00:00Z"))
    await post(client, key, "/v1/events", purchase("p1", "olga", "20.00", "2026-08-20T10:00:00Z"))
    days = ["2026-02-01", "2026-03-05", "2026-04-07"]  # a month apart: caps do not interfere
    events = [purchase(f"b{n}", "olga", "20.00", f"{day}T10:00:00Z") for n, day in enumerate(days)]
    response = await client.post("/v1/events/batch", json={"events": events}, headers=bearer(key))
    assert response.status_code == 200, response.text
    results = [item["result"] for item in response.json()["results"]]
    # February's is 123 days after October's; March's and April's follow the one before them
    assert [("win-back" in _points_by_rule(r)) for r in results] == [True, False, False]
