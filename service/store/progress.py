"""SQL for what events leave besides points: cap usage, budgets, plain badges and member
attributes set by rules (counters are bumped with the event row: `store/events.py`; challenge
progress is in `store/gamification.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import (
    member_badges,
    members,
    rule_budgets,
    rule_usage,
)

__all__ = [
    "add_usage",
    "budget_spent",
    "grant_badge",
    "merge_attributes",
    "spend_budget",
]

_usage = insert(rule_usage).values(
    member_id=bindparam("member_id"),
    rule_id=bindparam("rule_id"),
    period_key=bindparam("period_key"),
    times=bindparam("times"),
    points=bindparam("points"),
)
_USAGE = compile_query(
    _usage.on_conflict_do_update(
        index_elements=[rule_usage.c.member_id, rule_usage.c.rule_id, rule_usage.c.period_key],
        set_={
            "times": rule_usage.c.times + _usage.excluded.times,
            "points": rule_usage.c.points + _usage.excluded.points,
        },
    )
)


async def add_usage(conn: Connection, member_id: str, rows: Sequence[dict[str, Any]]) -> None:
    """Add rule firings (rule_id, period_key, times, points) to the member's cap usage."""
    if rows:
        await conn.executemany(_USAGE, [{"member_id": member_id, **row} for row in rows])


_ENSURE_BUDGET = compile_query(
    insert(rule_budgets)
    .values(rule_id=bindparam("rule_id"))
    .on_conflict_do_nothing(index_elements=[rule_budgets.c.rule_id])
)
_LOCK_BUDGET = compile_query(
    select(rule_budgets.c.spent)
    .where(rule_budgets.c.rule_id == bindparam("rule_id"))
    .with_for_update()
)
_ADD_BUDGET = compile_query(
    update(rule_budgets)
    .where(rule_budgets.c.rule_id == bindparam("rule_id"))
    .values(spent=rule_budgets.c.spent + bindparam("points"))
)
_SPENT = compile_query(
    select(rule_budgets.c.rule_id, rule_budgets.c.spent).where(
        rule_budgets.c.rule_id == func.any(bindparam("rule_ids"))
    )
)


async def spend_budget(conn: Connection, rule_id: str, points: int, budget: int) -> int:
    """Take up to `points` from a rule's global budget; returns what was granted (maybe 0).

    The budget row stays locked until the event's transaction ends, so concurrent events
    granting from one budget queue up and can never overshoot it.
    """
    await conn.execute(_ENSURE_BUDGET, {"rule_id": rule_id})
    spent = int(await conn.fetchval(_LOCK_BUDGET, {"rule_id": rule_id}))
    granted = max(0, min(points, budget - spent))
    if granted:
        await conn.execute(_ADD_BUDGET, {"rule_id": rule_id, "points": granted})
    return granted


async def budget_spent(conn: Connection, rule_ids: Sequence[str]) -> dict[str, int]:
    """Points already granted by each of these budgeted rules."""
    if not rule_ids:
        return {}
    rows = await conn.fetch(_SPENT, {"rule_ids": list(rule_ids)})
    return {row["rule_id"]: int(row["spent"]) for row in rows}


_BADGE = compile_query(
    insert(member_badges)
    .values(
        member_id=bindparam("member_id"),
        badge_id=bindparam("badge_id"),
        level=bindparam("level"),
        granted_at=bindparam("at"),
        event_id=bindparam("event_id"),
        rule_id=bindparam("rule_id"),
    )
    .on_conflict_do_nothing(index_elements=[member_badges.c.member_id, member_badges.c.badge_id])
)


async def grant_badge(
    conn: Connection,
    member_id: str,
    badge_id: str,
    at: datetime,
    event_id: str | None,
    rule_id: str | None,
    level: int = 1,
) -> None:
    """Grant a badge once (a second grant changes nothing)."""
    await conn.execute(
        _BADGE,
        {
            "member_id": member_id,
            "badge_id": badge_id,
            "level": level,
            "at": at,
            "event_id": event_id,
            "rule_id": rule_id,
        },
    )


_ATTRIBUTES = compile_query(
    update(members)
    .where(members.c.member_id == bindparam("member_id"))
    .values(
        attributes=members.c.attributes.op("||")(bindparam("attributes")), updated_at=func.now()
    )
)


async def merge_attributes(conn: Connection, member_id: str, attributes: dict[str, Any]) -> None:
    """Set member attributes (rules' `attribute:` actions)."""
    await conn.execute(_ATTRIBUTES, {"member_id": member_id, "attributes": attributes})
