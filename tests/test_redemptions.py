"""Rewards, redemptions and admin adjustments, through HTTP against a real database.

Points come from purchases (pending for the 14-day return window) or from admin adjustments
(available at once). After every test each member's balances equal the sum of their entries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import ledger_entries, member_state, stock_issued
from helpers import assert_ledger_balances, bearer, member_token, purchase

from service.operations.redeem import release_expired_holds

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
EXTRA_REWARDS = """rewards:
  - id: mug
    name: Northwind mug
    cost: 100
    stock: 1
  - id: gift-card
    name: Partner gift card
    cost: 200
    coupon:
      codes: ["GC-AAA", "GC-BBB", "GC-CCC"]
"""


@pytest.fixture(autouse=True)
async def ledger_balances_after(db):
    """After each test, every balance equals the sum of its member's ledger entries."""
    yield
    await assert_ledger_balances(db)


@pytest.fixture
async def admin(make_key) -> str:
    return await make_key("admin", name="ops-anna")


@pytest.fixture
async def checkout(make_key) -> str:
    return await make_key("redemptions:write", "events:write", "members:read", name="checkout")


@pytest.fixture
async def catalog(client, admin) -> None:
    """The demo program plus a mug with one unit of stock and a gift card with a code pool."""
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(RULES_DIR.glob("*.yaml"))}
    assert "\nrewards:\n" in files["program.yaml"]
    files["program.yaml"] = files["program.yaml"].replace("\nrewards:\n", "\n" + EXTRA_REWARDS)
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 201, response.text


