"""`loyalty ledger replay --check`: every stored operation, decided again with the ruleset
version that booked it, produces exactly the stored ledger, lots, balances and game state; a
tampered ledger entry or a tampered stored ruleset is found and named.

(Every test's database also goes through the same check when the test ends: see conftest.)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import bearer, purchase, replay_problems
from processes import LOYALTY

RULES = Path(__file__).resolve().parents[1] / "rules"
BONUS = """
rules:
  - id: review-bonus
    on: review
    actions:
      - points: 75
    reason: "thanks for the review: {points} points"
"""


def _replay(database_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [*LOYALTY, "ledger", "replay", "--check", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _history(client, make_key, clock) -> None:
    """Purchases and a refund under one version, a review under a second, a hold committed,
    another timed out, a redemption and an adjustment."""
    admin = await make_key("admin", name="ops")
    checkout = await make_key("events:write", "redemptions:write", name="checkout")
    for n, member in enumerate(["alice", "bob", "carol"]):
        posted = await client.post(
            "/v1/events", json=purchase(f"p-{n}", member, "140.00"), headers=bearer(checkout)
        )
        assert posted.status_code == 201, posted.text
    clock.advance(timedelta(hours=2))
    refund = {
        "id": "r-0",
        "type": "refund",
        "member_id": "alice",
        "occurred_at": clock.now().isoformat(),
        "attributes": {"order_id": "order-p-0", "amount": "40.00"},
    }
    assert (
        await client.post("/v1/events", json=refund, headers=bearer(checkout))
    ).status_code == 201
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(RULES.glob("*.yaml"))}
    files["bonus.yaml"] = BONUS
    published = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert published.status_code == 201, published.text
    clock.advance(timedelta(days=15))  # the purchase points are spendable
    review = {
        "id": "v-1",
        "type": "review",
        "member_id": "bob",
        "occurred_at": clock.now().isoformat(),
        "attributes": {"product_id": "sku-1", "rating": 5, "has_photo": False, "text_length": 120},
    }
    assert (
        await client.post("/v1/events", json=review, headers=bearer(checkout))
    ).status_code == 201
    for key, member, hold in [
        ("h-1", "bob", True),
        ("h-2", "carol", True),
        ("k-1", "alice", False),
    ]:
        answer = await client.post(
            f"/v1/members/{member}/redemptions",
            json={"points": 100, "hold": hold},
            headers={**bearer(checkout), "Idempotency-Key": key},
        )
        assert answer.status_code == 201, answer.text
        if key == "h-1":
            committed = await client.post(
                f"/v1/redemptions/{answer.json()['id']}/commit", headers=bearer(checkout)
            )
            assert committed.status_code == 200, committed.text
    adjusted = await client.post(
        "/v1/admin/adjustments",
        json={"member_id": "carol", "points": 250, "reason": "goodwill for a late parcel"},
        headers=bearer(admin),
    )
    assert adjusted.status_code == 201, adjusted.text
    clock.advance(timedelta(hours=1))  # carol's hold times out; the next operation releases it
    again = await client.post(
        "/v1/members/carol/redemptions",
        json={"points": 50},
        headers={**bearer(checkout), "Idempotency-Key": "k-2"},
    )
    assert again.status_code == 201, again.text


async def test_a_replay_of_the_stored_history_finds_no_difference(
    client, make_key, clock, db, database_url
):
    await _history(client, make_key, clock)
    assert await replay_problems(db) == []
    done = await asyncio.to_thread(_replay, database_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "of 3 members: 0 with differences" in done.stdout
    # SQL on purpose: the history under test covers every kind of entry and two versions
    async with db.connection() as conn:
        kinds = await conn.raw.fetch("SELECT DISTINCT kind FROM ledger_entries ORDER BY kind")
        versions = await conn.raw.fetchval("SELECT count(DISTINCT ruleset_version) FROM events")
    assert versions == 2  # the history spans two published versions
    assert {r["kind"] for r in kinds} >= {"earn", "reverse", "activate", "spend", "hold", "adjust"}


@pytest.mark.no_replay  # the test tampers with the ledger on purpose
async def test_a_tampered_ledger_entry_is_found(client, make_key, clock, db, database_url):
    await _history(client, make_key, clock)
    async with db.transaction() as conn:  # tampered consistently: `ledger verify` still passes
        await conn.raw.execute("SET LOCAL session_replication_role = replica")  # no triggers
        await conn.raw.execute(
            "UPDATE ledger_entries SET points = points + 500 "
            "WHERE member_id = 'bob' AND kind = 'earn' AND rule_id = 'review-bonus'"
        )
        await conn.raw.execute(
            "UPDATE balances SET available = available + 500, "
            "lifetime_earned = lifetime_earned + 500 WHERE member_id = 'bob'"
        )
    done = await asyncio.to_thread(_replay, database_url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "bob ledger_entries" in done.stdout
    assert '"points":575' in done.stdout and '"points":75' in done.stdout
    assert "bob balances" in done.stdout
    assert "of 3 members: 1 with differences" in done.stdout
    only = await asyncio.to_thread(_replay, database_url, "--members", "alice,carol")
    assert only.returncode == 0, only.stdout  # the others are untouched


@pytest.mark.no_replay  # the test tampers with a stored ruleset on purpose
async def test_a_tampered_stored_ruleset_is_found(client, make_key, clock, db, database_url):
    await _history(client, make_key, clock)
    async with db.transaction() as conn:  # the bonus quietly raised in the stored files
        await conn.raw.execute(
            "UPDATE rulesets SET files = jsonb_set(files, '{bonus.yaml}', "
            "to_jsonb(replace(files ->> 'bonus.yaml', 'points: 75', 'points: 90'))) "
            "WHERE files ? 'bonus.yaml'"
        )
    done = await asyncio.to_thread(_replay, database_url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "its stored files hash to" in done.stdout
    assert "cannot be replayed" in done.stdout
