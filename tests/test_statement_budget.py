"""Statements per request on the hot paths, counted (not timed): on this kind of machine each
statement costs the server more CPU than the rest of the request (docs/benchmarks.md), so a
change that adds one to an event, a batch, a group of single posts, a member read or a
redemption shows up here, not in a noisy benchmark."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from helpers import bearer, member_token, purchase

SET_BUDGET = 5
"""BEGIN, lock the set's members, read their state, write every row, COMMIT: the same for one
event as for many (a set of more than 16 writes the shared leaderboard counters in a sixth
statement of their own, last: see `store/set_writes.py`)."""
BATCH_BUDGET = 12
"""A batch of 1,000 events on 1,000 members, in all."""
MEMBER_READ_BUDGET = 1
"""The state with the profile and the game state."""
HOLD_AND_COMMIT_BUDGET = 10
"""Each of the two: BEGIN, lock, state (holds, the redemption named), write, COMMIT (17 before
the pipeline)."""


_BACKGROUND = frozenset({"rate-limit-sync", "ruleset-follower", "worker", "webhooks"})
"""The app's own background tasks: what they send on a busy machine is not the request's."""


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent on a pooled connection, except the API key lookup and its
    last-used mark (at most once a minute per key; the tests
    turn the key cache off; in service a key is read once per 10 s), the setting a new
    connection gets once (`store/database.py`) and the app's background tasks."""
    sent: list[str] = []
    for name in ("execute", "fetch", "fetchrow", "fetchval", "executemany"):
        original = getattr(asyncpg.Connection, name)

        def counting(original: Any = original) -> Any:
            async def run(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
                task = asyncio.current_task()
                background = task is not None and task.get_name() in _BACKGROUND
                if (
                    not background
                    and "api_keys" not in query
                    and not query.startswith("SET plan_cache_mode")
                ):
                    sent.append(" ".join(query.split())[:80])
                return await original(self, query, *args, **kw)

            return run

        monkeypatch.setattr(asyncpg.Connection, name, counting())
    yield sent


async def test_an_event_and_a_member_read_stay_within_their_statement_budgets(
    client, make_key, statements
):
    key = await make_key("events:write", "members:token")
    first = purchase("warm", "alice", "20")
    assert (await client.post("/v1/events", json=first, headers=bearer(key))).status_code == 201
    token = await member_token(client, key, "alice")

    statements.clear()
    body = purchase("e1", "alice", "120.50", occurred_at="2026-03-02T09:00:00Z")
    assert (await client.post("/v1/events", json=body, headers=bearer(key))).status_code == 201
    assert len(statements) <= SET_BUDGET, "\n".join(statements)
    assert statements[0].startswith("BEGIN") and statements[-1].startswith("COMMIT")

    statements.clear()
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200
    assert len(statements) <= MEMBER_READ_BUDGET, "\n".join(statements)

    statements.clear()
    replay = await client.post("/v1/events", json=body, headers=bearer(key))
    assert replay.status_code == 200 and replay.json()["replay"] is True
    assert len(statements) <= 4, "\n".join(statements)  # BEGIN, lock, state, COMMIT


async def test_webhooks_add_no_statement_to_an_event_a_batch_or_a_hold(
    client, make_key, statements, db
):
    """The outbox rows and their deliveries are one more CTE of the save statement."""
    key = await make_key("admin")
    from service.core.webhooks import KINDS

    subscribed = await client.post(
        "/v1/admin/webhooks/endpoints",
        json={"url": "http://127.0.0.1:9/hooks", "kinds": list(KINDS)},
        headers=bearer(key),
    )
    assert subscribed.status_code == 201, subscribed.text
    warm = purchase("warm", "alice", "20", occurred_at="2026-02-01T08:00:00Z")  # available
    assert (await client.post("/v1/events", json=warm, headers=bearer(key))).status_code == 201
    statements.clear()
    body = purchase("e1", "alice", "120.50", occurred_at="2026-03-02T09:00:00Z")
    assert (await client.post("/v1/events", json=body, headers=bearer(key))).status_code == 201
    assert len(statements) <= SET_BUDGET, "\n".join(statements)
    assert any("INSERT INTO webhook_messages" in s or s.startswith("WITH w_") for s in statements)
    events = [purchase(f"b{i}", f"member-{i:04d}", "60.00") for i in range(1000)]
    statements.clear()
    answer = await client.post("/v1/events/batch", json={"events": events}, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    assert len(statements) <= BATCH_BUDGET, "\n".join(statements)
    statements.clear()
    held = await client.post(
        "/v1/members/alice/redemptions",
        json={"points": 100, "hold": True},
        headers={**bearer(key), "Idempotency-Key": "h1"},
    )
    assert held.status_code == 201, held.text
    committed = await client.post(
        f"/v1/redemptions/{held.json()['id']}/commit", headers=bearer(key)
    )
    assert committed.status_code == 200, committed.text
    assert len(statements) <= HOLD_AND_COMMIT_BUDGET, "\n".join(statements)
    async with (
        db.connection() as conn
    ):  # SQL on purpose: the outbox table itself (no store function reads it whole)
        kinds = {r["kind"] for r in await conn.raw.fetch("SELECT kind FROM webhook_messages")}
    assert {"points.earned", "reward.redeemed"} <= kinds


async def test_a_batch_of_1000_events_on_1000_members_costs_a_fixed_handful(
    client, make_key, statements
):
    key = await make_key("events:write")
    events = [purchase(f"b{i}", f"member-{i:04d}", "60.00") for i in range(1000)]
    statements.clear()
    answer = await client.post("/v1/events/batch", json={"events": events}, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["processed"] == 1000
    assert len(statements) <= BATCH_BUDGET, "\n".join(statements)


async def test_concurrent_single_posts_coalesce_into_one_set(live_app, make_key, statements, db):
    # One set runs at a time; while it runs, every other post waits to share the next one.
    client = await live_app(group_leaders=1, group_window_ms=1000.0, group_max_events=1000)
    key = await make_key("events:write")
    async with db.transaction() as blocker:  # holds the first set until the others are queued
        await blocker.raw.execute("INSERT INTO members (member_id) VALUES ('member-000')")
        await blocker.raw.execute("SELECT 1 FROM members WHERE member_id = 'member-000' FOR UPDATE")
        statements.clear()
        first = asyncio.create_task(
            client.post("/v1/events", json=purchase("g0", "member-000", "30"), headers=bearer(key))
        )
        while not any(s.startswith("WITH wanted") for s in statements):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        others = [
            client.post(
                "/v1/events", json=purchase(f"g{i}", f"member-{i:03d}", "30"), headers=bearer(key)
            )
            for i in range(1, 50)
        ]
        waiting = asyncio.gather(*others)
        # every post reached the service and waits for its set (0.3 s was not always enough
        # with the 2 cores at a load of 8: a late post made a third set)
        await asyncio.sleep(1.0)
    answers = [await first, *(await waiting)]
    assert [a.status_code for a in answers] == [201] * 50
    in_sets = [s for s in statements if not s.startswith("INSERT INTO rate_limit_counts")]
    assert sum(s.startswith("BEGIN") for s in in_sets) == 2, "\n".join(in_sets)
    blocker_commit = 1
    assert len(in_sets) - blocker_commit <= 2 * SET_BUDGET + 1, "\n".join(in_sets)


async def test_hold_and_commit_cost_fewer_statements_than_before_the_pipeline(
    client, make_key, statements
):
    key = await make_key("events:write", "redemptions:write")
    bought = purchase("p1", "carol", "100", occurred_at="2026-02-01T08:00:00Z")
    assert (await client.post("/v1/events", json=bought, headers=bearer(key))).status_code == 201
    statements.clear()
    held = await client.post(
        "/v1/members/carol/redemptions",
        json={"points": 100, "hold": True},
        headers={**bearer(key), "Idempotency-Key": "h1"},
    )
    assert held.status_code == 201, held.text
    committed = await client.post(
        f"/v1/redemptions/{held.json()['id']}/commit", headers=bearer(key)
    )
    assert committed.status_code == 200, committed.text
    assert len(statements) <= HOLD_AND_COMMIT_BUDGET, "\n".join(statements)
