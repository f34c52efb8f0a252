"""Values that pass a loose check and then break a member for good are refused at the edge,
with a 4xx naming the field; the member still accepts a normal event afterwards."""

from __future__ import annotations

import pytest
from helpers import bearer, purchase


async def _still_fine(client, key, member_id: str) -> None:
    normal = purchase(f"after-{member_id[:20]}", member_id, "10")
    answer = await client.post("/v1/events", json=normal, headers=bearer(key))
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("member_id", ["alice\n", "A" * 128 + "\n"])
async def test_a_member_id_with_a_trailing_newline_is_refused(client, make_key, member_id):
    key = await make_key("events:write", "admin")
    answer = await client.post(
        "/v1/events", json=purchase("e1", member_id, "10"), headers=bearer(key)
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["field"] == "member_id"
    adjustment = {"member_id": member_id, "points": 5, "reason": "goodwill"}
    answer = await client.post("/v1/admin/adjustments", json=adjustment, headers=bearer(key))
    assert answer.status_code == 400, answer.text
    batch = {"events": [purchase("b1", "bob", "10"), purchase("b2", member_id, "10")]}
    answer = await client.post("/v1/events/batch", json=batch, headers=bearer(key))
    assert answer.status_code == 400, answer.text  # a malformed body is refused whole, cheaply


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("12345678901234.5678", "at most"),
        ("9999999999999", "at most"),
        ("-5", "more than 0"),
        ("0", "more than 0"),
    ],
)
async def test_purchase_amounts_out_of_bounds_are_refused(client, make_key, amount, reason):
    key = await make_key("events:write")
    answer = await client.post(
        "/v1/events", json=purchase("e1", "carol", amount), headers=bearer(key)
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "attributes.amount"
    assert reason in answer.json()["detail"]
    await _still_fine(client, key, "carol")


async def test_a_refund_of_zero_or_less_says_so(client, make_key):
    key = await make_key("events:write")
    assert (
        await client.post("/v1/events", json=purchase("p1", "dan", "90"), headers=bearer(key))
    ).status_code == 201
    for amount in ("-5", "0"):
        refund = {
            "id": f"r{amount}",
            "type": "refund",
            "member_id": "dan",
            "occurred_at": "2026-03-02T08:30:00Z",
            "attributes": {"order_id": "order-p1", "amount": amount},
        }
        answer = await client.post("/v1/events", json=refund, headers=bearer(key))
        assert answer.status_code == 422, answer.text
        assert "more than 0" in answer.json()["detail"], answer.text


async def test_a_purchase_in_another_currency_is_refused(client, make_key):
    key = await make_key("events:write")
    body = purchase("e1", "erin", "10")
    body["attributes"]["currency"] = "USD"
    answer = await client.post("/v1/events", json=body, headers=bearer(key))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "attributes.currency"
    assert "EUR" in answer.json()["detail"]


@pytest.mark.parametrize(
    "occurred_at",
    [
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+14:00",
        "1999-12-31T23:59:59Z",
        "2026-03-04T09:00:01Z",
    ],
)
async def test_dates_outside_the_accepted_span_are_refused(client, make_key, occurred_at):
    # the test clock stands at 2026-03-02T09:00Z; 24 hours of skew are allowed
    key = await make_key("events:write", "admin")
    body = purchase("e1", "fay", "10", occurred_at=occurred_at)
    answer = await client.post("/v1/events", json=body, headers=bearer(key))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "occurred_at"
    answer = await client.post("/v1/events/batch", json={"events": [body]}, headers=bearer(key))
    assert answer.status_code == 200 and answer.json()["results"][0]["status"] == 422
    dry = {"event": body, "member_id": "fay"}
    answer = await client.post("/v1/admin/rules/dry-run", json=dry, headers=bearer(key))
    assert answer.status_code == 422, answer.text
    await _still_fine(client, key, "fay")


async def test_a_day_ahead_is_still_accepted(client, make_key):
    key = await make_key("events:write")
    body = purchase("e1", "gus", "10", occurred_at="2026-03-03T08:59:00Z")
    assert (await client.post("/v1/events", json=body, headers=bearer(key))).status_code == 201


async def test_member_attributes_are_checked_against_the_program(client, make_key):
    key = await make_key("members:write", "events:write")
    for attributes, field in (
        ({"regon": "north"}, "attributes.regon"),
        ({"newsletter": "yes"}, "attributes.newsletter"),
        ({"region": "x" * 8000}, "attributes.region"),
    ):
        answer = await client.put(
            "/v1/members/hal", json={"attributes": attributes}, headers=bearer(key)
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == field, answer.text
    answer = await client.put(
        "/v1/members/hal", json={"attributes": {"regon": "north"}}, headers=bearer(key)
    )
    assert "did you mean 'region'" in answer.json()["detail"]
    ok = await client.put(
        "/v1/members/hal",
        json={"attributes": {"region": "north", "newsletter": True}},
        headers=bearer(key),
    )
    assert ok.status_code == 200, ok.text
    await _still_fine(client, key, "hal")


@pytest.mark.parametrize("birthday", ["0001-01-01", "9999-12-31", "1899-12-31", "2026-03-03"])
async def test_a_birthday_that_cannot_be_is_refused(client, make_key, birthday):
    # the driver would store date.min and date.max as -infinity and infinity
    key = await make_key("members:write", "events:write", "members:read")
    answer = await client.put("/v1/members/ida", json={"birthday": birthday}, headers=bearer(key))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "birthday"
    # refused whole: the PUT did not create the member it names
    assert (await client.get("/v1/members/ida", headers=bearer(key))).status_code == 404
    await _still_fine(client, key, "ida")


@pytest.mark.parametrize("cursor", ["²", "١٢", "1²", "-1", "1e3"])
async def test_a_ledger_cursor_in_other_digits_is_refused(client, make_key, cursor):
    key = await make_key("events:write", "members:read")
    await _still_fine(client, key, "ledgerer")
    response = await client.get(
        "/v1/members/ledgerer/ledger", params={"cursor": cursor}, headers=bearer(key)
    )
    assert response.status_code in (400, 422), response.text
    assert response.json()["errors"][0]["field"] == "cursor"
