"""One stream of events, three ways in: one post at a time, as batches, and as concurrent single
posts that coalesce into sets (group commit). Every answer (status, refusal code, result) and
every row the events leave (ledger, lots, balances, orders, caps, budgets, badges, challenges,
streaks, tiers, referrals, boards and their histogram) must be the same, and the ledger must
verify. Hypothesis draws the streams: purchases (some late by days or months), partial, full,
excessive and unknown refunds, reviews, check-ins, sign-ups with referral codes, replays,
reused ids with another body, reused order ids and invalid attributes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import uvicorn
from databases import FreshProgram
from helpers import assert_ledger_balances, ledger_problems
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.core.clock import FixedClock
from service.store.database import Database

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MEMBERS = ("alice", "bob", "carol", "dave")
CODES = {"ALICEAAA": "alice", "BOBBBBBB": "bob"}
RULES = Path(__file__).resolve().parents[1] / "rules"
EXTRA_RULES = """
rules:
  - id: launch-bonus
    on: checkin
    actions:
      - points: 40
    reason: "launch bonus: {points} points"
    caps:
      budget: 300
  - id: favourite
    on: review
    when: event.rating >= 4
    actions:
      - attribute: {name: favourite_category, value: '"books"'}
"""

# -- the stream -------------------------------------------------------------------------------

member = st.sampled_from(MEMBERS)
days_ago = st.sampled_from([0, 0, 0, 1, 2, 6, 15, 40, 95])
operation = st.one_of(
    st.tuples(
        st.just("purchase"),
        member,
        st.sampled_from(["4.99", "25.00", "60.50", "120.00", "512.30"]),
        days_ago,
        st.sampled_from([None, None, None, "ALICEAAA", "BOBBBBBB"]),
    ),
    st.tuples(st.just("refund"), member, st.integers(0, 9), st.sampled_from([25, 50, 100, 150])),
    st.tuples(st.just("review"), member, st.booleans(), st.integers(1, 5), days_ago),
    st.tuples(st.just("checkin"), member, st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 9])),
    st.tuples(st.just("signup"), member, st.sampled_from([*CODES, "NOSUCHCD"])),
    st.tuples(st.just("again"), st.integers(0, 30)),
    st.tuples(st.just("reuse_id"), st.integers(0, 30)),
    st.tuples(st.just("reuse_order"), member, st.integers(0, 9)),
    st.tuples(st.just("invalid"), member),
)


@dataclass
class Stream:
    """Event bodies in order, built from drawn operations."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def at(self, days: int, step: int) -> str:
        return (START - timedelta(days=days, minutes=step)).isoformat()

    def add(self, op: tuple[Any, ...], step: int) -> None:
        kind = op[0]
        event_id = f"e{step}"
        if kind == "purchase":
            _, who, amount, days, code = op
            order_id = f"o{step}"
            attributes: dict[str, Any] = {"order_id": order_id, "amount": amount, "currency": "EUR"}
            if code:
                attributes["referral_code"] = code
            self.orders.setdefault(who, []).append((order_id, amount))
            self._post(event_id, "purchase", who, self.at(days, step), attributes)
        elif kind == "refund":
            _, who, pick, percent = op
            mine = self.orders.get(who)
            order_id, amount = mine[pick % len(mine)] if mine else (f"none-{step}", "10.00")
            refunded = (msgspec.json.decode(amount.encode(), type=float) * percent) / 100
            attributes = {"order_id": order_id, "amount": f"{refunded:.2f}"}
            self._post(event_id, "refund", who, self.at(0, step), attributes)
        elif kind == "review":
            _, who, photo, rating, days = op
            attributes = {
                "product_id": f"P-{step}",
                "rating": rating,
                "has_photo": photo,
                "text_length": 80,
            }
            self._post(event_id, "review", who, self.at(days, step), attributes)
        elif kind == "checkin":
            self._post(event_id, "checkin", op[1], self.at(op[2], step), {})
        elif kind == "signup":
            self._post(event_id, "signup", op[1], self.at(0, step), {"referral_code": op[2]})
        elif kind == "again" and self.bodies:
            self.bodies.append(self.bodies[op[1] % len(self.bodies)])
        elif kind == "reuse_id" and self.bodies:
            earlier = self.bodies[op[1] % len(self.bodies)]
            self.bodies.append({**earlier, "occurred_at": self.at(3, step)})
        elif kind == "reuse_order" and self.orders.get(op[1]):
            order_id, _ = self.orders[op[1]][op[2] % len(self.orders[op[1]])]
            attributes = {"order_id": order_id, "amount": "15.00", "currency": "EUR"}
            self._post(event_id, "purchase", op[1], self.at(0, step), attributes)
        elif kind == "invalid":
            attributes = {"order_id": f"o{step}", "amount": "lots", "currency": "EUR"}
            self._post(event_id, "purchase", op[1], self.at(0, step), attributes)

    def _post(self, event_id: str, kind: str, who: str, at: str, attributes: Any) -> None:
        body = {"id": event_id, "type": kind, "member_id": who, "occurred_at": at}
        self.bodies.append({**body, "attributes": attributes})


