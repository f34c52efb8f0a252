"""The engagement score through the API: kept per member from their daily activity, computed as
of now (the clock moves, no worker runs), read by rules, shown on the member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers import bearer, get, member_token, post, purchase


async def _engagement(client, key, member):
    return (await get(client, key, f"/v1/members/{member}"))["engagement"]


def _demo_score(days_since: float, purchases: list[tuple[float, float]]) -> float:
    """The demo program's score by hand: recency 50 (half-life 80 days), frequency 25 (10
    events, 30 days), spend 15 (300 EUR, 60 days), reviews 10; `purchases` are (age, amount)."""
    recency = 0.5 ** (days_since / 80)
    frequency = min(1.0, sum(0.5 ** (age / 30) for age, _ in purchases) / 10)
    spend = min(1.0, sum(amount * 0.5 ** (age / 60) for age, amount in purchases) / 300)
    return round(50 * recency + 25 * frequency + 15 * spend, 2)


async def test_the_score_decays_as_the_clock_moves_and_rules_read_the_level(
    client, make_key, clock
):
    key = await make_key("admin")
    await post(client, key, "/v1/events", purchase("e1", "erin", "100.00", "2026-03-02T08:00:00Z"))
    now = await _engagement(client, key, "erin")
    assert now["score"] == _demo_score(0, [(0, 100)]) == 57.5
    assert now["level"] == "moderately_engaged" and now["level_name"] == "Moderately engaged"
    assert now["as_of"] == "2026-03-02"
    parts = {c["id"]: c for c in now["components"]}
    assert parts["recency"] == {
        "id": "recency",
        "kind": "recency",
        "value": 0.0,
        "share": 1.0,
        "points": 50.0,
        "weight": 50.0,
    }
    assert parts["spend"]["value"] == 100.0 and parts["spend"]["points"] == 5.0
    # one more purchase (counted as 50 EUR) would add 2.5 frequency and 2.5 spend points; a
    # first review adds 2.5 frequency and 10/3 review points: more
    assert now["raise_most"] == {
        "event_type": "review",
        "component": "reviews",
        "points": 5.83,
        "hint": "a review today would add 5.83 points to the score",
    }

    # 60 days later, read as of then: nothing was written, no worker ran
    clock.set(datetime(2026, 5, 1, 9, 0, tzinfo=UTC))
    later = await _engagement(client, key, "erin")
    assert later["score"] == _demo_score(60, [(60, 100)]) == 32.86
    assert later["level"] == "at_risk"

    # a rule reads the level: the demo's win-back bonus on the next purchase
    result = await post(
        client, key, "/v1/events", purchase("e2", "erin", "10.00", "2026-05-01T08:00:00Z")
    )
    assert "win-back" in {e.get("rule_id") for e in result["effects"]}
    after = await _engagement(client, key, "erin")
    assert after["score"] == _demo_score(0, [(60, 100), (0, 10)])


async def test_a_late_event_counts_on_its_own_day(client, make_key, clock):
    key = await make_key("admin")
    clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))
    await post(client, key, "/v1/events", purchase("l1", "lena", "30.00", "2026-03-20T08:00:00Z"))
    # arrives now, happened 18 days ago
    await post(client, key, "/v1/events", purchase("l0", "lena", "60.00", "2026-03-02T08:00:00Z"))
    shown = await _engagement(client, key, "lena")
    assert shown["score"] == _demo_score(0, [(0, 30), (18, 60)])
    # a member who had both on time scores the same
    await post(client, key, "/v1/events", purchase("o0", "otto", "60.00", "2026-03-02T08:00:00Z"))
    await post(client, key, "/v1/events", purchase("o1", "otto", "30.00", "2026-03-20T08:00:00Z"))
    assert (await _engagement(client, key, "otto"))["score"] == shown["score"]


async def test_a_member_reads_their_own_engagement(client, make_key, clock):
    key = await make_key("admin")
    await post(client, key, "/v1/events", purchase("m1", "mia", "20.00", "2026-03-01T08:00:00Z"))
    token = await member_token(client, key, "mia")
    response = await client.get("/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    engagement = response.json()["engagement"]
    assert engagement["level"] == "moderately_engaged"
    clock.set(clock.now() + timedelta(days=200))
    token = await member_token(client, key, "mia")  # tokens are short-lived
    engagement = (await client.get("/v1/me", headers=bearer(token))).json()["engagement"]
    assert engagement["level"] == "disengaged" and engagement["score"] < 12
