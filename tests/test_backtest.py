"""The backtest: a month of seeded events booked under the demo program, then a draft that
doubles `base-earn` backtested over them; its report must equal, exactly, what publishing
that draft and deciding the same events for real books in a fresh database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from databases import FreshProgram
from litestar.testing import AsyncTestClient
from processes import LOYALTY

from bench.month import month_of_events
from service.app import create_app
from service.core.clock import FixedClock
from service.engine import load_ruleset_from_files
from service.operations.backtest import backtest
from service.store.database import Database

RULES = Path(__file__).resolve().parents[1] / "rules"
START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=31)
MEMBERS = [f"m{i:02d}" for i in range(40)]
CODES = {"M00REFER": "m00", "M01REFER": "m01"}


def _draft_files() -> dict[str, str]:
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(RULES.glob("*.yaml"))}
    base = "      - points: floor(event.amount * 10.0 * tier.multiplier)\n"
    assert base in files["earn.yaml"]
    files["earn.yaml"] = files["earn.yaml"].replace(
        base, "      - points: floor(event.amount * 20.0 * tier.multiplier)\n"
    )
    return files


async def _book(program: FreshProgram, events: list[dict[str, Any]], files=None) -> None:
    """Publish (the demo, or `files`) and post every event at the moment it happened."""
    clock = FixedClock(START - timedelta(days=1))
    app = create_app(program.settings, clock=clock)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        if files is None:
            await program.publish(client)
        else:
            published = await client.post(
                "/v1/admin/rules", json={"files": files}, headers=program.auth
            )
            assert published.status_code == 201, published.text
        for event in events:
            clock.set(datetime.fromisoformat(event["occurred_at"]) + timedelta(seconds=30))
            posted = await client.post("/v1/events", json=event, headers=program.auth)
            assert posted.status_code == 201, posted.text


async def _booked(url: str) -> dict[str, Any]:
    """What the database booked: points per rule, tier moves, badges, challenges. SQL on
    purpose: the backtest's report is checked against a direct computation from the tables."""
    db = Database(url, min_size=0, max_size=2)
    await db.open()
    try:
        async with db.connection() as conn:
            q = conn.raw
            rules = await q.fetch(  # a refund's reversal counts against the rule of its lot
                "SELECT coalesce(e.rule_id, l.rule_id) AS rule_id, e.kind, sum(e.points) AS points "
                "FROM ledger_entries e LEFT JOIN lots l "
                "ON l.member_id = e.member_id AND l.lot_id = e.lot_id "
                "WHERE (e.kind = 'earn' AND e.rule_id IS NOT NULL) "
                "OR (e.kind = 'reverse' AND e.lot_id IS NOT NULL) GROUP BY 1, 2"
            )
            moves = await q.fetch("SELECT from_tier, to_tier FROM tier_history")
            badges = await q.fetch("SELECT badge_id FROM member_badges")
            done = await q.fetch(
                "SELECT challenge_id FROM challenge_progress WHERE completed_at IS NOT NULL"
            )
            tiers = await q.fetch("SELECT member_id, tier FROM member_tiers")
            paid = await q.fetchval(
                "SELECT count(*) FROM ledger_entries "
                "WHERE kind = 'earn' AND rule_id LIKE 'streak:%'"
            )
    finally:
        await db.close()
    earned = {r["rule_id"]: int(r["points"]) for r in rules if r["kind"] == "earn"}
    reversed_ = {r["rule_id"]: -int(r["points"]) for r in rules if r["kind"] == "reverse"}
    tiered = Counter((r["tier"] or "-") for r in tiers)
    tiered["-"] += len(MEMBERS) - sum(tiered.values())
    return {
        "earned": earned,
        "reversed": reversed_,
        "moves": Counter(f"{m['from_tier'] or '-'} -> {m['to_tier'] or '-'}" for m in moves),
        "badges": Counter(b["badge_id"] for b in badges),
        "challenges": Counter(c["challenge_id"] for c in done),
        "tiers": {k: v for k, v in tiered.items() if v},
        "streak milestones": paid,
    }