async def give(client: Any, admin: str, member_id: str, points: int, reason: str = "goodwill"):
    response = await client.post(
        "/v1/admin/adjustments",
        json={"member_id": member_id, "points": points, "reason": reason},
        headers=bearer(admin),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def redeem(
    client: Any, token: str, member_id: str, body: dict[str, Any], key: str = "k-1"
) -> Any:
    return await client.post(
        f"/v1/members/{member_id}/redemptions",
        json=body,
        headers={**bearer(token), "Idempotency-Key": key},
    )


async def balances(client: Any, token: str, member_id: str) -> dict[str, int]:
    response = await client.get(f"/v1/members/{member_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    result: dict[str, int] = response.json()["balances"]
    return result


def worker_runtime(client: Any, db: Any) -> Any:
    """The app's runtime on the test's own database pool (the app's pool is on its loop)."""
    return dataclasses.replace(client.app.state.app.runtime, db=db)


# -- redeeming ----------------------------------------------------------------------------------


async def test_purchase_points_redeem_a_reward_after_the_return_window(client, checkout, clock, db):
    posted = await client.post(
        "/v1/events", json=purchase("e-1", "alice", "130.00"), headers=bearer(checkout)
    )
    assert posted.status_code == 201, posted.text
    earned = posted.json()["earned"]
    assert earned >= 1200

    pending = await redeem(client, checkout, "alice", {"reward_id": "tote-bag"})
    assert pending.status_code == 422
    assert pending.json()["code"] == "insufficient_points"

    clock.advance(timedelta(days=15))
    response = await redeem(client, checkout, "alice", {"reward_id": "tote-bag"}, key="k-2")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reward_id"] == "tote-bag"
    assert body["points"] == 1200
    assert body["status"] == "committed"
    assert body["member_id"] == "alice"
    assert body["replay"] is False
    assert body["balances"]["available"] == earned - 1200
    assert body["balances"]["lifetime_spent"] == 1200
    spends = [e for e in await ledger_entries(db, "alice") if e["kind"] == "spend"]
    assert [(e["points"], e["redemption_id"], e["actor"]) for e in spends] == [
        (-1200, body["id"], "checkout")
    ]


async def test_checkout_spend_keeps_its_reference(client, admin, checkout):
    await give(client, admin, "bob", 1000)
    response = await redeem(
        client, checkout, "bob", {"points": 750, "reference": "order-123"}, key="pay-1"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["reward_id"], body["points"], body["reference"]) == (None, 750, "order-123")
    assert body["coupon_code"] is None and body["hold_expires_at"] is None
    assert body["balances"]["available"] == 250


async def test_points_are_spent_from_the_oldest_lot_first(client, admin, checkout, clock, db):
    first = await give(client, admin, "carol", 100, "first lot")
    clock.advance(timedelta(hours=1))
    second = await give(client, admin, "carol", 100, "second lot")
    response = await redeem(client, checkout, "carol", {"points": 150})
    assert response.status_code == 201, response.text
    spent = [
        (e["lot_id"], e["points"])
        for e in await ledger_entries(db, "carol")
        if e["kind"] == "spend"
    ]
    assert spent == [(first["adjustment_id"], -100), (second["adjustment_id"], -50)]
    state = await member_state(db, "carol", lot_ids=(first["adjustment_id"],))
    lots = {lot.lot_id: lot.remaining for lot in state.lots}
    assert lots == {first["adjustment_id"]: 0, second["adjustment_id"]: 50}


async def test_the_same_idempotency_key_spends_once(client, admin, checkout, db):
    await give(client, admin, "dave", 1000)
    first = await redeem(client, checkout, "dave", {"points": 300}, key="order-9")
    again = await redeem(client, checkout, "dave", {"points": 300}, key="order-9")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["replay"] is True
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["balances"]["available"] == 700
    assert len([e for e in await ledger_entries(db, "dave") if e["kind"] == "spend"]) == 1

    other = await redeem(client, checkout, "dave", {"points": 301}, key="order-9")
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_a_missing_idempotency_key_is_400_naming_it(client, checkout):
    response = await client.post(
        "/v1/members/erin/redemptions", json={"points": 10}, headers=bearer(checkout)
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    for bad in ("", "k" * 129):
        refused = await redeem(client, checkout, "erin", {"points": 10}, key=bad)
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "reward_id"),
        ({"reward_id": "tote-bag", "points": 5}, 400, "points"),
        ({"points": 0}, 400, "points"),
        ({"points": "ten"}, 400, "points"),
        ({"reward_id": "yacht"}, 422, "reward_id"),
        ({"points": 10, "colour": "red"}, 400, "colour"),
    ],
)
async def test_a_bad_redemption_names_the_field(client, checkout, body, status, field):
    response = await redeem(client, checkout, "erin", body)
    assert response.status_code == status, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.text


async def test_concurrent_redemptions_never_spend_the_same_points(client, admin, checkout, db):
    await give(client, admin, "frank", 500)

    async def attempt(n: int) -> int:
        response = await redeem(client, checkout, "frank", {"points": 300}, key=f"c-{n}")
        return response.status_code

    statuses = await asyncio.gather(*(attempt(n) for n in range(200)))
    assert statuses.count(201) == 1
    assert statuses.count(422) == 199
    assert (await balances(client, checkout, "frank"))["available"] == 200


async def test_the_last_unit_of_stock_goes_to_one_member(client, admin, checkout, catalog, db):
    members = [f"m{n}" for n in range(20)]
    for member_id in members:
        await give(client, admin, member_id, 100)

    statuses = await asyncio.gather(
        *(redeem(client, checkout, m, {"reward_id": "mug"}) for m in members)
    )
    codes = sorted(r.status_code for r in statuses)
    assert codes == [201] + [409] * 19
    assert {r.json()["code"] for r in statuses if r.status_code == 409} == {"out_of_stock"}
    assert (await stock_issued(db))["mug"] == 1
    shown = (await client.get("/v1/rewards", headers=bearer(checkout))).json()
    mug = next(r for r in shown["rewards"] if r["id"] == "mug")
    assert (mug["stock"], mug["stock_left"]) == (1, 0)


