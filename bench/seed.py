"""Seeding the bench database with COPY: members with spendable points, a board, an API key.

Each member `m0000000`... gets what one `earn` of already-available points would have left:
one lot, one ledger entry (entry_no 1) and the balances row that equals it, so redemptions
have points to spend and `loyalty ledger verify` still passes. Every member also gets a score
on the demo board `weekly-points` for the current week (log-normal, median ~660) and the
board's histogram is built the way concurrent writers leave it, so a rank read costs what it
costs on a full board. Scratch copies of the three tables the raw PostgreSQL ceiling writes
(`bench_events`, `bench_ledger_entries`, `bench_balances`) are made here too.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

from service.auth import generate_key
from service.core.boards import bucket_of, group_of, histogram_shard, period_key_for
from service.store import keys as key_store
from service.store.database import Connection

BOARD = "weekly-points"
TIMEZONE = "Europe/Berlin"
SEED_POINTS = 1_000_000
"""Available points per member: enough for every redemption a run makes."""


async def create_key(conn: asyncpg.Connection) -> str:
    """A fresh admin key (stored hashed, as `loyalty keys create` does); returns its token."""
    issued = generate_key("bench", ["admin"])
    await key_store.insert_key(
        Connection(conn),
        key_id=issued.key_id,
        name=issued.name,
        secret_hash=issued.secret_hash,
        scopes=issued.scopes,
    )
    return issued.token


async def seed_members(conn: asyncpg.Connection, count: int) -> float:
    """Members, their points and their board scores, all by COPY; returns the seconds it took."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    earned_at = now - timedelta(days=2)
    expires_at = earned_at + timedelta(days=365)
    ids = [f"m{i:07d}" for i in range(count)]
    await conn.copy_records_to_table(
        "members",
        records=((m, f"Member {m[1:]}") for m in ids),
        columns=["member_id", "display_name"],
    )
    await conn.copy_records_to_table(
        "lots",
        records=(
            (m, "seed", earned_at, earned_at, expires_at, SEED_POINTS, SEED_POINTS, "available")
            for m in ids
        ),
        columns=[
            "member_id",
            "lot_id",
            "earned_at",
            "activates_at",
            "expires_at",
            "points",
            "remaining",
            "state",
        ],
    )
    await conn.copy_records_to_table(
        "ledger_entries",
        records=(
            (m, 1, "earn", "available", SEED_POINTS, "seed", "bench seed", earned_at, "bench")
            for m in ids
        ),
        columns=[
            "member_id",
            "entry_no",
            "kind",
            "balance",
            "points",
            "lot_id",
            "reason",
            "at",
            "actor",
        ],
    )
    await conn.copy_records_to_table(
        "balances",
        records=((m, SEED_POINTS, SEED_POINTS, 1, expires_at) for m in ids),
        columns=["member_id", "available", "lifetime_earned", "entries", "next_maturity_at"],
    )
    await _seed_board(conn, ids, now)
    await _scratch_tables(conn)
    for table in ("members", "lots", "ledger_entries", "balances", "board_scores"):
        await conn.execute(f"VACUUM ANALYZE {table}")
    await conn.execute("CHECKPOINT")
    return time.perf_counter() - started


async def _seed_board(conn: asyncpg.Connection, ids: list[str], now: datetime) -> None:
    rng = random.Random(20261123)
    period = period_key_for("week", now, TIMEZONE)
    rows = []
    for member in ids:
        score = max(1, int(math.exp(rng.gauss(6.5, 1.2))))
        rows.append(
            (member, BOARD, period, "", score, now - timedelta(seconds=rng.randrange(86400)))
        )
    await conn.copy_records_to_table(
        "board_scores",
        records=rows,
        columns=["member_id", "board_id", "period_key", "segment", "score", "reached_at"],
    )
    counts = Counter((bucket_of(r[4]), histogram_shard(r[0])) for r in rows)
    groups: Counter[tuple[int, int]] = Counter()
    for (bucket, shard), n in counts.items():
        groups[(group_of(bucket), shard)] += n
    records = [(BOARD, period, "", 0, b, sh, n) for (b, sh), n in sorted(counts.items())]
    records += [(BOARD, period, "", 1, g, sh, n) for (g, sh), n in sorted(groups.items())]
    await conn.copy_records_to_table(
        "board_buckets",
        records=records,
        columns=["board_id", "period_key", "segment", "level", "bucket", "shard", "members"],
    )


async def _scratch_tables(conn: asyncpg.Connection) -> None:
    """Same columns, keys and indexes as the real tables; balances start as the real ones."""
    for table in ("events", "ledger_entries", "balances"):
        await conn.execute(f"CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
    await conn.execute("INSERT INTO bench_balances SELECT * FROM balances")
    await conn.execute("VACUUM ANALYZE bench_balances")
