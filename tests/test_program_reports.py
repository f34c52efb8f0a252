"""The program's reports read daily rollups that every save maintains; each figure must equal a
direct computation from the ledger, the lots and the histories of a seeded program: a month of
generated events, redemptions (a held one among them), an adjustment, the worker's activations
and a year later its expiries, then a few events of the new year."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from helpers import bearer, purchase
from processes import LOYALTY

from bench.month import month_of_events
from service.operations.engagement import review_engagement_due
from service.operations.rollups import fold_past_days, rebuild_rollups, verify_rollups
from service.store import program_rollups
from service.views import program_reports as reports
from service.worker import mature_due

BERLIN = ZoneInfo("Europe/Berlin")
MEMBERS = [f"r{i:02d}" for i in range(30)]


def _local(at: datetime) -> date:
    return at.astimezone(BERLIN).date()


async def _seed(client, key, clock, runtime) -> None:
    start = clock.now()
    for event in month_of_events(11, MEMBERS, start, days=28):
        clock.set(datetime.fromisoformat(event["occurred_at"]) + timedelta(seconds=30))
        posted = await client.post("/v1/events", json=event, headers=bearer(key))
        assert posted.status_code == 201, posted.text
    clock.set(start + timedelta(days=45))
    await mature_due(runtime, clock.now(), limit=1000)
    redeemed = 0
    for n, member in enumerate(MEMBERS):
        reward = {"reward_id": "free-shipping"} if n % 2 else {"points": 120, "hold": n % 4 == 0}
        answer = await client.post(
            f"/v1/members/{member}/redemptions",
            json=reward,
            headers={**bearer(key), "Idempotency-Key": f"red-{member}"},
        )
        redeemed += answer.status_code == 201
    assert redeemed >= 5
    given = await client.post(
        "/v1/admin/adjustments",
        json={"member_id": MEMBERS[0], "points": 250, "reason": "goodwill"},
        headers={**bearer(key), "Idempotency-Key": "adj-1"},
    )
    assert given.status_code == 201, given.text
    await review_engagement_due(runtime, clock.now(), limit=1000)
    # a year on: the month's lots expire; then a few members come back
    clock.set(start + timedelta(days=400))
    await mature_due(runtime, clock.now(), limit=1000)
    await review_engagement_due(runtime, clock.now(), limit=1000)
    for n, member in enumerate(MEMBERS[:6]):
        clock.set(start + timedelta(days=400, hours=n))
        body = purchase(f"late-{n}", member, "42.50", clock.now().isoformat())
        posted = await client.post("/v1/events", json=body, headers=bearer(key))
        assert posted.status_code == 201, posted.text


async def _rows(db, sql: str, *args: Any) -> list[Any]:
    """SQL on purpose: every report is checked against a direct computation from the ledger."""
    async with db.connection() as conn:
        return list(await conn.raw.fetch(sql, *args))


async def test_every_report_equals_a_direct_computation_from_the_ledger(
    client, make_key, clock, runtime, db, database_url
):
    key = await make_key("admin")
    await _seed(client, key, clock, runtime)

    # every figure the saves maintained equals the one computed from the source tables
    compared, differences = await verify_rollups(db, "Europe/Berlin")
    assert compared > 100
    assert differences == []

    await _liability(client, key, runtime, db)
    await _breakage_and_points(client, key, runtime, db, clock)
    await _members(client, key, runtime, db, clock)

    # the worker folds past days into one row each: the figures stay what they were
    before = await reports.points(runtime, date(2026, 1, 1), _local(clock.now()))
    assert await fold_past_days(db, clock.now(), "Europe/Berlin") > 0
    unfolded = await _rows(
        db,
        "SELECT count(*) AS n FROM program_rollups WHERE shard <> 0 AND day < $1",
        _local(clock.now()) - timedelta(days=2),
    )
    assert unfolded[0]["n"] == 0
    assert await reports.points(runtime, date(2026, 1, 1), _local(clock.now())) == before
    assert (await verify_rollups(db, "Europe/Berlin"))[1] == []

    # the CLI says the same, fails on a tampered figure, and a rebuild puts it right
    assert (await _cli(database_url, "verify")).returncode == 0
    async with db.transaction() as conn:
        await conn.raw.execute(
            "UPDATE program_rollups SET value = value + 7 WHERE ctid = "
            "(SELECT ctid FROM program_rollups WHERE metric = 'earned' LIMIT 1)"
        )
    tampered = await _cli(database_url, "verify")
    assert tampered.returncode == 1, tampered.stdout
    assert "earned" in tampered.stdout and "1 differ" in tampered.stdout
    rebuilt = await _cli(database_url, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert (await verify_rollups(db, "Europe/Berlin"))[1] == []


async def _liability(client, key, runtime, db) -> None:
    liability = await reports.liability(runtime)
    sums = (
        await _rows(
            db,
            "SELECT sum(available) AS a, sum(pending) AS p, sum(held) AS h, sum(debt) AS d "
            "FROM balances",
        )
    )[0]
    assert (liability.available, liability.pending, liability.held, liability.debt) == (
        sums["a"],
        sums["p"],
        sums["h"],
        sums["d"],
    )
    open_lots = await _rows(
        db,
        "SELECT state, expires_at, remaining FROM lots WHERE state <> 'expired' AND remaining > 0",
    )
    # liability = the open lots' points (+ the points holds reserved, which left their lots)
    assert liability.available + liability.pending == sum(r["remaining"] for r in open_lots)
    assert liability.held > 0
    expiring: dict[date, int] = defaultdict(int)
    for r in open_lots:
        expiring[_local(r["expires_at"]).replace(day=1)] += r["remaining"]
    assert {m.month: m.points for m in liability.expiring} == dict(expiring)
    assert liability.outstanding_value == Decimal(liability.outstanding) * Decimal("0.01")
    assert liability.history[-1].points == liability.outstanding
    answer = await client.get("/v1/admin/reports/liability", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["outstanding"] == liability.outstanding


async def _breakage_and_points(client, key, runtime, db, clock) -> None:
    entries = await _rows(db, "SELECT kind, balance, points, at, rule_id FROM ledger_entries")
    earned: Counter[date] = Counter()
    expired: Counter[date] = Counter()
    by_rule: Counter[str] = Counter()
    for e in entries:
        month = _local(e["at"]).replace(day=1)
        if e["kind"] == "earn":
            earned[month] += e["points"]
            by_rule[e["rule_id"] or ""] += e["points"]
        elif e["kind"] == "expire":
            expired[month] -= e["points"]
    breakage = await reports.breakage(runtime, months=15)
    assert sum(expired.values()) > 0
    assert {m.month: m.earned for m in breakage.months if m.earned} == dict(earned)
    assert {m.month: m.expired for m in breakage.months if m.expired} == dict(expired)
    assert breakage.rate == round(sum(expired.values()) / sum(earned.values()), 4)

    today = _local(clock.now())
    points = await reports.points(runtime, today - timedelta(days=500), today)
    assert {r.rule_id: r.points for r in points.by_rule} == dict(by_rule)
    spent = -sum(e["points"] for e in entries if e["kind"] == "spend")
    assert sum(d.spent for d in points.days) == spent
    assert sum(r.points for r in points.by_reward) == spent
    redemptions = await _rows(
        db, "SELECT count(*) AS n FROM redemptions WHERE status = 'committed'"
    )
    assert sum(d.redemptions for d in points.days) == redemptions[0]["n"]
    query = {"since": (today - timedelta(days=500)).isoformat(), "until": today.isoformat()}
    answer = await client.get("/v1/admin/reports/points", params=query, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["by_rule"][0]["points"] == points.by_rule[0].points
    refused = await client.get(
        "/v1/admin/reports/points",
        params={"since": "2026-05-01", "until": "2026-04-01"},
        headers=bearer(key),
    )
    assert refused.status_code == 400 and "since" in refused.text


async def _members(client, key, runtime, db, clock) -> None:
    events = await _rows(db, "SELECT member_id, occurred_at, type FROM events")
    per_day: dict[date, set[str]] = defaultdict(set)
    for e in events:
        per_day[_local(e["occurred_at"])].add(e["member_id"])
    first_day = min(per_day)
    active = await reports.active_members(runtime, first_day, first_day + timedelta(days=40))
    assert {a.start: a.members for a in active.days if a.members} == {
        d: len(m) for d, m in per_day.items() if d <= first_day + timedelta(days=40)
    }
    month = first_day.replace(day=1)
    in_month = {e["member_id"] for e in events if _local(e["occurred_at"]).replace(day=1) == month}
    assert active.months[0].members == len(in_month)

    tiers = await reports.tiers(runtime)
    held = await _rows(db, "SELECT tier, count(*) AS n FROM member_tiers GROUP BY tier")
    assert {c.name: c.members for c in tiers.distribution if c.members} == {
        r["tier"]: r["n"] for r in held if r["tier"] is not None
    }
    levels = await reports.engagement_levels(runtime)
    kept = await _rows(db, "SELECT level, count(*) AS n FROM member_engagement GROUP BY level")
    assert {c.name: c.members for c in levels.now if c.members} == {
        r["level"]: r["n"] for r in kept
    }
    assert levels.days[-1].levels == {c.name: c.members for c in levels.now}

    orders = await _rows(
        db,
        "SELECT o.amount, ev.occurred_at FROM orders o JOIN events ev "
        "ON ev.member_id = o.member_id AND ev.event_id = o.purchase_event_id",
    )
    bought = await reports.purchases(runtime, first_day, first_day + timedelta(days=40))
    expected = sum(
        (o["amount"] for o in orders if _local(o["occurred_at"]).replace(day=1) == month),
        Decimal(0),
    )
    assert bought.months[0].amount == expected
    assert bought.months[0].active_members == len(in_month)

    cohorts = await reports.cohorts(runtime, weeks=52)
    weeks = Counter(r["week"] for r in await _rows(db, "SELECT week FROM member_cohorts"))
    assert {c.week: c.members for c in cohorts.cohorts if c.members} == {
        w: n for w, n in weeks.items() if w >= cohorts.cohorts[0].week
    }
    for c in cohorts.cohorts:
        if c.members:
            assert c.retained[0] == c.members  # first seen active that week: all active in it
    top = await reports.top_members(runtime, 3)
    richest = await _rows(db, "SELECT max(available) AS a FROM balances")
    assert top.members[0].available == richest[0]["a"]
    for name in ("breakage", "tiers", "engagement-levels", "active-members", "cohorts"):
        answer = await client.get(f"/v1/admin/reports/{name}", headers=bearer(key))
        assert answer.status_code == 200, (name, answer.text)


async def test_a_rebuild_fills_the_rollups_of_history_booked_before_them(
    client, make_key, clock, runtime, db
):
    """A database upgraded with history has no rollups: `rebuild` computes them, and the
    saves after it add to them as if they had always been kept."""
    key = await make_key("admin")
    for n in range(3):
        body = purchase(f"h{n}", f"old{n}", "30.00", clock.now().isoformat())
        assert (await client.post("/v1/events", json=body, headers=bearer(key))).status_code == 201
    async with db.transaction() as conn:  # as before the upgrade
        for table in ("program_rollups", "member_active_days", "member_cohorts"):
            await conn.raw.execute(f"DELETE FROM {table}")
    assert (await verify_rollups(db, "Europe/Berlin"))[1] != []
    assert await rebuild_rollups(db, "Europe/Berlin") > 0
    clock.advance(timedelta(hours=2))
    body = purchase("h9", "old0", "10.00", clock.now().isoformat())
    assert (await client.post("/v1/events", json=body, headers=bearer(key))).status_code == 201
    assert (await verify_rollups(db, "Europe/Berlin"))[1] == []
    async with db.connection() as conn:
        shards = await program_rollups.stored(conn)
    assert any(f.metric == "purchases" and f.value == 4 for f in shards)


async def _cli(url: str, command: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [*LOYALTY, "reports", command],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