async def test_the_per_member_limit_counts_held_and_committed(client, admin, checkout):
    await give(client, admin, "gina", 5000)
    first = await redeem(client, checkout, "gina", {"reward_id": "tote-bag", "hold": True})
    assert first.status_code == 201, first.text
    second = await redeem(client, checkout, "gina", {"reward_id": "tote-bag"}, key="k-2")
    assert second.status_code == 422
    assert second.json()["code"] == "per_member_limit_reached"
    cancelled = await client.post(
        f"/v1/redemptions/{first.json()['id']}/cancel", headers=bearer(checkout)
    )
    assert cancelled.status_code == 200, cancelled.text
    third = await redeem(client, checkout, "gina", {"reward_id": "tote-bag"}, key="k-3")
    assert third.status_code == 201, third.text


# -- holds --------------------------------------------------------------------------------------


async def test_a_hold_reserves_points_until_committed(client, admin, checkout, db):
    await give(client, admin, "hank", 1000)
    held = await redeem(client, checkout, "hank", {"points": 400, "hold": True})
    assert held.status_code == 201, held.text
    body = held.json()
    assert body["status"] == "held"
    assert body["hold_expires_at"] == "2026-03-02T09:15:00Z"
    assert (body["balances"]["available"], body["balances"]["held"]) == (600, 400)

    committed = await client.post(f"/v1/redemptions/{body['id']}/commit", headers=bearer(checkout))
    assert committed.status_code == 200, committed.text
    assert committed.json()["status"] == "committed"
    assert committed.json()["balances"]["held"] == 0
    assert committed.json()["balances"]["lifetime_spent"] == 400

    again = await client.post(f"/v1/redemptions/{body['id']}/commit", headers=bearer(checkout))
    assert again.status_code == 200 and again.json()["replay"] is True
    cancel = await client.post(f"/v1/redemptions/{body['id']}/cancel", headers=bearer(checkout))
    assert cancel.status_code == 409
    assert cancel.json()["code"] == "redemption_committed"
    kinds = [(e["kind"], e["balance"], e["points"]) for e in await ledger_entries(db, "hank")]
    assert kinds[-2:] == [("hold", "available", -400), ("spend", "held", -400)]


async def test_cancelling_a_hold_gives_the_points_back(client, admin, checkout):
    await give(client, admin, "iris", 1000)
    held = (await redeem(client, checkout, "iris", {"points": 400, "hold": True})).json()
    cancelled = await client.post(f"/v1/redemptions/{held['id']}/cancel", headers=bearer(checkout))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["balances"]["available"] == 1000
    assert cancelled.json()["balances"]["held"] == 0
    again = await client.post(f"/v1/redemptions/{held['id']}/cancel", headers=bearer(checkout))
    assert again.status_code == 200 and again.json()["replay"] is True
    commit = await client.post(f"/v1/redemptions/{held['id']}/commit", headers=bearer(checkout))
    assert commit.status_code == 409
    assert commit.json()["code"] == "redemption_cancelled"


async def test_a_timed_out_hold_is_released_by_the_worker(client, admin, checkout, clock, db):
    await give(client, admin, "jack", 1000)
    held = (await redeem(client, checkout, "jack", {"points": 400, "hold": True})).json()
    runtime = worker_runtime(client, db)
    assert await release_expired_holds(runtime, clock.now()) == 0
    now = clock.advance(timedelta(minutes=16))
    assert await release_expired_holds(runtime, now) == 1
    assert await release_expired_holds(runtime, now) == 0
    after = await balances(client, checkout, "jack")
    assert (after["available"], after["held"]) == (1000, 0)

    commit = await client.post(f"/v1/redemptions/{held['id']}/commit", headers=bearer(checkout))
    assert commit.status_code == 409
    assert commit.json()["code"] == "hold_expired"
    listed = await client.get("/v1/members/jack/redemptions", headers=bearer(checkout))
    assert listed.json()["redemptions"][0]["status"] == "expired"


