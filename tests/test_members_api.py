"""Member search and the single reads: what an integrator reaches for after the event intake."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import bearer, member_token, purchase


@pytest.fixture
async def server(make_key) -> dict[str, str]:
    return bearer(await make_key("members:read", "members:write", "events:write", "members:token"))


async def _member(client, auth, member_id: str, **profile) -> None:
    response = await client.put(f"/v1/members/{member_id}", json=profile, headers=auth)
    assert response.status_code == 200, response.text


async def test_search_by_id_prefix_name_attribute_and_tier(client, server):
    await _member(
        client, server, "shop-anna", display_name="Anna Berg", attributes={"region": "north"}
    )
    await _member(
        client, server, "shop-anton", display_name="anton Ek", attributes={"region": "south"}
    )
    await _member(
        client, server, "web-bea", display_name="Bea Anders", attributes={"region": "north"}
    )
    big = purchase("e-big", "web-bea", "300.00")
    assert (await client.post("/v1/events", json=big, headers=server)).status_code == 201

    async def ids(**params) -> list[str]:
        response = await client.get("/v1/members", params=params, headers=server)
        assert response.status_code == 200, response.text
        return [m["member_id"] for m in response.json()["members"]]

    assert await ids(id_prefix="shop-") == ["shop-anna", "shop-anton"]
    assert await ids(name="an") == ["shop-anna", "shop-anton"]  # case-insensitive prefix
    assert await ids(attribute="region", value="north") == ["shop-anna", "web-bea"]
    assert await ids(attribute="region", value="north", name="bea") == ["web-bea"]
    assert await ids(tier="silver") == ["web-bea"]  # 3,000 points earned this year
    assert await ids(id_prefix="nobody") == []
    page = (await client.get("/v1/members", params={"id_prefix": "web-"}, headers=server)).json()
    bea = page["members"][0]
    assert bea["display_name"] == "Bea Anders" and bea["tier"] == "silver"
    assert bea["events"] == 1 and bea["last_active_at"] is not None


async def test_search_by_engagement_and_last_activity(client, server, clock, runtime):
    """The engagement filter finds the level each member's own read shows, once the worker
    has recorded what time alone did (its pass runs every few seconds in a service)."""
    from service.operations.engagement import review_engagement_due

    for name in ("m-1", "m-2", "m-3"):
        await _member(client, server, name)
    for i in range(5):
        body = purchase(f"e-{i}", "m-1", "90.00")
        assert (await client.post("/v1/events", json=body, headers=server)).status_code == 201
    old = purchase("e-old", "m-2", "10.00")
    assert (await client.post("/v1/events", json=old, headers=server)).status_code == 201
    clock.advance(timedelta(days=60))
    recent = purchase("e-new", "m-1", "90.00", occurred_at=clock.now().isoformat())
    assert (await client.post("/v1/events", json=recent, headers=server)).status_code == 201
    await review_engagement_due(runtime, clock.now())

    async def ids(**params) -> list[str]:
        response = await client.get("/v1/members", params=params, headers=server)
        assert response.status_code == 200, response.text
        return [m["member_id"] for m in response.json()["members"]]

    shown = {}
    for name in ("m-1", "m-2", "m-3"):
        member = (await client.get(f"/v1/members/{name}", headers=server)).json()
        shown[name] = member["engagement"]["level"]
    assert shown == {"m-1": "highly_engaged", "m-2": "at_risk", "m-3": "disengaged"}
    for level in ("highly_engaged", "moderately_engaged", "at_risk", "disengaged"):
        assert await ids(engagement=level) == [m for m, lv in shown.items() if lv == level]
    found = (await client.get("/v1/members", params={"id_prefix": "m-"}, headers=server)).json()
    assert {m["member_id"]: m["engagement"] for m in found["members"]} == shown
    refused = await client.get("/v1/members", params={"engagement": "bored"}, headers=server)
    assert refused.status_code == 400 and "engagement" in refused.text
    since = (clock.now() - timedelta(days=1)).isoformat()
    assert await ids(active_after=since) == ["m-1"]
    assert await ids(active_before=since) == ["m-2", "m-3"]


async def test_search_pages_with_a_cursor(client, server):
    for i in range(7):
        await _member(client, server, f"p-{i}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"id_prefix": "p-", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/members", params=params, headers=server)).json()
        seen += [m["member_id"] for m in page["members"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"p-{i}" for i in range(7)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"attribute": "region"}, "value"),
        ({"value": "north"}, "attribute"),
        ({"attribute": "regoin", "value": "north"}, "attribute"),
        ({"attribute": "newsletter", "value": "maybe"}, "value"),
        ({"tier": "diamond"}, "tier"),
        ({"engagement": "bored"}, "engagement"),
        ({"limit": "0"}, "limit"),
        ({"id_prefix": "bad prefix"}, "id_prefix"),
        ({"active_after": "yesterday"}, "active_after"),
    ],
)
async def test_a_bad_search_names_its_field(client, server, params, field):
    response = await client.get("/v1/members", params=params, headers=server)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == field, problem


async def test_one_event_with_what_it_did(client, server, make_key):
    body = purchase("e-1", "alice", "25.00")
    assert (await client.post("/v1/events", json=body, headers=server)).status_code == 201
    response = await client.get("/v1/members/alice/events/e-1", headers=server)
    assert response.status_code == 200, response.text
    event = response.json()
    assert event["type"] == "purchase" and event["attributes"]["amount"] == "25.00"
    assert event["result"]["earned"] == 250 and event["result"]["replay"] is False
    token = await member_token(client, await make_key("members:token"), "alice")
    mine = await client.get("/v1/members/alice/events/e-1", headers=bearer(token))
    assert mine.status_code == 200 and mine.json() == event
    missing = await client.get("/v1/members/alice/events/e-2", headers=server)
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "event_id"


async def test_one_redemption_by_id(client, make_key):
    admin = bearer(await make_key("admin"))
    grant = {"member_id": "alice", "points": 1000, "reason": "welcome gift"}
    assert (
        await client.post("/v1/admin/adjustments", json=grant, headers=admin)
    ).status_code == 201
    token = await member_token(client, await make_key("members:token"), "alice")
    redeemed = await client.post(
        "/v1/members/alice/redemptions",
        json={"reward_id": "free-shipping"},
        headers={**bearer(token), "Idempotency-Key": "r-1"},
    )
    assert redeemed.status_code == 201, redeemed.text
    rid = redeemed.json()["id"]
    for auth in (bearer(token), admin):
        response = await client.get(f"/v1/redemptions/{rid}", headers=auth)
        assert response.status_code == 200, response.text
        assert response.json()["reward_id"] == "free-shipping"
    bob = await member_token(client, await make_key("members:token"), "bob")
    assert (await client.get(f"/v1/redemptions/{rid}", headers=bearer(bob))).status_code == 403
    unknown = await client.get("/v1/redemptions/rd_0000000000000000.YWxpY2U", headers=admin)
    assert unknown.status_code == 404


async def test_leaderboards_list_with_current_periods(client, server):
    response = await client.get("/v1/leaderboards", headers=server)
    assert response.status_code == 200, response.text
    boards = {b["id"]: b for b in response.json()["leaderboards"]}
    assert boards["weekly-points"]["current_period"] == "2026-W10"
    assert boards["weekly-points"]["starts_at"] == "2026-03-01T23:00:00Z"  # Monday, Berlin
    assert boards["monthly-points-by-region"]["segment"] == "region"
    assert boards["top-reviewers"]["current_period"] == "all"
    assert boards["top-reviewers"]["ends_at"] is None


async def test_catalog_lists_badges_not_yet_earned(client, server, make_key):
    review = {
        "id": "rv-1",
        "type": "review",
        "member_id": "alice",
        "occurred_at": "2026-03-02T08:00:00Z",
        "attributes": {
            "product_id": "TSHIRT-1",
            "rating": 5,
            "has_photo": False,
            "text_length": 80,
        },
    }
    response = await client.post("/v1/events", json=review, headers=server)
    assert response.status_code == 201, response.text
    token = await member_token(client, await make_key("members:token"), "alice")
    for url, auth in (("/v1/members/alice/catalog", server), ("/v1/me/catalog", bearer(token))):
        catalog = (await client.get(url, headers=auth)).json()
        badges = {b["id"]: b for b in catalog["badges"]}
        assert len(badges) == 5 and catalog["badges_earned"] == sum(
            b["earned"] for b in badges.values()
        )
        assert badges["big-spender"]["earned"] is False
        assert badges["big-spender"]["earned_at"] is None
        reviewer = badges["reviewer"]
        assert reviewer["earned"] is True and reviewer["counter"] == 1
        assert reviewer["next"] == {"level": 2, "name": "silver", "threshold": 10, "missing": 9}
        assert [lv["name"] for lv in reviewer["levels"]] == ["bronze", "silver", "gold"]
        assert {s["id"] for s in catalog["streaks"]}
        assert all("seconds_left" in c for c in catalog["challenges"])
    missing = await client.get("/v1/members/nobody/catalog", headers=server)
    assert missing.status_code == 404
