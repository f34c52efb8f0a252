"""Member search benchmark: 1,000,000 members; each kind of search, first page and deep pages.

    .venv/bin/python -m bench.search_bench [--members 1000000] [--reads 30]

Runs against `DATABASE_URL` (a scratch database: it is migrated, the demo program published and
its member tables filled) or, unset, an embedded PostgreSQL in a temporary folder. Members get
a display name from a small list of first and last names, a region (north/south/east/west), a
tier (70 % member, 20 % silver, 8 % gold, 2 % platinum) and, for 80 % of them, purchases (1-40)
last made 0-300 days ago. Loads with COPY, VACUUM ANALYZEs, then times the use case itself
(`views.member_search.search_members`, its statements through asyncpg) for each search.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.runtime import open_runtime
from service.store.migrate import migrate
from service.views.member_search import MemberQuery, search_members

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FIRST = ["Anna", "Bea", "Carl", "Dana", "Emil", "Frida", "Gustav", "Hanna", "Ivan", "Jonas"]
LAST = ["Berg", "Ek", "Lind", "Nord", "Strand", "Holm", "Dahl", "Sund", "Vik", "Ström"]


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(len(ordered) * 0.99) - 1)]
    return f"median {statistics.median(ordered) * 1000:8.2f} ms   p99 {p99 * 1000:8.2f} ms"


async def _load(url: str, count: int, rng: random.Random) -> None:
    members, tiers, counters, levels = [], [], [], []
    regions = ["north", "south", "east", "west"]
    for i in range(count):
        member_id = f"m{i:07d}"
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        attributes = {"region": rng.choice(regions), "newsletter": rng.random() < 0.3}
        members.append(
            (member_id, name, json.dumps(attributes), NOW - timedelta(days=rng.randrange(700)))
        )
        roll = rng.random()
        tier = (
            "member"
            if roll < 0.7
            else "silver"
            if roll < 0.9
            else "gold"
            if roll < 0.98
            else "platinum"
        )
        tiers.append((member_id, tier, NOW - timedelta(days=30)))
        if rng.random() < 0.8:
            last = NOW - timedelta(days=rng.random() * 300)
            counters.append((member_id, "purchase", rng.randint(1, 40), last))
            days = (NOW - last).days  # the level as the pipeline records it, roughly
            level = (
                "highly_engaged"
                if days < 20 and rng.random() < 0.5
                else "moderately_engaged"
                if days < 60
                else "at_risk"
                if days < 160
                else "disengaged"
            )
            levels.append((member_id, level, last, 1, last + timedelta(days=30)))
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE members, member_tiers, member_counters, member_engagement")
        started = time.perf_counter()
        await conn.execute(
            "CREATE TEMP TABLE m_load (member_id text, display_name text, attributes text, "
            "created_at timestamptz)"
        )
        await conn.copy_records_to_table("m_load", records=members)
        await conn.execute(
            "INSERT INTO members (member_id, display_name, attributes, created_at) "
            "SELECT member_id, display_name, attributes::jsonb, created_at FROM m_load"
        )
        await conn.copy_records_to_table(
            "member_tiers", records=tiers, columns=["member_id", "tier", "since"]
        )
        await conn.copy_records_to_table(
            "member_counters",
            records=counters,
            columns=["member_id", "event_type", "count", "last_at"],
        )
        await conn.copy_records_to_table(
            "member_engagement",
            records=levels,
            columns=["member_id", "level", "since", "seq", "drops_at"],
        )
        print(f"loaded {count:,} members in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        await conn.execute(
            "VACUUM ANALYZE members, member_tiers, member_counters, member_engagement"
        )
        print(f"vacuum analyze: {time.perf_counter() - started:.1f} s")
    finally:
        await conn.close()


SEARCHES: list[tuple[str, dict[str, object]]] = [
    ("first page, no filter", {}),
    ("id prefix m05 (100,000 match)", {"id_prefix": "m05"}),
    ("id prefix m0123456 (1 match)", {"id_prefix": "m0123456"}),
    ("name prefix 'anna' (10 %)", {"name": "anna"}),
    ("name prefix 'anna str' (1 %)", {"name": "anna str"}),
    ("name prefix 'zz' (none)", {"name": "zz"}),
    ("attribute region=north (25 %)", {"attribute": "region", "value": "north"}),
    ("attribute + name", {"attribute": "region", "value": "north", "name": "bea"}),
    ("tier platinum (2 %)", {"tier": "platinum"}),
    ("tier gold + region north", {"tier": "gold", "attribute": "region", "value": "north"}),
    ("engagement highly_engaged", {"engagement": "highly_engaged"}),
    ("engagement moderately_engaged", {"engagement": "moderately_engaged"}),
    ("engagement at_risk", {"engagement": "at_risk"}),
    ("engagement disengaged", {"engagement": "disengaged"}),
    ("active in the last 7 days", {"active_after": NOW - timedelta(days=7)}),
    ("inactive for 200 days", {"active_before": NOW - timedelta(days=200)}),
    ("deep page: cursor m0900000", {"cursor": "m0900000"}),
    ("deep page + tier silver", {"cursor": "m0900000", "tier": "silver"}),
]


async def _bench(url: str, count: int, reads: int, load: bool) -> None:
    rng = random.Random(7)
    if load:
        await _load(url, count, rng)
    async with open_runtime(url, NOW) as runtime:
        print(f"{'search (limit 50)':<36} {'found':>5}  latency over {reads} runs")
        for label, params in SEARCHES:
            query = MemberQuery(limit=50, **params)  # type: ignore[arg-type]
            page = await search_members(runtime, query)  # warm the statement cache
            samples = []
            for _ in range(reads):
                started = time.perf_counter()
                await search_members(runtime, query)
                samples.append(time.perf_counter() - started)
            print(f"{label:<36} {len(page.members):>5}  {_ms(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=30)
    parser.add_argument(
        "--no-load", action="store_true", help="search what DATABASE_URL holds (a rerun)"
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    server = None
    if not url:
        from service.store.embedded import EmbeddedPostgres, scratch_folder

        server = EmbeddedPostgres(scratch_folder("loyalty-search-bench-"))
        url = server.acquire("loyalty_bench")
        print(f"embedded PostgreSQL in {server.root}")
    try:
        migrate(url)
        asyncio.run(_bench(url, args.members, args.reads, not args.no_load))
    finally:
        if server is not None:
            server.release()


if __name__ == "__main__":
    main()