async def publish_hold_timeout(client: Any, admin: str, minutes: int) -> None:
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(RULES_DIR.glob("*.yaml"))}
    old = "hold_timeout_minutes: 15"
    assert old in files["program.yaml"]
    files["program.yaml"] = files["program.yaml"].replace(old, f"hold_timeout_minutes: {minutes}")
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code in (200, 201), response.text


async def test_a_released_hold_names_its_own_timeout(client, admin, checkout, clock, db):
    """A hold placed under a 1-minute timeout says so when released, whatever the timeout of the
    ruleset in force at release (here the demo's 15 minutes, published meanwhile)."""
    await publish_hold_timeout(client, admin, 1)
    await give(client, admin, "hugo", 1000)
    await redeem(client, checkout, "hugo", {"points": 400, "hold": True})
    await publish_hold_timeout(client, admin, 15)
    now = clock.advance(timedelta(minutes=2))
    assert await release_expired_holds(worker_runtime(client, db), now) == 1
    released = [e for e in await ledger_entries(db, "hugo") if e["kind"] == "release"]
    assert [e["reason"] for e in released] == ["hold released: not committed within 1 minute"]
    await give(client, admin, "hana", 1000)
    await redeem(client, checkout, "hana", {"points": 400, "hold": True})
    now = clock.advance(timedelta(minutes=16))
    assert await release_expired_holds(worker_runtime(client, db), now) == 1
    released = [e for e in await ledger_entries(db, "hana") if e["kind"] == "release"]
    assert [e["reason"] for e in released] == ["hold released: not committed within 15 minutes"]


async def test_the_hold_release_pass_skips_a_member_someone_has_locked(
    client, admin, checkout, clock, db
):
    await give(client, admin, "jill", 1000)
    await redeem(client, checkout, "jill", {"points": 400, "hold": True})
    runtime = worker_runtime(client, db)
    now = clock.advance(timedelta(minutes=16))
    async with db.transaction() as busy:  # an event being booked for jill holds her lock
        await busy.raw.execute("SELECT 1 FROM members WHERE member_id = 'jill' FOR UPDATE")
        assert await release_expired_holds(runtime, now) == 0  # skipped, not queued
    assert await release_expired_holds(runtime, now) == 1


async def test_committing_after_the_timeout_releases_the_hold(client, admin, checkout, clock):
    await give(client, admin, "kim", 1000)
    held = (await redeem(client, checkout, "kim", {"points": 400, "hold": True})).json()
    clock.advance(timedelta(minutes=15))
    commit = await client.post(f"/v1/redemptions/{held['id']}/commit", headers=bearer(checkout))
    assert commit.status_code == 409
    assert commit.json()["code"] == "hold_expired"
    after = await balances(client, checkout, "kim")
    assert (after["available"], after["held"]) == (1000, 0)
    cancel = await client.post(f"/v1/redemptions/{held['id']}/cancel", headers=bearer(checkout))
    assert cancel.status_code == 200
    assert cancel.json()["status"] == "expired"


async def test_listing_releases_timed_out_holds_first(client, admin, checkout, clock):
    await give(client, admin, "lars", 1000)
    await redeem(client, checkout, "lars", {"points": 400, "hold": True})
    clock.advance(timedelta(minutes=30))
    listed = await client.get("/v1/members/lars/redemptions", headers=bearer(checkout))
    assert listed.status_code == 200, listed.text
    assert [r["status"] for r in listed.json()["redemptions"]] == ["expired"]
    after = await balances(client, checkout, "lars")
    assert (after["available"], after["held"]) == (1000, 0)


async def test_a_hold_on_a_lot_that_expired_meanwhile_gives_back_a_fresh_lot(
    client, admin, checkout, clock, db
):
    lot = await give(client, admin, "lena", 500)
    clock.advance(timedelta(days=365) - timedelta(minutes=5))
    held = (await redeem(client, checkout, "lena", {"points": 500, "hold": True})).json()
    now = clock.advance(timedelta(minutes=20))
    assert await release_expired_holds(worker_runtime(client, db), now) == 1
    fresh_id = f"{lot['adjustment_id']}@{held['id']}"
    state = await member_state(db, "lena", lot_ids=(fresh_id,))
    assert [fresh.remaining for fresh in state.lots if fresh.lot_id == fresh_id] == [500]


