"""Engagement level changes are events: each move is recorded with its date, raises
`engagement_changed` (from, to) that rules react to, and the worker notices members who drift
into a lower level by time alone. Late events count on their own day."""

from __future__ import annotations

from datetime import UTC, datetime

from builders import ledger_entries, member_rows
from helpers import bearer, post, purchase, refund

from service.operations.engagement import review_engagement_due


async def _history(db, member):
    rows = sorted((await member_rows(db, member)).engagement_moves, key=lambda r: r.seq)
    return [(r.from_level, r.to_level, r.at, r.event_id) for r in rows]


async def _bonus_entries(db, member):
    entries = await ledger_entries(db, member)
    return [
        (e["points"], e["event_id"], e["reason"])
        for e in entries
        if e["rule_id"] == "re-engage-at-risk"
    ]


async def test_the_worker_notices_a_drift_by_time_alone_and_a_rule_reacts(
    client, make_key, clock, runtime, db
):
    key = await make_key("admin")
    start = clock.now()
    first = await post(
        client, key, "/v1/events", purchase("d1", "dora", "100.00", "2026-03-02T08:00:00Z")
    )
    # a member's first level is recorded, but raises nothing (nothing changed)
    assert first["engagement"] == {
        "from_level": None,
        "to_level": "moderately_engaged",
        "score": 57.5,
    }
    assert await _history(db, "dora") == [(None, "moderately_engaged", start, "d1")]

    # 40 days on the score fell but the level holds: the worker has nothing to do
    clock.set(datetime(2026, 4, 11, 9, 0, tzinfo=UTC))
    assert await review_engagement_due(runtime, clock.now()) == 0

    # 60 days on she is at risk: read at once, stored by the worker with the rule's bonus
    clock.set(datetime(2026, 5, 1, 9, 0, tzinfo=UTC))
    shown = (await client.get("/v1/members/dora", headers=bearer(key))).json()["engagement"]
    assert shown["level"] == "at_risk"
    assert await review_engagement_due(runtime, clock.now()) == 1
    history = await _history(db, "dora")
    assert history[1][:2] == ("moderately_engaged", "at_risk") and history[1][3] is None
    # the move is dated the day the level fell (53 days after the purchase, Berlin midnight),
    # noticed by the pass at now
    assert history[1][2] == clock.now()
    [engagement] = (await member_rows(db, "dora")).engagement
    due = engagement.drops_at
    assert due is not None and due > clock.now()  # at risk falls to disengaged later
    assert await _bonus_entries(db, "dora") == [
        (150, "drift:2026-05-01/engagement/at_risk", "we miss you: 150 points to come back")
    ]
    assert await review_engagement_due(runtime, clock.now()) == 0  # done once

    # a late purchase (made 40 days ago, posted now) lifts her back, named in the history
    late = await post(
        client, key, "/v1/events", purchase("d2", "dora", "30.00", "2026-03-22T08:00:00Z")
    )
    assert late["engagement"]["to_level"] == "moderately_engaged"
    assert (await _history(db, "dora"))[2][:2] == ("at_risk", "moderately_engaged")
    assert (await _history(db, "dora"))[2][3] == "d2"


async def test_an_event_that_lowers_the_level_raises_engagement_changed(
    client, make_key, clock, db
):
    key = await make_key("admin")
    await post(client, key, "/v1/events", purchase("r1", "rae", "100.00", "2026-03-02T08:00:00Z"))
    clock.set(datetime(2026, 4, 21, 9, 0, tzinfo=UTC))  # 50 days on: still moderately engaged
    shown = (await client.get("/v1/members/rae", headers=bearer(key))).json()["engagement"]
    assert shown["level"] == "moderately_engaged"
    # the whole order refunded: the spend component drops and with it the level
    result = await post(
        client, key, "/v1/events", refund("r2", "rae", "order-r1", "100.00", "2026-04-21T08:00:00Z")
    )
    assert result["engagement"]["from_level"] == "moderately_engaged"
    assert result["engagement"]["to_level"] == "at_risk"
    fired = [e for e in result["effects"] if e.get("rule_id") == "re-engage-at-risk"]
    assert [e["points"] for e in fired] == [150]
    assert await _bonus_entries(db, "rae") == [
        (150, "r2/engagement/at_risk", "we miss you: 150 points to come back")
    ]
    assert (await _history(db, "rae"))[-1][3] == "r2"


async def test_engagement_changed_cannot_be_posted(client, make_key):
    key = await make_key("admin")
    body = {
        "id": "x1",
        "type": "engagement_changed",
        "member_id": "eve",
        "occurred_at": "2026-03-02T08:00:00Z",
        "attributes": {"from": "at_risk", "to": "highly_engaged"},
    }
    problem = await post(client, key, "/v1/events", body, status=422)
    assert problem["errors"][0]["field"] == "type"
    assert "raised by the service itself" in str(problem["errors"][0])
