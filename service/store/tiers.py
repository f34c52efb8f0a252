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
    "members_due",
    "purchase_time",
    "save_tier",
]

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
_DUE = compile_query(
    select(member_tiers.c.member_id)
    .where(member_tiers.c.held_until <= bindparam("now"))
    .order_by(member_tiers.c.held_until)
    .limit(bindparam("limit"))
)


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
