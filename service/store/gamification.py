"""SQL for challenge progress, badge levels and streaks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert

from service.core.challenges import ChallengeProgress
from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import (
    challenge_progress,
    member_badge_levels,
    member_badges,
    member_streaks,
    streak_units,
)

__all__ = [
    "badge_rows",
    "challenge_rows",
    "grant_level",
    "save_challenge",
    "save_streak",
]

_cp = challenge_progress.c
_ALL_CHALLENGES = compile_query(
    select(_cp.challenge_id, _cp.window_key, _cp.step, _cp.progress, _cp.completed_at)
    .where(_cp.member_id == bindparam("member_id"))
    .order_by(_cp.completed_at.desc().nulls_first(), _cp.window_key.desc())
)
_save_challenge = insert(challenge_progress).values(
    member_id=bindparam("member_id"),
    challenge_id=bindparam("challenge_id"),
    window_key=bindparam("window_key"),
    step=bindparam("step"),
    progress=bindparam("progress"),
    completed_at=bindparam("completed_at"),
)
_SAVE_CHALLENGE = compile_query(
    _save_challenge.on_conflict_do_update(
        index_elements=[_cp.member_id, _cp.challenge_id, _cp.window_key],
        set_={
            "step": _save_challenge.excluded.step,
            "progress": _save_challenge.excluded.progress,
            "completed_at": _save_challenge.excluded.completed_at,
        },
    )
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
_grant = insert(member_badges).values(
    member_id=bindparam("member_id"),
    badge_id=bindparam("badge_id"),
    level=bindparam("level"),
    granted_at=bindparam("at"),
    event_id=bindparam("event_id"),
    rule_id=bindparam("rule_id"),
)
_GRANT = compile_query(
    _grant.on_conflict_do_update(
        index_elements=[member_badges.c.member_id, member_badges.c.badge_id],
        set_={"level": func.greatest(member_badges.c.level, _grant.excluded.level)},
    )
)
_LEVEL = compile_query(
    insert(member_badge_levels)
    .values(
        member_id=bindparam("member_id"),
        badge_id=bindparam("badge_id"),
        level=bindparam("level"),
        level_name=bindparam("level_name"),
        granted_at=bindparam("at"),
        event_id=bindparam("event_id"),
    )
    .on_conflict_do_nothing()
)
_ADD_UNIT = compile_query(
    insert(streak_units)
    .values(
        member_id=bindparam("member_id"), streak_id=bindparam("streak_id"), unit=bindparam("unit")
    )
    .on_conflict_do_nothing()
)
_save_streak = insert(member_streaks).values(
    member_id=bindparam("member_id"),
    streak_id=bindparam("streak_id"),
    longest=bindparam("longest"),
    run_start=bindparam("run_start"),
    rewarded=bindparam("rewarded"),
)
_SAVE_STREAK = compile_query(
    _save_streak.on_conflict_do_update(
        index_elements=[member_streaks.c.member_id, member_streaks.c.streak_id],
        set_={
            "longest": func.greatest(member_streaks.c.longest, _save_streak.excluded.longest),
            "run_start": _save_streak.excluded.run_start,
            "rewarded": _save_streak.excluded.rewarded,
        },
    )
)


async def challenge_rows(conn: Connection, member_id: str) -> list[Any]:
    """Every challenge window the member has progress in."""
    return await conn.fetch(_ALL_CHALLENGES, {"member_id": member_id})


async def save_challenge(
    conn: Connection,
    member_id: str,
    challenge_id: str,
    window_key: str,
    progress: ChallengeProgress,
    completed_at: datetime | None,
) -> None:
    """Store where the member now stands in one challenge window."""
    await conn.execute(
        _SAVE_CHALLENGE,
        {
            "member_id": member_id,
            "challenge_id": challenge_id,
            "window_key": window_key,
            "step": progress.step,
            "progress": progress.progress,
            "completed_at": completed_at,
        },
    )


async def badge_rows(conn: Connection, member_id: str) -> tuple[list[Any], list[Any]]:
    """(badges held, levels reached with their dates)."""
    held = await conn.fetch(_BADGE_ROWS, {"member_id": member_id})
    levels = await conn.fetch(_LEVEL_ROWS, {"member_id": member_id})
    return held, levels


async def grant_level(
    conn: Connection,
    member_id: str,
    badge_id: str,
    level: int,
    level_name: str,
    at: datetime,
    event_id: str | None,
    rule_id: str | None,
) -> None:
    """Grant a level of a levelled badge (raising the badge's level) once, with its date."""
    params = {"member_id": member_id, "badge_id": badge_id, "at": at, "event_id": event_id}
    await conn.execute(_GRANT, {**params, "level": level, "rule_id": rule_id})
    await conn.execute(_LEVEL, {**params, "level": level, "level_name": level_name})


async def save_streak(
    conn: Connection,
    member_id: str,
    streak_id: str,
    unit: date,
    longest: int,
    run_start: date | None,
    rewarded: int,
) -> None:
    """Record a qualifying unit and the streak's run."""
    params = {"member_id": member_id, "streak_id": streak_id}
    await conn.execute(_ADD_UNIT, {**params, "unit": unit})
    await conn.execute(
        _SAVE_STREAK,
        {**params, "longest": longest, "run_start": run_start, "rewarded": rewarded},
    )
