"""A JSON body means what it says once: duplicate keys, other media types and numbers or
booleans written as strings are refused with a problem document naming the field, and nothing
of the request is booked."""

from __future__ import annotations

import json

from helpers import bearer, purchase

JSON = {"Content-Type": "application/json"}


async def _still_fine(client, key, member_id: str) -> None:
    normal = purchase(f"after-{member_id}", member_id, "10")
    answer = await client.post("/v1/events", json=normal, headers=bearer(key))
    assert answer.status_code == 201, answer.text
    assert answer.json()["points"] == 100  # nothing else was booked before


def _field(answer) -> str:
    assert answer.headers["content-type"] == "application/problem+json", answer.text
    return str(answer.json()["errors"][0]["field"])


DUPLICATED = [
    (
        "/v1/events",
        '{"id": "e1", "type": "purchase", "member_id": "ann", "occurred_at": '
        '"2026-03-02T08:00:00Z", "attributes": {"order_id": "o-1", "amount": "10", '
        '"currency": "EUR", "amount": "99999"}}',
        "attributes.amount",
    ),
    (
        "/v1/events",
        '{"id": "e1", "member_id": "ann", "type": "purchase", "occurred_at": '
        '"2026-03-02T08:00:00Z", "member_id": "bob", "attributes": {"order_id": "o-1", '
        '"amount": "10", "currency": "EUR"}}',
        "member_id",
    ),
    (
        "/v1/events/batch",
        '{"events": [{"id": "e1", "type": "purchase", "member_id": "ann", "occurred_at": '
        '"2026-03-02T08:00:00Z", "attributes": {"order_id": "o-1", "amount": "10", '
        '"currency": "EUR", "items": [{"sku": "A", "quantity": 1, "quantity": 900}]}}]}',
        "events[0].attributes.items[0].quantity",
    ),
    (
        "/v1/admin/adjustments",
        '{"member_id": "ann", "points": -5, "reason": "goodwill", "points": 500}',
        "points",
    ),
]


async def test_duplicate_keys_are_refused_naming_the_field(client, make_key):
    key = await make_key("events:write", "admin")
    headers = {**bearer(key), **JSON, "Idempotency-Key": "k1"}
    for path, text, field in DUPLICATED:
        answer = await client.post(path, content=text.encode(), headers=headers)
        assert answer.status_code == 400, answer.text
        assert _field(answer) == field
        assert answer.json()["code"] == "duplicate_key"
        assert "more than once" in answer.json()["detail"]
    await _still_fine(client, key, "ann")


async def test_a_json_body_needs_a_json_content_type(client, make_key):
    key = await make_key("events:write")
    body = json.dumps(purchase("e1", "cid", "10")).encode()
    for content_type in [None, "text/plain", "application/x-www-form-urlencoded", "json"]:
        headers = {**bearer(key), **({"Content-Type": content_type} if content_type else {})}
        answer = await client.post("/v1/events", content=body, headers=headers)
        assert answer.status_code == 415, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "application/json" in answer.json()["detail"]
    await _still_fine(client, key, "cid")
    for n, content_type in enumerate(
        ["application/json; charset=utf-8", "APPLICATION/JSON", "application/ld+json"]
    ):
        body = json.dumps(purchase(f"e{n}", "dee", "10")).encode()
        answer = await client.post(
            "/v1/events", content=body, headers={**bearer(key), "Content-Type": content_type}
        )
        assert answer.status_code == 201, answer.text


STRINGLY = [
    (
        "POST",
        "/v1/admin/adjustments",
        {"member_id": "eve", "points": "1", "reason": "why"},
        "points",
    ),
    (
        "POST",
        "/v1/admin/adjustments",
        {"member_id": "eve", "points": 1.0, "reason": "why"},
        "points",
    ),
    ("POST", "/v1/members/eve/redemptions", {"points": "1"}, "points"),
    ("POST", "/v1/members/eve/redemptions", {"points": 1, "hold": "true"}, "hold"),
    ("PUT", "/v1/members/eve", {"hidden": "true"}, "hidden"),
    ("PUT", "/v1/members/eve", {"hidden": 1}, "hidden"),
    (
        "POST",
        "/v1/admin/rules/dry-run",
        {"event": purchase("d1", "eve", "10"), "member": {"counters": {"purchases": "3"}}},
        "member.counters.purchases",
    ),
]


async def test_numbers_and_booleans_are_not_read_from_strings(client, make_key):
    key = await make_key("events:write", "admin")
    headers = {**bearer(key), "Idempotency-Key": "k1"}
    for method, path, body, field in STRINGLY:
        answer = await client.request(method, path, json=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert _field(answer) == field
        assert "Expected" in answer.json()["detail"]
    await _still_fine(client, key, "eve")


async def test_amounts_with_spaces_or_other_digits_are_refused(client, make_key):
    key = await make_key("events:write")
    # Arabic-Indic twelve, twelve fifty; full-width twelve; a no-break space
    odd = ["\u0661\u0662", "\u0661\u0662.\u0665\u0660", "\uff11\uff12", "12\u00a0"]
    for amount in [" 12.50", "12.50 ", "1 2", *odd]:
        answer = await client.post(
            "/v1/events", json=purchase("e1", "fox", amount), headers=bearer(key)
        )
        assert answer.status_code == 422, answer.text
        assert _field(answer) == "attributes.amount"
    # amounts stay decimals written as strings (or numbers), as documented
    for n, written in enumerate(["12.50", 12.5]):
        body = purchase(f"ok{n}", "fox", "10")
        body["attributes"]["amount"] = written
        assert (await client.post("/v1/events", json=body, headers=bearer(key))).status_code == 201


async def test_a_body_that_is_not_utf8_is_a_4xx_never_a_500(client, make_key):
    """The fuzz found it: bytes that are not UTF-8 where the schema fails made the duplicate-key
    check raise, and the route answered 500."""
    key = await make_key("events:write", "admin")
    headers = {**bearer(key), **JSON, "Idempotency-Key": "k-utf8"}
    bodies = [b'{"files": 5, "x": "\xff"}', b'{"event": "\xc3\x28"}', b'{"\xff": 1}']
    for path in ("/v1/admin/rules/dry-run", "/v1/admin/rules", "/v1/admin/adjustments"):
        for body in bodies:
            answer = await client.post(path, content=body, headers=headers)
            assert 400 <= answer.status_code < 500, (path, body, answer.text)
    await _still_fine(client, key, "ann")
