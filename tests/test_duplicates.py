"""Duplicates at scale: 10,000 events each delivered twice, concurrently and out of order, give
exactly the balances of delivering each once.

The app runs a program of its own (a rules folder in a temporary directory: one rule, 10 points
per EUR, no tiers, caps or return window), so that every member's balance is the sum of their
events whatever the order, and a reference model computes it from the events alone.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict

import pytest
from helpers import assert_ledger_balances, bearer

EVENTS = 10_000
MEMBERS = 400
CONCURRENCY = 8
BATCH = 250
SINGLES = 40

PROGRAM = """\
program:
  name: Duplicates
  timezone: UTC
"""
EARN = """\
rules:
  - id: earn
    on: purchase
    actions:
      - points: floor(event.amount * 10.0)
    reason: "{points} points"
"""


@pytest.fixture
def settings_overrides(tmp_path):
    (tmp_path / "program.yaml").write_text(PROGRAM)
    (tmp_path / "earn.yaml").write_text(EARN)
    return {
        "rules_dir": str(tmp_path),
        "api_key_cache_seconds": 60,
        "db_pool_min": 4,
        "db_pool_max": 16,
        "db_timeout_seconds": 60,
        "rate_limit_per_minute": 0,
        "rate_limit_events_per_minute": 0,
    }


def _events(rng: random.Random) -> list[dict]:
    return [
        {
            "id": f"ev-{i}",
            "type": "purchase",
            "member_id": f"m{rng.randrange(MEMBERS)}",
            "occurred_at": f"2026-03-0{1 + rng.randrange(2)}T{rng.randrange(24):02}:00:00Z",
            "attributes": {
                "order_id": f"o-{i}",
                "amount": str(rng.randrange(1, 500)),  # whole euros: exact in a double
                "currency": "EUR",
            },
        }
        for i in range(EVENTS)
    ]


@pytest.mark.slow
async def test_every_event_twice_out_of_order_counts_once(client, make_key, db):
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    events = _events(rng)
    deliveries = events + events
    rng.shuffle(deliveries)
    key = await make_key("events:write")
    chunks: list[tuple[str, list[dict]]] = []
    at = 0
    while at < len(deliveries):
        kind = "batch" if rng.random() < 0.6 else "single"
        size = BATCH if kind == "batch" else SINGLES
        chunks.append((kind, deliveries[at : at + size]))
        at += size
    statuses: Counter[int] = Counter()
    queue: asyncio.Queue[tuple[str, list[dict]]] = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)

    async def post(path: str, body: dict) -> dict:
        for attempt in range(5):
            response = await client.post(path, json=body, headers=bearer(key), timeout=120)
            if response.status_code < 500:
                return response.json()
            await asyncio.sleep(0.2 * (attempt + 1))  # a checkout retries a 503
        raise AssertionError(f"{path}: {response.status_code} {response.text}")

    async def sender() -> None:
        while not queue.empty():
            kind, chunk = queue.get_nowait()
            if kind == "batch":
                result = await post("/v1/events/batch", {"events": chunk})
                statuses.update(item["status"] for item in result["results"])
            else:
                for event in chunk:
                    replay = (await post("/v1/events", event))["replay"]
                    statuses[200 if replay else 201] += 1

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    print(f"seed {seed}: {len(deliveries)} deliveries in {elapsed:.1f} s; statuses {statuses}")

    assert statuses == {201: EVENTS, 200: EVENTS}, (seed, statuses)
    expected: dict[str, int] = defaultdict(int)  # the reference model: each event once
    for event in events:
        expected[event["member_id"]] += int(event["attributes"]["amount"]) * 10
    # SQL on purpose: every member's row and every stored event at once, against the model
    async with db.connection() as conn:
        rows = await conn.raw.fetch("SELECT member_id, available, pending FROM balances")
        stored_events = await conn.raw.fetchval("SELECT count(*) FROM events")
        earn_entries = await conn.raw.fetchval(
            "SELECT count(*) FROM ledger_entries WHERE rule_id = 'earn'"
        )
    actual = {row["member_id"]: row["available"] + row["pending"] for row in rows}
    assert actual == dict(expected), seed
    assert stored_events == EVENTS
    assert earn_entries == EVENTS
    await assert_ledger_balances(db)
