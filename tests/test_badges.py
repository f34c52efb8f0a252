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


_ONE_BADGE_PROGRAM = """\
program:
  name: Badges
  timezone: UTC
badges:
  - {id: shopper, name: Shopper}
"""
_TWO_GRANTS = """\
rules:
  - id: first
    on: purchase
    actions: [{badge: shopper}]
  - id: second
    on: purchase
    actions: [{badge: shopper}, {points: 3}]
"""


async def test_two_rules_granting_one_badge_grant_it_once(client, make_key):
    admin = await make_key("admin", "members:read")
    published = await client.post(
        "/v1/admin/rules",
        json={"files": {"program.yaml": _ONE_BADGE_PROGRAM, "r.yaml": _TWO_GRANTS}},
        headers=bearer(admin),
    )
    assert published.status_code == 201, published.text
    event = {
        "id": "e1",
        "type": "purchase",
        "member_id": "mia",
        "occurred_at": "2026-03-02T08:00:00Z",
        "attributes": {"order_id": "o1", "amount": "5.00", "currency": "EUR"},
    }
    response = await client.post("/v1/events", json=event, headers=bearer(admin))
    assert response.status_code == 201, response.text
    body = response.json()
    grants = [e for e in body["effects"] if e["type"] == "badge"]
    assert [(g["rule_id"], g["badge"]) for g in grants] == [("first", "shopper")]
    assert body["badges"] == ["shopper"] and body["earned"] == 3
    badges = await client.get("/v1/members/mia/badges", headers=bearer(admin))
    assert [b["id"] for b in badges.json()["badges"]] == ["shopper"], badges.text
