"""Leaderboard benchmark: 1,000,000 members on one board; top-10, rank and update latency.

    .venv/bin/python bench/leaderboard_bench.py [--members 1000000] [--reads 1000]

Runs against `DATABASE_URL` (a scratch database: it is migrated and its board tables are
filled) or, unset, an embedded PostgreSQL in a temporary folder. Scores are log-normal (median
~660 points, a long tail up to ~10^6), times of reaching them spread over a month. Loads members
and scores with COPY, builds the histogram, VACUUM ANALYZEs, then measures at the database,
through asyncpg, the statements the service runs: the top 10; a member's standing (their row,
then rank + total + two neighbours each side, two statements) for members at the top, the
median and the bottom; and one score update (`views.boards.record`) inside a transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from service.core.boards import GROUP_SIZE, bucket_bounds, bucket_of, group_of, histogram_shard
from service.engine import Event, load_ruleset_from_files
from service.store import boards as board_store
from service.store.database import Connection, Database
from service.store.migrate import migrate
from service.views import boards

BOARD, PERIOD = "bench", "all"
PROGRAM = f"""
program:
  name: Leaderboard bench
  timezone: Europe/Berlin
leaderboards:
  - id: {BOARD}
    name: Bench board
    metric: points_earned
    period: all_time
"""
START = datetime(2026, 3, 1, tzinfo=UTC)


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(len(ordered) * 0.99) - 1)]
    return f"median {statistics.median(ordered) * 1000:6.3f} ms   p99 {p99 * 1000:6.3f} ms"


async def _timed(times: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    samples = []
    for i in range(times):
        started = time.perf_counter()
        await call(i)
        samples.append(time.perf_counter() - started)
    return samples


def _generate(count: int, rng: random.Random) -> list[tuple[str, int, datetime]]:
    rows = []
    for i in range(count):
        score = max(1, int(math.exp(rng.gauss(6.5, 1.2))))
        reached = START + timedelta(seconds=rng.randrange(30 * 86400))
        rows.append((f"m{i:07d}", score, reached))
    return rows


async def _load(url: str, rows: list[tuple[str, int, datetime]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE board_scores, board_buckets")
        await conn.execute("DELETE FROM members WHERE member_id LIKE 'm%'")
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "members",
            records=((m, f"Member {m[1:]}") for m, _, _ in rows),
            columns=["member_id", "display_name"],
        )
        await conn.copy_records_to_table(
            "board_scores",
            records=((m, BOARD, PERIOD, "", s, r) for m, s, r in rows),
            columns=["member_id", "board_id", "period_key", "segment", "score", "reached_at"],
        )
        copied = time.perf_counter() - started
        await _copy_histogram(conn, rows)
        await conn.execute("VACUUM ANALYZE members")
        await conn.execute("VACUUM ANALYZE board_scores")
        await conn.execute("VACUUM ANALYZE board_buckets")
        await conn.execute("CHECKPOINT")
        loaded = time.perf_counter() - started
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('board_scores'))")
        rows_h = await conn.fetchval("SELECT count(*) FROM board_buckets WHERE level = 0")
        biggest = max(Counter(bucket_of(s) for _, s, _ in rows).values())
        print(
            f"loaded {len(rows):,} members: COPY {copied:.1f} s, with VACUUM ANALYZE "
            f"{loaded:.1f} s; board_scores {size} with indexes"
        )
        buckets = len({bucket_of(s) for _, s, _ in rows})
        print(
            f"histogram: {rows_h} bucket rows ({buckets} buckets x <= 8 shards), "
            f"largest bucket {biggest:,} members"
        )
    finally:
        await conn.close()


async def _bench(url: str, members: int, reads: int) -> None:
    rng = random.Random(20260302)
    rows = _generate(members, rng)
    await _load(url, rows)
    ordered = sorted(rows, key=lambda r: (-r[1], r[2], r[0]))
    rank_of = {m: i + 1 for i, (m, _, _) in enumerate(ordered)}
    ruleset = load_ruleset_from_files({"program.yaml": PROGRAM})
    db = Database(url, min_size=1, max_size=10)
    await db.open()
    try:
        async with db.connection() as conn:
            started = time.perf_counter()
            rebuilt = await boards.rebuild_histogram(conn, BOARD, PERIOD)
            print(
                f"histogram rebuild from scores (GROUP BY score): "
                f"{time.perf_counter() - started:.2f} s for {rebuilt:,} members"
            )
        # back to the sharded histogram the writers maintain
        await _load_histogram_only(url, rows)

        async with db.connection() as conn:
            await _timed(200, lambda _: board_store.top_rows(conn, BOARD, PERIOD, "", 10))
            top = await _timed(reads, lambda _: board_store.top_rows(conn, BOARD, PERIOD, "", 10))
            print(f"top-10                         {_ms(top)}")
            groups = {
                "top (ranks 1-1,000)": ordered[:1000],
                "median (ranks ~500,000)": ordered[members // 2 - 500 : members // 2 + 500],
                "bottom (last 1,000)": ordered[-1000:],
            }
            for label, group in groups.items():
                picks = [group[rng.randrange(len(group))][0] for _ in range(reads)]
                found: list[int] = []

                async def standing(
                    i: int, picks: list[str] = picks, found: list[int] = found
                ) -> None:
                    found.append(await _rank(conn, picks[i]))

                samples = await _timed(reads, standing)
                assert all(r == rank_of[m] for r, m in zip(found, picks, strict=True))
                print(f"rank+neighbours {label:<24} {_ms(samples)}")
        await _updates(db, ruleset, rows, rng, reads)
    finally:
        await db.close()


async def _load_histogram_only(url: str, rows: list[tuple[str, int, datetime]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE board_buckets")
        await _copy_histogram(conn, rows)
        await conn.execute("VACUUM ANALYZE board_buckets")
    finally:
        await conn.close()


async def _copy_histogram(conn: asyncpg.Connection, rows: list[tuple[str, int, datetime]]) -> None:
    """The histogram as concurrent writers would have left it: counts spread over shards."""
    counts = Counter((bucket_of(s), histogram_shard(m)) for m, s, _ in rows)
    groups = Counter()  # type: Counter[tuple[int, int]]
    for (bucket, shard), n in counts.items():
        groups[(group_of(bucket), shard)] += n
    records = [(BOARD, PERIOD, "", 0, b, sh, n) for (b, sh), n in sorted(counts.items())]
    records += [(BOARD, PERIOD, "", 1, g, sh, n) for (g, sh), n in sorted(groups.items())]
    await conn.copy_records_to_table(
        "board_buckets",
        records=records,
        columns=["board_id", "period_key", "segment", "level", "bucket", "shard", "members"],
    )


async def _rank(conn: Connection, member_id: str) -> int:
    """What GET /v1/leaderboards/{board}/members/{id} runs: two statements."""
    row = await board_store.member_standing_row(conn, member_id, BOARD, PERIOD, None, None)
    bucket = bucket_of(int(row["score"]))
    around = await board_store.neighbourhood(
        conn,
        board_id=BOARD,
        period_key=PERIOD,
        segment="",
        bucket=bucket,
        group_end=(group_of(bucket) + 1) * GROUP_SIZE,
        bucket_high=bucket_bounds(bucket)[1],
        member_id=member_id,
        neg_score=int(row["neg_score"]),
        reached_at=row["reached_at"],
        around=2,
    )
    return around.in_higher_buckets + around.ahead_in_bucket + 1


async def _updates(db: Database, ruleset, rows, rng: random.Random, reads: int) -> None:  # type: ignore[no-untyped-def]
    now = START + timedelta(days=40)
    record_samples, tx_samples = [], []
    for i in range(reads):
        member = rows[rng.randrange(len(rows))][0]
        points = rng.randint(5, 500)
        event = Event(id=f"u{i}", type="purchase", member_id=member, occurred_at=now, attributes={})
        started = time.perf_counter()
        async with db.transaction() as conn:
            begun = time.perf_counter()
            await boards.record(conn, ruleset, event, points, now + timedelta(microseconds=i))
            record_samples.append(time.perf_counter() - begun)
        tx_samples.append(time.perf_counter() - started)
    print(f"update: record() in a transaction  {_ms(record_samples)}")
    print(f"update: whole transaction (commit) {_ms(tx_samples)}")

    # Contention: 8 concurrent writers for ~5 s, each event its own transaction.
    async def writer(w: int, until: float, done: list[int]) -> None:
        local = random.Random(w)
        while time.perf_counter() < until:
            member = rows[local.randrange(len(rows))][0]
            event = Event(id="c", type="purchase", member_id=member, occurred_at=now, attributes={})
            async with db.transaction() as conn:
                await boards.record(conn, ruleset, event, local.randint(5, 500), now)
            done[0] += 1

    done = [0]
    until = time.perf_counter() + 5
    await asyncio.gather(*(writer(w, until, done) for w in range(8)))
    print(f"update throughput, 8 concurrent writers: {done[0] / 5:,.0f} transactions/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=1000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    server = None
    if not url:
        from service.store.embedded import EmbeddedPostgres, scratch_folder

        server = EmbeddedPostgres(scratch_folder("loyalty-board-bench-"))
        url = server.acquire("loyalty_bench")
        print(f"embedded PostgreSQL in {server.root}")
    try:
        migrate(url)
        asyncio.run(_bench(url, args.members, args.reads))
    finally:
        if server is not None:
            server.release()


if __name__ == "__main__":
    main()
