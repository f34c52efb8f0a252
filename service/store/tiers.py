"""SQL for tiers: the member's tier row, its history, and per-day qualifying metrics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert

from service.core.tiers import TierMove, TierState
from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import member_tiers, tier_history, tier_metric_days

__all__ = [
    "add_metrics",
    "fetch_history",
    "fetch_tier",
    "members_due",
    "metric_days",
    "purchase_time",
    "save_tier",
]

_FETCH = compile_query(
    select(member_tiers.c.tier, member_tiers.c.since, member_tiers.c.held_until).where(
        member_tiers.c.member_id == bindparam("member_id")
    )
)
_DAYS = compile_query(
    select(tier_metric_days.c.day, tier_metric_days.c.value).where(
        tier_metric_days.c.member_id == bindparam("member_id"),
        tier_metric_days.c.metric == bindparam("metric"),
        tier_metric_days.c.day >= bindparam("since"),
    )
)
_add = insert(tier_metric_days).values(
    member_id=bindparam("member_id"),
    metric=bindparam("metric"),
    day=bindparam("day"),
    value=bindparam("value"),
)
_ADD = compile_query(
    _add.on_conflict_do_update(
        index_elements=[
            tier_metric_days.c.member_id,
            tier_metric_days.c.metric,
            tier_metric_days.c.day,
        ],
        set_={"value": tier_metric_days.c.value + _add.excluded.value},
    )
)
_save = insert(member_tiers).values(
    member_id=bindparam("member_id"),
    tier=bindparam("tier"),
    since=bindparam("since"),
    held_until=bindparam("held_until"),
)
_SAVE = compile_query(
    _save.on_conflict_do_update(
        index_elements=[member_tiers.c.member_id],
        set_={
            "tier": _save.excluded.tier,
            "since": _save.excluded.since,
            "held_until": _save.excluded.held_until,
            "updated_at": func.now(),
        },
    )
)
_LAST_SEQ = compile_query(
    select(func.coalesce(func.max(tier_history.c.seq), 0)).where(
        tier_history.c.member_id == bindparam("member_id")
    )
)
_MOVE = compile_query(
    insert(tier_history).values(
        member_id=bindparam("member_id"),
        seq=bindparam("seq"),
        from_tier=bindparam("from_tier"),
        to_tier=bindparam("to_tier"),
        at=bindparam("at"),
        reason=bindparam("reason"),
    )
)
_HISTORY = compile_query(
    select(
        tier_history.c.from_tier, tier_history.c.to_tier, tier_history.c.at, tier_history.c.reason
    )
    .where(tier_history.c.member_id == bindparam("member_id"))
    .order_by(tier_history.c.seq.desc())
    .limit(bindparam("limit"))
)
_DUE = compile_query(
    select(member_tiers.c.member_id)
    .where(member_tiers.c.held_until <= bindparam("now"))
    .order_by(member_tiers.c.held_until)
    .limit(bindparam("limit"))
)


async def fetch_tier(conn: Connection, member_id: str) -> TierState:
    """The stored tier (empty when the member never had one)."""
    row = await conn.fetchrow(_FETCH, {"member_id": member_id})
    if row is None:
        return TierState()
    return TierState(row["tier"], row["since"], row["held_until"])


async def metric_days(
    conn: Connection, member_id: str, metric: str, since: date
) -> dict[date, float]:
    """Per-day values of one metric from `since` on."""
    rows = await conn.fetch(_DAYS, {"member_id": member_id, "metric": metric, "since": since})
    return {row["day"]: float(row["value"]) for row in rows}


async def add_metrics(
    conn: Connection, member_id: str, rows: Sequence[tuple[str, date, Decimal]]
) -> None:
    """Add (metric, day, value) amounts to the member's per-day metrics."""
    params = [{"member_id": member_id, "metric": m, "day": d, "value": v} for m, d, v in rows if v]
    if params:
        await conn.executemany(_ADD, params)


async def save_tier(
    conn: Connection, member_id: str, state: TierState, moves: Sequence[TierMove]
) -> None:
    """Store the tier and append its moves to the history."""
    await conn.execute(
        _SAVE,
        {
            "member_id": member_id,
            "tier": state.tier,
            "since": state.since,
            "held_until": state.held_until,
        },
    )
    if moves:
        last = int(await conn.fetchval(_LAST_SEQ, {"member_id": member_id}))
        await conn.executemany(
            _MOVE,
            [
                {
                    "member_id": member_id,
                    "seq": last + i + 1,
                    "from_tier": move.from_tier,
                    "to_tier": move.to_tier,
                    "at": move.at,
                    "reason": move.reason,
                }
                for i, move in enumerate(moves)
            ],
        )


async def fetch_history(conn: Connection, member_id: str, limit: int = 20) -> list[TierMove]:
    """The latest tier moves, newest first."""
    rows = await conn.fetch(_HISTORY, {"member_id": member_id, "limit": limit})
    return [TierMove(r["from_tier"], r["to_tier"], r["at"], r["reason"]) for r in rows]


async def members_due(conn: Connection, now: datetime, limit: int) -> list[str]:
    """Members whose tier lapses by `now` (the worker reviews them)."""
    rows = await conn.fetch(_DUE, {"now": now, "limit": limit})
    return [row["member_id"] for row in rows]


_PURCHASE_AT_SQL = """
SELECT e.occurred_at FROM orders o
JOIN events e ON e.member_id = o.member_id AND e.event_id = o.purchase_event_id
WHERE o.member_id = $1 AND o.order_id = $2
"""


async def purchase_time(conn: Connection, member_id: str, order_id: str) -> datetime | None:
    """When the purchase behind an order happened (a refund's metrics go to that day)."""
    value = await conn.raw.fetchval(_PURCHASE_AT_SQL, member_id, order_id)
    return value if isinstance(value, datetime) else None
