"""Referrals: a code links a friend on signup; the friend's first qualifying purchase rewards
both sides in one transaction; refunding it takes both rewards back; nobody refers themselves."""

from __future__ import annotations

from builders import ledger_entries
from helpers import bearer, post, purchase, refund


def _signup(event_id, member, code):
    return {
        "id": event_id,
        "type": "signup",
        "member_id": member,
        "occurred_at": "2026-03-02T08:00:00Z",
        "attributes": {"referral_code": code},
    }


async def _balances(client, key, member):
    return (await client.get(f"/v1/members/{member}", headers=bearer(key))).json()["balances"]


async def test_two_sided_referral_and_its_reversal_on_refund(client, make_key, db):
    key = await make_key("admin")
    await client.put("/v1/members/ann", json={"display_name": "Ann"}, headers=bearer(key))
    first = (await client.get("/v1/members/ann/referral", headers=bearer(key))).json()
    again = (await client.get("/v1/members/ann/referral", headers=bearer(key))).json()
    code = first["code"]
    assert len(code) == 8 and again["code"] == code
    assert (first["referrer_points"], first["referee_points"]) == (500, 250)

    linked = await post(client, key, "/v1/events", _signup("s1", "bob", code.lower()))
    assert linked["referral"] == "referred by ann"
    small = await post(client, key, "/v1/events", purchase("p0", "bob", "10.00"))  # below 20 EUR
    assert small["referral"] is None and small["earned"] == 100
    bought = await post(client, key, "/v1/events", purchase("p1", "bob", "40.00", order_id="o-1"))
    assert bought["earned"] == 650  # 400 + 250 welcome
    assert bought["referral"] == "referral rewarded: 250 points here, 500 to ann"
    assert (await _balances(client, key, "ann"))["pending"] == 500
    second = await post(client, key, "/v1/events", purchase("p2", "bob", "40.00"))
    assert second["earned"] == 400  # rewarded once

    view = (await client.get("/v1/members/ann/referral", headers=bearer(key))).json()
    assert view["rewarded"] == 1 and view["referees"][0]["points"] == 500
    bob_view = (await client.get("/v1/members/bob/referral", headers=bearer(key))).json()
    assert bob_view["referred_by"] == "ann"

    # half of the purchase comes back: half of both rewards goes back with it
    half = await post(client, key, "/v1/events", refund("f1", "bob", "o-1", "20.00"))
    assert half["reversed"] == 325
    assert half["referral"] == "referral reward reversed: 250 points taken back from the referrer"
    rest = await post(client, key, "/v1/events", refund("f2", "bob", "o-1", "20.00"))
    assert rest["reversed"] == 325
    ann = await _balances(client, key, "ann")
    assert (ann["pending"], ann["available"]) == (0, 0)
    entries = await ledger_entries(db, "ann")
    assert [(e["kind"], e["points"]) for e in entries] == [
        ("earn", 500),
        ("reverse", -250),
        ("reverse", -250),
    ]
    assert "bob, whom you referred" in entries[0]["reason"]
    assert "refund on bob's order o-1" in entries[1]["reason"]


async def test_no_self_referral_and_one_referrer_per_referee(client, make_key):
    key = await make_key("admin")
    for member in ("ann", "cat"):
        await client.put(f"/v1/members/{member}", json={}, headers=bearer(key))
    ann = (await client.get("/v1/members/ann/referral", headers=bearer(key))).json()["code"]
    cat = (await client.get("/v1/members/cat/referral", headers=bearer(key))).json()["code"]
    own = await post(client, key, "/v1/events", _signup("s1", "ann", ann))
    assert own["referral"] == "referral not linked: a member cannot refer themselves"
    assert (await post(client, key, "/v1/events", _signup("s2", "dan", ann)))[
        "referral"
    ] == "referred by ann"
    twice = await post(client, key, "/v1/events", _signup("s3", "dan", cat))
    assert twice["referral"] == "referral not linked: the member was already referred"
    body = purchase("p1", "eve", "30.00")
    await post(client, key, "/v1/events", body)
    late = purchase("p2", "eve", "30.00")
    late["attributes"]["referral_code"] = cat
    assert (await post(client, key, "/v1/events", late))["referral"] == (
        "referral not linked: a referral code links only on the member's first purchase"
    )
