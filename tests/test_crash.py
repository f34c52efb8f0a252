"""A crash loses nothing: SIGKILL the service three times under load, retry what was not
acknowledged, and every event counts exactly once with balances a reference model agrees with."""

from __future__ import annotations

import asyncio
import random
import subprocess
from collections import defaultdict
from decimal import Decimal

import httpx
import pytest
from helpers import bearer, ledger_problems
from processes import LOYALTY, ServiceProcess

PROGRAM = """
program:
  name: Crash test
  timezone: UTC
  points:
    expiry: {kind: none}
"""
EARN = """
rules:
  - id: one-point-per-unit
    on: purchase
    actions:
      - points: floor(event.amount)
    reason: "{points} points, one per unit spent"
"""

EVENTS = 1200
MEMBERS = 25


def _events(seed: int) -> list[dict]:
    rng = random.Random(seed)
    events = []
    for i in range(EVENTS):
        amount = Decimal(rng.randint(100, 20_000)) / 100
        events.append(
            {
                "id": f"crash-{i}",
                "type": "purchase",
                "member_id": f"m{rng.randrange(MEMBERS)}",
                "occurred_at": "2026-03-02T08:00:00Z",
                "attributes": {
                    "order_id": f"o-{i}",
                    "amount": str(amount),
                    "currency": "EUR",
                    "items": [],
                },
            }
        )
    return events


@pytest.mark.slow
async def test_three_sigkills_under_load_lose_and_double_nothing(
    tmp_path, database_url, make_key, db
):
    seed = random.randrange(1_000_000)
    print(f"crash test seed: {seed}")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "program.yaml").write_text(PROGRAM)
    (rules / "earn.yaml").write_text(EARN)
    key = await make_key("events:write")
    service = ServiceProcess(
        {
            "DATABASE_URL": database_url,
            "LOYALTY_RULES_DIR": str(rules),
            "LOYALTY_TOKEN_SECRETS": "crash-test-secret-0123456789abcdef",
            "LOYALTY_LOG_LEVEL": "WARNING",
            "LOYALTY_DB_POOL_MAX": "16",
        },
        log=tmp_path / "serve.log",
    )
    events = _events(seed)
    acked: set[str] = set()
    interrupted = 0
    rng = random.Random(seed)
    await asyncio.to_thread(service.start)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=5) as http:
            queue = list(events)

            async def sender() -> None:
                nonlocal interrupted
                while queue:
                    event = queue.pop()
                    try:
                        response = await http.post("/v1/events", json=event, headers=bearer(key))
                    except httpx.HTTPError:
                        interrupted += 1
                        continue
                    if 200 <= response.status_code < 300:
                        acked.add(event["id"])
                    else:
                        assert response.status_code in (502, 503), response.text

            load = asyncio.gather(*(sender() for _ in range(16)))
            for _ in range(3):
                await asyncio.sleep(rng.uniform(0.3, 1.2))
                service.kill()
                await asyncio.sleep(0.2)
                await asyncio.to_thread(service.start)
            await load
            assert interrupted > 0, "no kill hit a request in flight: make the load longer"
            print(f"{interrupted} requests cut off, {EVENTS - len(acked)} to retry")
            # the checkout retries everything it did not see acknowledged
            for event in events:
                if event["id"] in acked:
                    continue
                for _ in range(20):
                    response = await http.post("/v1/events", json=event, headers=bearer(key))
                    if 200 <= response.status_code < 300:
                        acked.add(event["id"])
                        break
                    await asyncio.sleep(0.2)
            assert len(acked) == EVENTS
    finally:
        service.stop()

    expected: dict[str, int] = defaultdict(int)
    for event in events:
        expected[event["member_id"]] += int(Decimal(event["attributes"]["amount"]))
    # SQL on purpose: what the killed processes left in the tables themselves
    async with db.connection() as conn:
        stored = await conn.raw.fetchval("SELECT count(*) FROM events")
        earns = await conn.raw.fetchval("SELECT count(*) FROM ledger_entries WHERE kind = 'earn'")
        rows = await conn.raw.fetch("SELECT member_id, available FROM balances")
    assert stored == EVENTS
    assert earns == EVENTS  # every event earned exactly once
    assert {r["member_id"]: r["available"] for r in rows} == dict(expected)
    assert await ledger_problems(db) == []
    verify = await asyncio.to_thread(
        subprocess.run,
        [*LOYALTY, "ledger", "verify"],
        env={**service.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "0 with differences" in verify.stdout
