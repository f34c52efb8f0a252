"""Challenges: the weekly "three big baskets" completes once per week, pays through the ledger,
and a late purchase lands in the week it happened."""

from __future__ import annotations

from datetime import UTC, datetime

from builders import member_state
from helpers import bearer, catch_up, post, purchase


def _completion_points(result):
    return [
        e
        for e in result["effects"]
        if e["type"] == "points" and e["rule_id"] == "challenge:three-big-baskets"
    ]


async def test_weekly_challenge_completes_once_per_week(client, make_key, clock, db):
    key = await make_key("admin")
    # week 10 (Mon 2 March 2026): three baskets of 50+ complete it, a fourth does nothing more
    for day, amount in ((2, "60.00"), (3, "20.00"), (4, "75.00"), (5, "50.00")):
        at = f"2026-03-{day:02d}T10:00:00Z"
        result = await post(
            client, key, "/v1/events", catch_up(clock, purchase(f"w10-{day}", "alice", amount, at))
        )
    assert _completion_points(result) == [
        {
            "type": "points",
            "rule_id": "challenge:three-big-baskets",
            "ruleset_version": result["ruleset_version"],
            "points": 300,
            "reason": "completed challenge Three big baskets (2026-W10)",
            "budget": None,
        }
    ]
    assert result["challenges"][0]["completed"] is True
    extra = await post(
        client,
        key,
        "/v1/events",
        catch_up(clock, purchase("w10-6", "alice", "90.00", "2026-03-06T10:00:00Z")),
    )
    assert extra["challenges"] == [] and _completion_points(extra) == []
    # week 11: the challenge starts over and completes again
    clock.set(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    for day in (9, 10, 11):
        at = f"2026-03-{day:02d}T12:00:00Z"
        result = await post(
            client, key, "/v1/events", catch_up(clock, purchase(f"w11-{day}", "alice", "55.00", at))
        )
    assert _completion_points(result)[0]["reason"].endswith("(2026-W11)")
    view = (await client.get("/v1/members/alice/challenges", headers=bearer(key))).json()
    assert [(c["id"], c["window_key"]) for c in view["completed"]] == [
        ("three-big-baskets", "2026-W11"),
        ("three-big-baskets", "2026-W10"),
    ]
    active = {c["id"]: c for c in view["active"]}
    assert "three-big-baskets" not in active  # done for this week
    review = active["monthly-reviewer"]
    assert (review["step"], review["steps"], review["progress"], review["target"]) == (1, 2, 0, 1)
    assert review["ends_at"] == "2026-03-31T22:00:00Z"  # 1 April 00:00 Berlin (summer time)
    assert review["seconds_left"] == int(
        (datetime(2026, 3, 31, 22, tzinfo=UTC) - clock.now()).total_seconds()
    )
    lots = (await member_state(db, "alice")).lots
    assert sorted(lot.lot_id for lot in lots if lot.rule_id == "challenge:three-big-baskets") == [
        "w10-5/challenge:three-big-baskets",
        "w11-11/challenge:three-big-baskets",
    ]


async def test_a_late_purchase_lands_in_the_week_it_happened(client, make_key, clock):
    key = await make_key("admin")
    await post(client, key, "/v1/events", purchase("a", "bob", "60.00", "2026-03-02T10:00:00Z"))
    await post(
        client,
        key,
        "/v1/events",
        catch_up(clock, purchase("b", "bob", "60.00", "2026-03-03T10:00:00Z")),
    )
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))  # week 11 now
    result = await post(
        client, key, "/v1/events", purchase("c", "bob", "60.00", "2026-03-08T20:00:00Z")
    )
    # Sunday 8 March 21:00 Berlin is still week 10: the late basket completes week 10
    assert result["challenges"][0]["window_key"] == "2026-W10"
    assert _completion_points(result)[0]["reason"].endswith("(2026-W10)")
    view = (await client.get("/v1/members/bob/challenges", headers=bearer(key))).json()
    active = {c["id"]: c for c in view["active"]}
    assert active["three-big-baskets"]["window_key"] == "2026-W11"
    assert active["three-big-baskets"]["progress"] == 0


async def test_multi_step_review_challenge_goes_step_by_step(client, make_key):
    key = await make_key("admin")

    def review(event_id, photo):
        return {
            "id": event_id,
            "type": "review",
            "member_id": "cleo",
            "occurred_at": "2026-03-02T08:00:00Z",
            "attributes": {"product_id": "P", "rating": 5, "has_photo": photo, "text_length": 9},
        }

    first = await post(client, key, "/v1/events", review("r1", True))  # step 1 (any review) done
    assert first["challenges"][0]["step"] == 2 and not first["challenges"][0]["completed"]
    second = await post(client, key, "/v1/events", review("r2", False))  # step 2 needs a photo
    assert second["challenges"] == []
    third = await post(client, key, "/v1/events", review("r3", True))
    assert third["challenges"][0]["completed"] is True
    assert third["challenges"][0]["step"] == 2  # a completed challenge stays on its last step
    assert any(e.get("rule_id") == "challenge:monthly-reviewer" for e in third["effects"])


async def test_an_event_answer_and_the_challenge_list_number_steps_alike_from_1(client, make_key):
    """ "Step 1 of 2" is step 1 in the event's answer, its effect and `GET .../challenges`."""
    key = await make_key("admin")
    body = {
        "id": "r1",
        "type": "review",
        "member_id": "dora",
        "occurred_at": "2026-03-02T08:00:00Z",
        "attributes": {"product_id": "P", "rating": 5, "has_photo": False, "text_length": 9},
    }
    answer = await post(
        client, key, "/v1/events", body
    )  # the first review: step 1 done, on step 2 now
    (moved,) = [c for c in answer["challenges"] if c["challenge"] == "monthly-reviewer"]
    (effect,) = [e for e in answer["effects"] if e["rule_id"] == "challenge:monthly-reviewer"]
    assert effect["reason"] == "Review of the month (2026-03): step 2 of 2, 0 of 1"
    view = (await client.get("/v1/members/dora/challenges", headers=bearer(key))).json()
    (listed,) = [c for c in view["active"] if c["id"] == "monthly-reviewer"]
    assert moved["step"] == effect["step"] == listed["step"] == 2
    assert (listed["steps"], listed["step_name"]) == (2, "then a review with a photo")