def _side(lane: Any) -> dict[str, Any]:
    return {
        "earned": {r: p.earned for r, p in lane.rules.items() if p.earned},
        "reversed": {r: p.reversed for r, p in lane.rules.items() if p.reversed},
        "moves": Counter(lane.tier_moves),
        "badges": Counter({b: n for b, n in lane.badges.items() if " (" not in b}),
        "challenges": Counter(lane.challenges_completed),
        "tiers": lane.tiers_at_end,
        "streak milestones": sum(lane.streak_milestones.values()),
    }


async def test_the_backtest_of_a_draft_equals_publishing_it(pg_admin_url, template_db):
    events = month_of_events(7, MEMBERS, START, codes=CODES)
    assert len(events) > 300
    draft = load_ruleset_from_files(_draft_files())
    async with FreshProgram(pg_admin_url, template_db, members=MEMBERS, codes=CODES) as live:
        await _book(live, events)
        db = Database(live.url, min_size=0, max_size=2)
        await db.open()
        progress: list[tuple[int, int]] = []
        try:
            report = await backtest(
                db, draft, since=START, until=END, on_progress=lambda d, t: progress.append((d, t))
            )
            # the booked side read from the stored rows is the booked side decided again; over
            # a period the stored rows of some members go past, those are decided again
            for until, read_members in ((END, 40), (START + timedelta(days=20), 1)):
                read, decided, used = await _read_and_decided(db, draft, until)
                assert used == [(read_members, len(MEMBERS))]
                assert read == decided
            # pages of a few members (whole referral groups) decided in two processes, and in
            # this one, give the report of one page decided here
            apart = [
                await backtest(db, draft, since=START, until=END, jobs=jobs, page_members=6)
                for jobs in (2, 1)
            ]
            assert [a.jobs for a in apart] == [2, 1]
            assert _plain(apart[0]) == _plain(apart[1]) == _plain(report)
        finally:
            await db.close()
        booked = await _booked(live.url)
        # the CLI prints the same report (JSON) and a table
        done = await asyncio.to_thread(_cli_backtest, live.url, "--format", "json", "--jobs", "2")
        assert done.returncode == 0, done.stdout + done.stderr
        printed = json.loads(done.stdout)
        assert printed["draft"]["points_net"] == report.draft.points_net
        assert printed["jobs"] == 2
        table = await asyncio.to_thread(_cli_backtest, live.url, "--format", "markdown")
        assert "| base-earn |" in table.stdout, table.stdout
    async with FreshProgram(pg_admin_url, template_db, members=MEMBERS, codes=CODES) as real:
        await _book(real, events, _draft_files())
        published = await _booked(real.url)

    assert report.events == len(events)
    assert progress[-1] == (len(events), len(events))
    assert _side(report.booked) == booked  # the booked side is what was booked
    assert _side(report.draft) == published  # the draft side is what publishing it books
    assert report.draft.rules["base-earn"].earned > report.booked.rules["base-earn"].earned
    assert report.booked.points_reversed > 0  # the month has refunds
    assert report.points_difference == (
        sum(published["earned"].values()) - sum(published["reversed"].values())
    ) - (sum(booked["earned"].values()) - sum(booked["reversed"].values()))
    assert report.cost_difference == f"{report.points_difference * 0.01:.2f}"
    assert report.most_affected and report.most_affected[0].difference > 0
    top = report.most_affected[0]
    assert sum(e.draft or 0 for e in top.events) - sum(e.booked or 0 for e in top.events) == (
        top.difference
    )


async def _read_and_decided(
    db: Database, draft: Any, until: datetime
) -> tuple[dict[str, Any], dict[str, Any], list[tuple[int, int]]]:
    """The report (but timings) with the booked side read from the stored rows where it can
    be, and with every page decided again; and per page, (members read, members)."""
    from service.operations import backtest_pages as module

    used: list[tuple[int, int]] = []
    real = module.readable

    def reading(operations: Any, rows: Any, groups: Any, until: datetime) -> set[str]:
        read = real(operations, rows, groups, until)
        used.append((len(read), sum(len(g) for g in groups)))
        return read

    try:
        module.readable = reading  # type: ignore[assignment]
        read = await backtest(db, draft, since=START, until=until)
        module.readable = lambda *args: set()  # type: ignore[assignment]
        decided = await backtest(db, draft, since=START, until=until)
    finally:
        module.readable = real  # type: ignore[assignment]
    return _plain(read), _plain(decided), used