def waves(bodies: list[dict[str, Any]]) -> list[list[int]]:
    """Indexes in waves that may run at once: at most one event per group of members that a
    referral code or the check-in rule's global budget ties together (who is first matters
    there), each group's events in stream order."""
    group = {m: m for m in (*MEMBERS, "budget")}

    def root(m: str) -> str:
        while group[m] != m:
            m = group[m]
        return m

    for body in bodies:
        code = body.get("attributes", {}).get("referral_code")
        if code in CODES:
            group[root(body["member_id"])] = root(CODES[code])
        if body["type"] == "checkin" and root(body["member_id"]) != root("budget"):
            group[root(body["member_id"])] = root("budget")
    out: list[list[int]] = []
    level: dict[str, int] = {}
    for i, body in enumerate(bodies):
        g = root(body["member_id"])
        n = level.get(g, 0)
        level[g] = n + 1
        while len(out) <= n:
            out.append([])
        out[n].append(i)
    return out


# -- one database and app per path ------------------------------------------------------------


def _answer(status: int, body: Any) -> tuple[Any, ...]:
    if status >= 400:
        return (status, body.get("code"), body.get("detail"))
    return (status, msgspec.json.encode(body, order="sorted"))


_TABLES = {
    "ledger_entries": "member_id, entry_no",
    "lots": "member_id, lot_id",
    "balances": "member_id",
    "orders": "member_id, order_id",
    "events": "member_id, event_id",
    "member_counters": "member_id, event_type",
    "rule_usage": "member_id, rule_id, period_key",
    "rule_budgets": "rule_id",
    "member_badges": "member_id, badge_id",
    "member_badge_levels": "member_id, badge_id, level",
    "challenge_progress": "member_id, challenge_id, window_key",
    "streak_units": "member_id, streak_id, unit",
    "member_streaks": "member_id, streak_id",
    "tier_metric_days": "member_id, metric, day",
    "member_tiers": "member_id",
    "tier_history": "member_id, seq",
    "referrals": "member_id",
    "board_scores": "member_id, board_id, period_key, segment",
}
_LEFT_OUT = {"recorded_at", "updated_at", "created_at"}  # set by the database's own clock
_ORDERED = {"events", "redemptions", "adjustments"}
"""Tables whose `seq` numbers the decision order from a sequence other databases share."""


async def _dump(url: str) -> dict[str, list[Any]]:
    """Every row of every table the paths write. SQL on purpose: the three paths must leave
    the schema's rows equal, whichever table they are in."""
    conn = await asyncpg.connect(url)
    try:
        dump = {}
        for table, order in _TABLES.items():
            rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY {order}")
            dump[table] = [
                {
                    k: v
                    for k, v in r.items()
                    if k not in _LEFT_OUT
                    and not (table in _ORDERED and k in ("seq", "settled_seq"))
                }
                for r in rows
                if not (table == "tier_metric_days" and r["value"] == 0)  # a day at 0 is no day
            ]
        # the histogram as ranks read it: members per bucket (a set books each score move
        # once, single posts each step, which can leave counter rows at zero)
        dump["board_buckets"] = [
            dict(r)
            for r in await conn.fetch(
                "SELECT board_id, period_key, segment, level, bucket, sum(members) AS members "
                "FROM board_buckets GROUP BY 1, 2, 3, 4, 5 HAVING sum(members) <> 0 "
                "ORDER BY 1, 2, 3, 4, 5"
            )
        ]
        attrs = await conn.fetch("SELECT member_id, attributes FROM members ORDER BY member_id")
        dump["members"] = [dict(r) for r in attrs]
        return dump
    finally:
        await conn.close()


