"""Program reports benchmark: each report at 1,000,000 members with a year of daily rollups.

    .venv/bin/python -m bench.reports_bench [--members 1000000] [--days 365] [--reads 20]

Runs against `DATABASE_URL` (a scratch database: it is migrated, the demo program published,
its `balances`, `members` and `program_rollups` filled) or, unset, an embedded PostgreSQL in a
temporary folder. The rollups are written as a busy program's saves leave them, in the worst
case: every figure of every day in all 16 shards (no folding), for 10 rules, 4 rewards, 4
balances, 14 expiry months, 4 tiers, 4 engagement levels and the moves between them, 52 weekly
cohorts (each active in every later week), 2 experiments of 2 arms; DAU about 3 % of the
members. Members get balances (0-5,000 points). Then it times each report's use case
(`views.program_reports`, its statements through asyncpg).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import time
from datetime import UTC, date, datetime

import asyncpg

from bench.runtime import open_runtime
from service.store.migrate import migrate
from service.views import program_reports as reports

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

# (metric, keys): every figure a day has, as the saves write it
_DAILY = [
    ("earned", [f"rule-{n}" for n in range(10)]),
    ("spent", ["voucher-5-eur", "tote-bag", "free-shipping", ""]),
    ("redemptions", ["voucher-5-eur", "tote-bag", "free-shipping", ""]),
    ("available", [""]),
    ("pending", [""]),
    ("held", [""]),
    ("debt", [""]),
    ("expired", [""]),
    ("reversed", [""]),
    ("adjusted", [""]),
    ("purchases", [""]),
    ("purchase_amount", [""]),
    ("active_day", [""]),
    ("tier_moves", ["member>silver", "silver>gold", "gold>platinum", "silver>member"]),
    (
        "engagement_members",
        ["highly_engaged", "moderately_engaged", "at_risk", "disengaged"],
    ),
    (
        "engagement_moves",
        [
            ">moderately_engaged",
            "moderately_engaged>highly_engaged",
            "highly_engaged>moderately_engaged",
            "moderately_engaged>at_risk",
            "at_risk>disengaged",
            "at_risk>moderately_engaged",
        ],
    ),
    ("exposures", ["welcome/A", "welcome/holdout", "double/B", "double/holdout"]),
    ("exposure_points", ["welcome/A", "welcome/holdout", "double/B", "double/holdout"]),
]


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(len(ordered) * 0.99) - 1)]
    return f"median {statistics.median(ordered) * 1000:8.2f} ms   p99 {p99 * 1000:8.2f} ms"


async def load_rollups(url: str, members: int, days: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE members, balances, program_rollups")
        started = time.perf_counter()
        await conn.execute(
            "INSERT INTO members (member_id, display_name) SELECT 'm' || lpad(n::text, 7, '0'), "
            "'Member ' || n FROM generate_series(0, $1 - 1) n",
            members,
        )
        await conn.execute(
            "INSERT INTO balances (member_id, available, pending, lifetime_earned) "
            "SELECT 'm' || lpad(n::text, 7, '0'), (hashint4(n) & 4095) + (n % 1000), "
            "hashint4(n + 1) & 255, 6000 + (hashint4(n) & 4095) FROM generate_series(0, $1 - 1) n",
            members,
        )
        first = date.fromordinal(NOW.date().toordinal() - days + 1)
        dau = max(1, members * 3 // 100)
        for metric, keys in _DAILY:
            await conn.execute(
                "INSERT INTO program_rollups (metric, day, key, shard, value) "
                "SELECT $1, $2::date + d, k, s, 1 + (hashint4(d * 31 + s) & 255) * $4 / 4096 "
                "FROM generate_series(0, $3 - 1) d, unnest($5::text[]) k, generate_series(0, 15) s",
                metric,
                first,
                days,
                dau,
                keys,
            )
        await conn.execute(  # points expiring per month: a year and a bit ahead
            "INSERT INTO program_rollups (metric, day, key, shard, value) "
            "SELECT 'expiring', (date_trunc('month', $1::date) + m * interval '1 month')::date, "
            "'', s, 100000 + m FROM generate_series(0, 13) m, generate_series(0, 15) s",
            NOW.date(),
        )
        await conn.execute(  # weeks and months, cohorts, and the tier totals
            "INSERT INTO program_rollups (metric, day, key, shard, value) "
            "SELECT 'active_week', date_trunc('week', $1::date + d)::date, '', s, $3 "
            "FROM generate_series(0, $2 - 1, 7) d, generate_series(0, 15) s "
            "ON CONFLICT DO NOTHING",
            first,
            days,
            dau * 3 // 16,
        )
        await conn.execute(
            "INSERT INTO program_rollups (metric, day, key, shard, value) "
            "SELECT 'active_month', date_trunc('month', $1::date + d)::date, '', s, $3 "
            "FROM generate_series(0, $2 - 1, 28) d, generate_series(0, 15) s "
            "ON CONFLICT DO NOTHING",
            first,
            days,
            dau * 8 // 16,
        )
        await conn.execute(
            "INSERT INTO program_rollups (metric, day, key, shard, value) "
            "SELECT 'cohort_active', c + w * 7, c::text, s, 1 + (hashint4(w) & 63) "
            "FROM (SELECT date_trunc('week', $1::date)::date + 7 * n AS c "
            "FROM generate_series(0, 51) n) cohorts, generate_series(0, 51) w, "
            "generate_series(0, 15) s WHERE c + w * 7 <= $2::date",
            first,
            NOW.date(),
        )
        await conn.execute(
            "INSERT INTO program_rollups (metric, day, key, shard, value) "
            "SELECT 'cohort_members', date_trunc('week', $1::date)::date + 7 * n, '', s, 500 "
            "FROM generate_series(0, 51) n, generate_series(0, 15) s",
            first,
        )
        await conn.execute(
            "INSERT INTO program_rollups (metric, day, key, shard, value) "
            "SELECT 'tier_members', DATE '1970-01-01', t, s, $1 / 64 FROM "
            "unnest(ARRAY['member', 'silver', 'gold', 'platinum']) t, generate_series(0, 15) s",
            members,
        )
        rows = await conn.fetchval("SELECT count(*) FROM program_rollups")
        print(
            f"loaded {members:,} members, {rows:,} rollup rows in "
            f"{time.perf_counter() - started:.1f} s"
        )
        await conn.execute("VACUUM ANALYZE members, balances, program_rollups")
    finally:
        await conn.close()


def _reports(days: int) -> list[tuple[str, object]]:
    since = date.fromordinal(NOW.date().toordinal() - 89)
    year = date.fromordinal(NOW.date().toordinal() - min(days, 365) + 1)
    return [
        ("liability", lambda s: reports.liability(s)),
        ("breakage (12 months)", lambda s: reports.breakage(s, 12)),
        ("points (90 days)", lambda s: reports.points(s, since, None)),
        ("points (a year)", lambda s: reports.points(s, year, None)),
        ("tiers (12 months)", lambda s: reports.tiers(s, 12)),
        ("engagement levels (90 days)", lambda s: reports.engagement_levels(s, since, None)),
        ("engagement levels (a year)", lambda s: reports.engagement_levels(s, year, None)),
        ("active members (90 days)", lambda s: reports.active_members(s, since, None)),
        ("active members (a year)", lambda s: reports.active_members(s, year, None)),
        ("cohorts (52 weeks)", lambda s: reports.cohorts(s, 52)),
        ("purchases (a year)", lambda s: reports.purchases(s, year, None)),
        ("top members (10)", lambda s: reports.top_members(s, 10)),
        ("experiments", lambda s: reports.experiment_summaries(s)),
    ]


async def _bench(url: str, members: int, days: int, reads: int, load: bool) -> None:
    if load:
        await load_rollups(url, members, days)
    async with open_runtime(url, NOW) as runtime:
        print(f"{'report':<30} latency over {reads} runs")
        for label, run in _reports(days):
            await run(runtime)  # type: ignore[operator]  # warm the statement cache
            samples = []
            for _ in range(reads):
                started = time.perf_counter()
                await run(runtime)  # type: ignore[operator]
                samples.append(time.perf_counter() - started)
            print(f"{label:<30} {_ms(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--no-load", action="store_true", help="read what DATABASE_URL holds")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    server = None
    if not url:
        from service.store.embedded import EmbeddedPostgres, scratch_folder

        server = EmbeddedPostgres(scratch_folder("loyalty-reports-bench-"))
        url = server.acquire("loyalty_bench")
        print(f"embedded PostgreSQL in {server.root}")
    try:
        migrate(url)
        asyncio.run(_bench(url, args.members, args.days, args.reads, not args.no_load))
    finally:
        if server is not None:
            server.release()


if __name__ == "__main__":
    main()