async def test_unknown_and_malformed_redemption_ids_are_404(client, checkout):
    for redemption_id in ("nope", "rd_0123456789abcdef.Ym9i", "rd_0123456789abcdef.!!"):
        response = await client.post(
            f"/v1/redemptions/{redemption_id}/commit", headers=bearer(checkout)
        )
        assert response.status_code == 404, (redemption_id, response.text)


# -- coupons ------------------------------------------------------------------------------------


async def test_generated_coupon_codes_are_unique(client, admin, checkout):
    codes = []
    for n in range(5):
        await give(client, admin, f"v{n}", 500)
        response = await redeem(client, checkout, f"v{n}", {"reward_id": "voucher-5-eur"})
        assert response.status_code == 201, response.text
        codes.append(response.json()["coupon_code"])
    assert all(re.fullmatch(r"NW5-[A-Z0-9]{8}", code) for code in codes), codes
    assert len(set(codes)) == 5


async def test_pool_codes_are_issued_once_and_return_when_a_hold_is_cancelled(
    client, admin, checkout, catalog
):
    members = ["p1", "p2", "p3", "p4"]
    for member_id in members:
        await give(client, admin, member_id, 400)
    first = await redeem(client, checkout, "p1", {"reward_id": "gift-card", "hold": True})
    assert first.status_code == 201, first.text
    assert first.json()["coupon_code"] is None  # reserved, shown once committed
    issued = []
    for member_id in members[1:3]:
        response = await redeem(client, checkout, member_id, {"reward_id": "gift-card"})
        assert response.status_code == 201, response.text
        issued.append(response.json()["coupon_code"])
    empty = await redeem(client, checkout, "p4", {"reward_id": "gift-card"})
    assert empty.status_code == 409
    assert empty.json()["code"] == "out_of_stock"

    await client.post(f"/v1/redemptions/{first.json()['id']}/cancel", headers=bearer(checkout))
    last = await redeem(client, checkout, "p4", {"reward_id": "gift-card"}, key="k-2")
    assert last.status_code == 201, last.text
    issued.append(last.json()["coupon_code"])
    assert sorted(issued) == ["GC-AAA", "GC-BBB", "GC-CCC"]


# -- listing, catalog and access ----------------------------------------------------------------


async def test_a_members_redemptions_newest_first_with_a_cursor(client, admin, checkout, clock):
    await give(client, admin, "nina", 1000)
    ids = []
    for n in range(3):
        clock.advance(timedelta(minutes=1))
        ids.append(
            (await redeem(client, checkout, "nina", {"points": 10}, key=f"k{n}")).json()["id"]
        )
    page = (
        await client.get("/v1/members/nina/redemptions?limit=2", headers=bearer(checkout))
    ).json()
    assert [r["id"] for r in page["redemptions"]] == [ids[2], ids[1]]
    rest = await client.get(
        f"/v1/members/nina/redemptions?limit=2&cursor={page['next_cursor']}",
        headers=bearer(checkout),
    )
    assert [r["id"] for r in rest.json()["redemptions"]] == [ids[0]]
    assert rest.json()["next_cursor"] is None
    bad = await client.get("/v1/members/nina/redemptions?cursor=zzz", headers=bearer(checkout))
    assert bad.status_code == 400


