"""The program's rollups kept small and checked: the worker folds past days' shards into one
row; `loyalty reports verify` and `rebuild` set them against the same figures computed from the
ledger, the lots, the orders and the histories (a full scan, for checks and upgrades, never for
a report)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec

from service.store import program_rollups as store
from service.store.database import Database

__all__ = ["Difference", "fold_past_days", "rebuild_rollups", "verify_rollups"]


class Difference(msgspec.Struct, frozen=True, kw_only=True):
    """One figure on which the rollups and the direct computation disagree."""

    metric: str
    day: date
    key: str
    stored: Decimal
    computed: Decimal


async def verify_rollups(db: Database, timezone: str) -> tuple[int, list[Difference]]:
    """(figures compared, the differences), with days in `timezone` (the program's)."""
    async with db.transaction() as conn:  # one snapshot for both sides
        await conn.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        stored = {(f.metric, f.day, f.key): f.value for f in await store.stored(conn)}
        computed = {(f.metric, f.day, f.key): f.value for f in await store.computed(conn, timezone)}
    keys = sorted(stored.keys() | computed.keys())
    differences = [
        Difference(
            metric=m,
            day=d,
            key=k,
            stored=stored.get((m, d, k), Decimal(0)),
            computed=computed.get((m, d, k), Decimal(0)),
        )
        for m, d, k in keys
        if stored.get((m, d, k), Decimal(0)) != computed.get((m, d, k), Decimal(0))
    ]
    return len(keys), differences


async def rebuild_rollups(db: Database, timezone: str) -> int:
    """Replace the rollups with the direct computation (saves wait meanwhile); rows written."""
    async with db.transaction() as conn:
        return await store.rebuild(conn, timezone)


FOLD_AFTER_DAYS = 2
"""A day's shards are folded once it is this many local days past (late events are rare)."""


async def fold_past_days(db: Database, now: datetime, timezone: str) -> int:
    """Fold the shards of the days more than FOLD_AFTER_DAYS before today (the worker's
    pass; cheap when there is nothing to fold: a partial index finds the rows)."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    async with db.transaction() as conn:
        return await store.fold_shards(conn, today - timedelta(days=FOLD_AFTER_DAYS))