def _plain(report: Any) -> dict[str, Any]:
    """A report without its timings and how many processes made it."""
    out = msgspec.to_builtins(report)
    del out["seconds"], out["events_per_second"], out["jobs"]
    return out


def _cli_backtest(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for name, text in _draft_files().items():
            Path(folder, name).write_text(text, encoding="utf-8")
        return subprocess.run(
            [
                *LOYALTY,
                "rules",
                "backtest",
                folder,
                "--since",
                START.date().isoformat(),
                "--until",
                END.date().isoformat(),
                *extra,
            ],
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=300,
        )


async def test_a_backtest_over_http_is_a_job_to_poll(client, make_key, clock):
    """Start a backtest of a draft over the admin API, poll it to `done`, read its report;
    a refused draft is 422 naming the file, and a member never reaches it."""
    from helpers import bearer, purchase

    admin = await make_key("admin")
    for n, member in enumerate(["ann", "ben"]):
        posted = await client.post(
            "/v1/events", json=purchase(f"p{n}", member, "80.00"), headers=bearer(admin)
        )
        assert posted.status_code == 201, posted.text
    clock.advance(timedelta(hours=1))
    body = {
        "files": _draft_files(),
        "since": (clock.now() - timedelta(days=1)).isoformat(),
        "until": clock.now().isoformat(),
    }
    started = await client.post("/v1/admin/rules/backtests", json=body, headers=bearer(admin))
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["location"] == f"/v1/admin/rules/backtests/{job['id']}"
    for _ in range(200):
        polled = await client.get(started.headers["location"], headers=bearer(admin))
        assert polled.status_code == 200, polled.text
        if polled.json()["status"] != "running":
            break
        await asyncio.sleep(0.05)
    done = polled.json()
    assert done["status"] == "done", done
    assert done["progress"]["events_done"] == done["progress"]["events_total"] == 2
    report = done["report"]
    assert (
        report["draft"]["rules"]["base-earn"]["earned"]
        == 2 * (report["booked"]["rules"]["base-earn"]["earned"])
    )
    bad = {**body, "files": {**body["files"], "earn.yaml": "rules:\n  - id: [\n"}}
    refused = await client.post("/v1/admin/rules/backtests", json=bad, headers=bearer(admin))
    assert refused.status_code == 422, refused.text
    assert "earn.yaml" in refused.text
    unknown = await client.get("/v1/admin/rules/backtests/bt-nope", headers=bearer(admin))
    assert unknown.status_code == 404
    assert "backtest_id" in unknown.text


@pytest.mark.no_replay  # the test stores a ruleset that does not load, on purpose
async def test_a_stored_version_that_does_not_load_keeps_the_backtest_in_one_process(
    client, make_key, clock, db
):
    """`--jobs` must know whether a stored version has a budget; one whose files no longer load
    (and that no operation of the period needs) neither fails the backtest nor sends it to
    several processes on a guess."""
    from helpers import bearer, purchase

    admin = await make_key("admin")
    posted = await client.post(
        "/v1/events", json=purchase("p0", "ann", "80.00"), headers=bearer(admin)
    )
    assert posted.status_code == 201, posted.text
    async with db.transaction() as conn:
        await conn.raw.execute(
            "INSERT INTO rulesets (version, files) VALUES ('broken', $1::jsonb)",
            {"earn.yaml": "rules:\n  - id: [\n"},
        )
    clock.advance(timedelta(hours=1))
    draft = load_ruleset_from_files(_draft_files())
    since, until = clock.now() - timedelta(days=1), clock.now()
    reports = [await backtest(db, draft, since=since, until=until, jobs=j) for j in (1, 2)]
    assert [r.jobs for r in reports] == [1, 1]
    assert [r.events for r in reports] == [1, 1]
    assert _plain(reports[0]) == _plain(reports[1])
