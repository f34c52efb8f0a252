"""SQL for challenge progress, badge levels and streaks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import (
    challenge_progress,
    member_badge_levels,
    member_badges,
)

__all__ = [
    "badge_rows",
    "challenge_rows",
]


_cp = challenge_progress.c
_ALL_CHALLENGES = compile_query(
    select(_cp.challenge_id, _cp.window_key, _cp.step, _cp.progress, _cp.completed_at)
    .where(_cp.member_id == bindparam("member_id"))
    .order_by(_cp.completed_at.desc().nulls_first(), _cp.window_key.desc())
)
_BADGE_ROWS = compile_query(
    select(
        member_badges.c.badge_id,
        member_badges.c.level,
        member_badges.c.granted_at,
        member_badges.c.rule_id,
    ).where(member_badges.c.member_id == bindparam("member_id"))
)
_LEVEL_ROWS = compile_query(
    select(
        member_badge_levels.c.badge_id,
        member_badge_levels.c.level,
        member_badge_levels.c.level_name,
        member_badge_levels.c.granted_at,
    )
    .where(member_badge_levels.c.member_id == bindparam("member_id"))
    .order_by(member_badge_levels.c.badge_id, member_badge_levels.c.level)
)


async def challenge_rows(conn: Connection, member_id: str) -> list[Any]:
    """Every challenge window the member has progress in."""
    return await conn.fetch(_ALL_CHALLENGES, {"member_id": member_id})


async def badge_rows(conn: Connection, member_id: str) -> tuple[list[Any], list[Any]]:
    """(badges held, levels reached with their dates)."""
    held = await conn.fetch(_BADGE_ROWS, {"member_id": member_id})
    levels = await conn.fetch(_LEVEL_ROWS, {"member_id": member_id})
    return held, levels
