"""A rule that fails at run time for an event is recorded as failed for that event: named with
the reason in the answer and counted in a metric; the event's other rules still run (issue 14
R2)."""

from __future__ import annotations

from helpers import bearer

PROGRAM = """\
program:
  name: Failures
  timezone: UTC
member_attributes:
  tags: list<string>
"""
RULES = """\
rules:
  - id: divides-by-zero
    on: purchase
    when: "1 / (event.amount > 0.0 ? 0 : 1) == 1"
    actions: [{points: 5}]
  - id: builds-too-much
    on: purchase
    actions: [{attribute: {name: tags, value: 'event.items.map(i, string(i.sku))'}}]
  - id: earns
    on: purchase
    actions: [{points: 7}]
"""


async def test_a_failing_rule_is_named_in_the_answer_and_counted_and_the_others_run(
    client, make_key
):
    admin = await make_key("admin")
    published = await client.post(
        "/v1/admin/rules",
        json={"files": {"program.yaml": PROGRAM, "r.yaml": RULES}},
        headers=bearer(admin),
    )
    assert published.status_code == 201, published.text
    key = await make_key("events:write")
    item = {"sku": "s" * 300, "category": "c", "quantity": 1, "price": "1.00"}
    event = {
        "id": "e-1",
        "type": "purchase",
        "member_id": "alice",
        "occurred_at": "2026-03-02T09:00:00Z",
        "attributes": {"order_id": "A-1", "amount": "10.00", "currency": "EUR", "items": [item]},
    }
    response = await client.post("/v1/events", json=event, headers=bearer(key))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["earned"] == 7
    failed = {f["rule_id"]: f["reason"] for f in body["failed_rules"]}
    assert set(failed) == {"divides-by-zero", "builds-too-much"}
    assert "divide by zero" in failed["divides-by-zero"]
    assert "attribute value too large" in failed["builds-too-much"]
    again = await client.post("/v1/events", json=event, headers=bearer(key))
    assert again.json()["failed_rules"] == body["failed_rules"]  # the replay answers the same
    text = (await client.get("/metrics")).text
    assert 'loyalty_rule_failures_total{rule="divides-by-zero"} 1.0' in text  # not the replay
    assert 'loyalty_rule_failures_total{rule="builds-too-much"} 1.0' in text
    assert "loyalty_event_decide_seconds_count 2.0" in text  # the replay is decided too


GAME = """\
challenges:
  - id: odd-baskets
    name: Odd baskets
    every: week
    steps:
      - on: purchase
        when: "1 / (event.amount > 0.0 ? 0 : 1) == 1"
        count: 2
    reward: {points: 50}
streaks:
  - id: shopping-days
    name: Shopping days
    on: [purchase]
    when: "1 / (event.amount > 0.0 ? 0 : 1) == 1"
    unit: day
    milestones:
      - {length: 2, points: 10}
"""


async def test_a_challenge_or_streak_condition_that_fails_is_reported_too(client, make_key):
    """Challenges and streaks are not rules, but their conditions fail the same way: not
    counted, and named in `failed_rules` with the reason, so nobody wonders why."""
    admin = await make_key("admin")
    published = await client.post(
        "/v1/admin/rules",
        json={"files": {"program.yaml": PROGRAM, "r.yaml": RULES, "game.yaml": GAME}},
        headers=bearer(admin),
    )
    assert published.status_code == 201, published.text
    key = await make_key("events:write")
    event = {
        "id": "e-2",
        "type": "purchase",
        "member_id": "bob",
        "occurred_at": "2026-03-02T09:00:00Z",
        "attributes": {"order_id": "B-1", "amount": "10.00", "currency": "EUR"},
    }
    response = await client.post("/v1/events", json=event, headers=bearer(key))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["earned"] == 7 and body["challenges"] == []
    failed = {f["rule_id"]: f["reason"] for f in body["failed_rules"]}
    assert "challenge:odd-baskets" in failed and "divide by zero" in failed["challenge:odd-baskets"]
    assert "streak:shopping-days" in failed


async def test_a_dry_runs_made_up_member_is_checked_as_a_stored_member_is(client, make_key):
    """A list attribute's strings have the bound a plain string has (256 characters) in a dry
    run's made-up member too, as on a stored member, so a dry run never tries a value the
    service would refuse to keep."""
    admin = await make_key("admin")
    published = await client.post(
        "/v1/admin/rules",
        json={"files": {"program.yaml": PROGRAM, "r.yaml": RULES}},
        headers=bearer(admin),
    )
    assert published.status_code == 201, published.text
    event = {
        "type": "purchase",
        "member_id": "carl",
        "occurred_at": "2026-03-02T09:00:00Z",
        "attributes": {"order_id": "C-1", "amount": "1", "currency": "EUR"},
    }
    dry = await client.post(
        "/v1/admin/rules/dry-run",
        json={"event": event, "member": {"attributes": {"tags": ["ok", "t" * 300]}}},
        headers=bearer(admin),
    )
    assert dry.status_code == 422, dry.text
    assert dry.json()["errors"][0]["field"] == "member.attributes.tags"
    typo = await client.post(
        "/v1/admin/rules/dry-run",
        json={"event": event, "member": {"attributes": {"tgs": ["ok"]}}},
        headers=bearer(admin),
    )
    assert typo.status_code == 422, typo.text
    assert "did you mean 'tags'" in typo.json()["errors"][0]["reason"]
