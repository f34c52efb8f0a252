"""The worker's fold of past days' rollup shards runs beside saves that still add to those
days (late events, imports): it must never deadlock with them, nor lose what they add."""

from __future__ import annotations

import asyncio
from datetime import date

from service.store.program_rollups import fold_shards

DAY = date(2026, 3, 1)
KEYS = ["a-rule", "b-rule", "c-rule"]


async def _totals(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with db.connection() as conn:
        rows = await conn.raw.fetch(
            "SELECT key, sum(value)::bigint AS total FROM program_rollups "
            "WHERE metric = 'earned' AND day = $1 GROUP BY key",
            DAY,
        )
    return {r["key"]: r["total"] for r in rows}


_ADD = (
    "INSERT INTO program_rollups AS t (metric, day, key, shard, value) "
    "VALUES ('earned', $1, $2, $3, $4) "
    "ON CONFLICT (metric, day, key, shard) DO UPDATE SET value = t.value + excluded.value"
)


async def test_a_fold_beside_a_save_of_the_same_past_day_neither_waits_nor_loses_a_point(db):
    async with db.transaction() as conn:
        for n, key in enumerate(KEYS):
            for shard in (0, 3, 5):
                await conn.raw.execute(_ADD, DAY, key, shard, 10 * (n + 1))
    before = await _totals(db)

    # a save of shard 3 holds the row of the last key (saves lock their rows sorted), and
    # will add to the first key's next: the fold, had it waited for the held row, would hold
    # the first key's while the save waits for it (a deadlock PostgreSQL breaks after a second)
    async with db.transaction() as save:
        await save.raw.execute(_ADD, DAY, KEYS[-1], 3, 1)
        async with db.transaction() as fold:
            remaining = await asyncio.wait_for(fold_shards(fold, date(2026, 3, 5)), timeout=5)
        assert remaining == len(KEYS)
        await save.raw.execute(_ADD, DAY, KEYS[0], 3, 1)

    after = await _totals(db)
    assert after == {k: v + (1 if k in (KEYS[0], KEYS[-1]) else 0) for k, v in before.items()}
    async with db.connection() as conn:
        left = await conn.raw.fetch(
            "SELECT key, shard FROM program_rollups WHERE day = $1 AND shard <> 0 ORDER BY key",
            DAY,
        )
    # the held row was skipped, the save's new one is new: both fold on the next pass
    assert [(r["key"], r["shard"]) for r in left] == [(KEYS[0], 3), (KEYS[-1], 3)]
    async with db.transaction() as fold:
        await fold_shards(fold, date(2026, 3, 5))
    assert await _totals(db) == after
    async with db.transaction() as conn:  # not the program's figures: the suite verifies those
        await conn.raw.execute("DELETE FROM program_rollups WHERE day = $1", DAY)