async def test_a_member_token_redeems_for_itself_only(client, admin, make_key):
    minter = await make_key("members:token")
    await give(client, admin, "olga", 1000)
    token = await member_token(client, minter, "olga")
    own = await redeem(client, token, "olga", {"reward_id": "free-shipping"})
    assert own.status_code == 201, own.text
    other = await redeem(client, token, "pete", {"reward_id": "free-shipping"})
    assert other.status_code == 403
    mine = await client.get("/v1/me/redemptions", headers=bearer(token))
    assert [r["id"] for r in mine.json()["redemptions"]] == [own.json()["id"]]
    assert (
        await client.get("/v1/members/pete/redemptions", headers=bearer(token))
    ).status_code == 403
    commit = await client.post(f"/v1/redemptions/{own.json()['id']}/commit", headers=bearer(token))
    assert commit.status_code == 403


async def test_the_catalog_is_open_to_any_credential(client, make_key):
    minter = await make_key("members:token")
    token = await member_token(client, minter, "quinn")
    for credential in (minter, token):
        response = await client.get("/v1/rewards", headers=bearer(credential))
        assert response.status_code == 200, response.text
        tote = next(r for r in response.json()["rewards"] if r["id"] == "tote-bag")
        assert tote == {
            "id": "tote-bag",
            "name": "Northwind canvas tote bag",
            "cost": 1200,
            "stock": 100,
            "stock_left": 100,
            "per_member_limit": 1,
            "coupon": False,
        }
    assert (await client.get("/v1/rewards")).status_code == 401


async def test_redeeming_needs_the_redemptions_scope(client, make_key):
    reader = await make_key("members:read")
    response = await redeem(client, reader, "rita", {"points": 10})
    assert response.status_code == 403


# -- admin adjustments --------------------------------------------------------------------------


async def test_adjustments_add_and_remove_with_the_admin_as_actor(client, admin, db):
    added = await give(client, admin, "sam", 300, "apology for a late delivery")
    assert added["actor"] == "ops-anna"
    assert added["balances"]["available"] == 300
    assert [(e["kind"], e["points"]) for e in added["entries"]] == [("adjust", 300)]
    removed = await give(client, admin, "sam", -120, "duplicate goodwill")
    assert removed["balances"]["available"] == 180
    assert [(e["kind"], e["balance"], e["points"]) for e in removed["entries"]] == [
        ("adjust", "available", -120)
    ]
    rows = await ledger_entries(db, "sam")
    assert {e["actor"] for e in rows} == {"ops-anna"}
    assert "apology for a late delivery" in rows[0]["reason"]


async def test_removing_more_than_available_is_422(client, admin):
    await give(client, admin, "tess", 100)
    response = await client.post(
        "/v1/admin/adjustments",
        json={"member_id": "tess", "points": -101, "reason": "oops"},
        headers=bearer(admin),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_points"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"member_id": "u", "points": 0, "reason": "none"}, "points"),
        ({"member_id": "u", "points": 5, "reason": "no"}, "reason"),
        ({"member_id": "u", "points": 5}, "reason"),
        ({"member_id": "bad id", "points": 5, "reason": "why"}, "member_id"),
    ],
)
async def test_a_bad_adjustment_is_400_naming_the_field(client, admin, body, field):
    response = await client.post("/v1/admin/adjustments", json=body, headers=bearer(admin))
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_adjustments_need_the_admin_scope(client, checkout):
    response = await client.post(
        "/v1/admin/adjustments",
        json={"member_id": "uma", "points": 5, "reason": "because"},
        headers=bearer(checkout),
    )
    assert response.status_code == 403


async def test_an_adjustment_with_an_idempotency_key_books_once(client, admin, db):
    body = {"member_id": "vera", "points": 50, "reason": "survey"}
    headers = {**bearer(admin), "Idempotency-Key": "survey-vera"}
    first = await client.post("/v1/admin/adjustments", json=body, headers=headers)
    again = await client.post("/v1/admin/adjustments", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["replay"] is True
    assert again.json()["adjustment_id"] == first.json()["adjustment_id"]
    assert len(await ledger_entries(db, "vera")) == 1
    other = await client.post("/v1/admin/adjustments", json={**body, "points": 51}, headers=headers)
    assert other.status_code == 409
