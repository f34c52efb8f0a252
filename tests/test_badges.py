"""Levelled badges: the reviewer badge reaches bronze at 1 review and silver at 10, each level
once with its date, and shows the progress to gold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers import bearer


def _review(event_id: str, at: str) -> dict:
    return {
        "id": event_id,
        "type": "review",
        "member_id": "rita",
        "occurred_at": at,
        "attributes": {"product_id": event_id, "rating": 4, "has_photo": False, "text_length": 50},
    }


async def test_reviewer_badge_levels_up_once_per_level(client, make_key, clock):
    key = await make_key("admin")
    granted = []
    for i in range(11):
        at = datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(days=i)
        clock.set(at)
        response = await client.post(
            "/v1/events", json=_review(f"r{i}", at.isoformat()), headers=bearer(key)
        )
        assert response.status_code == 201, response.text
        granted.append(
            [
                (e["badge"], e["level"], e["level_name"])
                for e in response.json()["effects"]
                if e["type"] == "badge"
            ]
        )
    assert granted[0] == [("first-review", 0, None), ("reviewer", 1, "bronze")]
    assert granted[9] == [("reviewer", 2, "silver")]
    assert all(g == [] for g in granted[1:9] + granted[10:])
    body = (await client.get("/v1/members/rita/badges", headers=bearer(key))).json()
    badges = {b["id"]: b for b in body["badges"]}
    assert badges["first-review"]["earned_at"] == "2026-03-02T09:00:00Z"
    reviewer = badges["reviewer"]
    assert (reviewer["level"], reviewer["level_name"], reviewer["counter"]) == (2, "silver", 11)
    assert [(lv["name"], lv["earned_at"]) for lv in reviewer["levels"]] == [
        ("bronze", "2026-03-02T09:00:00Z"),
        ("silver", "2026-03-11T09:00:00Z"),
        ("gold", None),
    ]
    assert reviewer["next"] == {"level": 3, "name": "gold", "threshold": 50, "missing": 39}
    # the member's own token reads the same
    token = (await client.post("/v1/members/rita/tokens", headers=bearer(key))).json()["token"]
    mine = (await client.get("/v1/me/badges", headers=bearer(token))).json()
    assert mine == body