async def _verified(path: FreshProgram) -> dict[str, list[Any]]:
    db = Database(path.url, min_size=0, max_size=2)
    await db.open()
    try:
        assert await ledger_problems(db) == []
        await assert_ledger_balances(db)
    finally:
        await db.close()
    return await _dump(path.url)


async def one_at_a_time(path: FreshProgram, bodies: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    answers = []
    app = create_app(path.settings, clock=FixedClock(START))
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        await path.publish(client)
        for body in bodies:
            response = await client.post("/v1/events", json=body, headers=path.auth)
            answers.append(_answer(response.status_code, response.json()))
    return answers


async def as_batches(
    path: FreshProgram, bodies: list[dict[str, Any]], sizes: list[int]
) -> list[tuple[Any, ...]]:
    answers: list[tuple[Any, ...]] = []
    app = create_app(path.settings, clock=FixedClock(START))
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        await path.publish(client)
        start = 0
        for size in [*sizes, len(bodies)]:
            chunk = bodies[start : start + size]
            start += size
            if not chunk:
                continue
            response = await client.post(
                "/v1/events/batch", json={"events": chunk}, headers=path.auth
            )
            assert response.status_code == 200, response.text
            for item in response.json()["results"]:
                if item["status"] >= 400:
                    answers.append((item["status"], item.get("code"), item.get("detail")))
                else:
                    answers.append(_answer(item["status"], item["result"]))
    return answers


async def coalesced(path: FreshProgram, bodies: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    app = create_app(path.settings, clock=FixedClock(START))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="error")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    answers: list[Any] = [None] * len(bodies)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            await path.publish(client)

            async def post(i: int) -> None:
                response = await client.post("/v1/events", json=bodies[i], headers=path.auth)
                answers[i] = _answer(response.status_code, response.json())

            for wave in waves(bodies):
                await asyncio.gather(*(post(i) for i in wave))
    finally:
        server.should_exit = True
        await task
    return answers


async def _three_paths(admin_url: str, template: str, ops: list[Any], sizes: list[int]) -> None:
    stream = Stream()
    for step, op in enumerate(ops):
        stream.add(op, step)
    bodies = stream.bodies
    results = []
    for run in (
        lambda p: one_at_a_time(p, bodies),
        lambda p: as_batches(p, bodies, sizes),
        lambda p: coalesced(p, bodies),
    ):
        async with FreshProgram(admin_url, template, EXTRA_RULES, MEMBERS, CODES) as path:
            answers = await run(path)
            results.append((answers, await _verified(path)))
    (single, single_rows), (batched, batch_rows), (grouped, group_rows) = results
    for i, body in enumerate(bodies):
        assert batched[i] == single[i], f"event {i} {body}: batch {batched[i]} != {single[i]}"
        assert grouped[i] == single[i], f"event {i} {body}: group {grouped[i]} != {single[i]}"
    for table in single_rows:
        assert batch_rows[table] == single_rows[table], f"batches differ in {table}"
        assert group_rows[table] == single_rows[table], f"groups differ in {table}"


@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # an example takes seconds: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(  # every path a referral, a budget, a cap and the refusals can take, in one stream
    ops=[
        ("signup", "carol", "ALICEAAA"),
        ("purchase", "carol", "60.50", 0, None),
        ("purchase", "alice", "120.00", 15, None),
        ("refund", "carol", 0, 50),
        ("refund", "carol", 0, 150),
        ("refund", "bob", 0, 25),
        *[("checkin", m, d) for m in ("alice", "bob") for d in (0, 1, 2, 3)],
        ("review", "dave", True, 5, 0),
        ("review", "dave", False, 4, 0),
        ("purchase", "dave", "512.30", 95, "BOBBBBBB"),
        ("again", 1),
        ("reuse_id", 2),
        ("reuse_order", "carol", 0),
        ("invalid", "bob"),
        ("refund", "carol", 0, 50),
    ],
    sizes=[3, 5],
)
@given(
    ops=st.lists(operation, min_size=15, max_size=45),
    sizes=st.lists(st.integers(1, 20), max_size=4),
)
def test_single_posts_batches_and_coalesced_posts_book_the_same(
    pg_admin_url, template_db, ops, sizes
):
    asyncio.run(_three_paths(pg_admin_url, template_db, ops, sizes))
