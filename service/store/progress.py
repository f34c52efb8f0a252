"""SQL for challenge progress, badge levels and streaks."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import bindparam, select

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import (
    challenge_progress,
    member_badge_levels,
    member_badges,
)

__all__ = [
    "HeldBadge",
    "ReachedLevel",
    "StoredChallenge",
    "badge_rows",
    "challenge_rows",
]


class StoredChallenge(msgspec.Struct, frozen=True, kw_only=True):
    """A member's progress in one window of a challenge."""

    challenge_id: str
    window_key: str
    step: int
    progress: int
    completed_at: datetime | None


class HeldBadge(msgspec.Struct, frozen=True, kw_only=True):
    """A badge a member holds, at its level, and the rule that granted it."""

    badge_id: str
    level: int
    granted_at: datetime
    rule_id: str | None


class ReachedLevel(msgspec.Struct, frozen=True, kw_only=True):
    """A level of a levelled badge a member reached, and when."""

    badge_id: str
    level: int
    level_name: str
    granted_at: datetime


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


async def challenge_rows(conn: Connection, member_id: str) -> list[StoredChallenge]:
    """Every challenge window the member has progress in."""
    rows = await conn.fetch(_ALL_CHALLENGES, {"member_id": member_id})
    return [StoredChallenge(**row) for row in rows]


async def badge_rows(
    conn: Connection, member_id: str
) -> tuple[list[HeldBadge], list[ReachedLevel]]:
    """(badges held, levels reached with their dates)."""
    held = await conn.fetch(_BADGE_ROWS, {"member_id": member_id})
    levels = await conn.fetch(_LEVEL_ROWS, {"member_id": member_id})
    return [HeldBadge(**row) for row in held], [ReachedLevel(**row) for row in levels]
