"""What an app draws a game screen from: every badge with its levels and the member's progress
toward each (earned or not), every challenge running now with progress and time left, every
streak with its next milestone; and the program's leaderboards with their current periods."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from service.core.badges import next_level
from service.core.boards import period_key_for
from service.core.periods import period_bounds
from service.engine.board_load import period_text
from service.engine.files import BadgeDef
from service.errors import NotFound
from service.runtime import Runtime
from service.store import ledger as ledger_store
from service.store.ledger import Counter
from service.views.progress_view import (
    ActiveChallenge,
    BadgeLevelView,
    BadgeView,
    NextBadgeLevel,
    StreakView,
    badge_counter,
    badges_view,
    challenges_view,
    member_progress,
    member_progress_read,
    next_badge_level,
)

__all__ = ["BadgeProgress", "BoardInfo", "Boards", "GameCatalog", "boards", "game_catalog"]


class BadgeProgress(msgspec.Struct, kw_only=True):
    """A badge of the program and where the member stands: earned (when, which level) or not,
    and for a levelled badge the count toward each level."""

    id: str
    name: str
    description: str | None
    earned: bool
    earned_at: datetime | None
    level: int | None
    level_name: str | None
    counter: int | None
    """The count a levelled badge is measured by (None for a badge a rule grants)."""
    levels: list[BadgeLevelView]
    next: NextBadgeLevel | None


class GameCatalog(msgspec.Struct, kw_only=True):
    """Everything a member can earn, with their progress: `badges_earned` of `len(badges)`."""

    badges: list[BadgeProgress]
    badges_earned: int
    challenges: list[ActiveChallenge]
    """Challenges running now that the member has not completed, with progress and time left."""
    streaks: list[StreakView]
    as_of: datetime


async def game_catalog(runtime: Runtime, member_id: str) -> GameCatalog:
    """The program's badges, running challenges and streaks, each with the member's progress."""
    ruleset, now = runtime.rules.current, runtime.clock.now()
    held = {b.id: b for b in (await badges_view(runtime, member_id)).badges}
    async with runtime.db.connection() as conn:
        state = await ledger_store.load_state(
            conn, member_id, with_profile=True, game=member_progress_read(ruleset, now)
        )
    if state.profile is None or state.game is None:
        raise NotFound(f"no member '{member_id}'", field="member_id")
    _, streaks = member_progress(ruleset, state.game, state.profile.timezone, now)
    attributes = state.profile.attributes
    badges = [
        _badge_progress(badge, held.get(badge.id), attributes, state.counters)
        for badge in ruleset.program.badges.values()
    ]
    challenges = (await challenges_view(runtime, member_id)).active
    return GameCatalog(
        badges=badges,
        badges_earned=sum(1 for b in badges if b.earned),
        challenges=challenges,
        streaks=streaks,
        as_of=now,
    )


def _badge_progress(
    badge: BadgeDef,
    mine: BadgeView | None,
    attributes: Mapping[str, Any],
    counters: Mapping[str, Counter],
) -> BadgeProgress:
    """A badge of the program with the member's progress in it (`mine`: held)."""
    names = list(badge.levels or {})
    thresholds = list((badge.levels or {}).values())
    counter: int | None = None
    if badge.counter is not None and badge.levels:
        counter = badge_counter(badge.counter, attributes, counters)
    upcoming = next_level(thresholds, counter) if counter is not None else None
    levels = (
        mine.levels
        if mine is not None and mine.levels
        else [
            BadgeLevelView(level=i + 1, name=n, threshold=t, earned_at=None)
            for i, (n, t) in enumerate(zip(names, thresholds, strict=True))
        ]
    )
    return BadgeProgress(
        id=badge.id,
        name=badge.name,
        description=badge.description,
        earned=mine is not None,
        earned_at=mine.earned_at if mine else None,
        level=mine.level if mine else None,
        level_name=mine.level_name if mine else None,
        counter=counter,
        levels=levels,
        next=next_badge_level(names, thresholds, upcoming),
    )


class BoardInfo(msgspec.Struct, kw_only=True):
    """A leaderboard of the program and its period holding now."""

    id: str
    name: str
    metric: str
    period: str
    """`day`, `week`, `month` or `all_time`, on the program's wall clock."""
    segment: str | None
    """The member attribute that splits the board (one board per value), if any."""
    current_period: str
    """The key of the period holding now (pass it as `period`, or `current`)."""
    starts_at: datetime | None
    ends_at: datetime | None


class Boards(msgspec.Struct, kw_only=True):
    """The program's leaderboards."""

    leaderboards: list[BoardInfo]
    timezone: str
    as_of: datetime


def boards(runtime: Runtime) -> Boards:
    """Every board of the active program with its current period's key and bounds."""
    ruleset, now = runtime.rules.current, runtime.clock.now()
    tz = ruleset.program.timezone
    out = []
    for board in ruleset.program.leaderboards:
        key = period_key_for(board.period, now, tz)
        start = end = None
        if board.period != "lifetime":
            start, end = period_bounds(board.period, key, tz)
        out.append(
            BoardInfo(
                id=board.id,
                name=board.name,
                metric=board.metric.key,
                period=period_text(board.period),
                segment=board.segment,
                current_period=key,
                starts_at=start,
                ends_at=end,
            )
        )
    return Boards(leaderboards=out, timezone=tz, as_of=now)
