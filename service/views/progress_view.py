"""What a member reads of the game: tier (with what is missing and when it lapses), streaks,
challenges (active with time left, and completed) and badges (with progress to the next level).

Everything is computed as of now from stored rows, without writing, so it is right even before
the worker has applied a lapse."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from service.core.badges import next_level
from service.core.challenges import ChallengeProgress, window_bounds, window_key
from service.core.streaks import streak_status, unit_of
from service.core.tiers import TierMove, TierProgram, level_for
from service.decide.plan import STREAK_HISTORY_DAYS
from service.engine import Ruleset, StreakHistory
from service.engine.effects import StepNumber
from service.engine.files import BadgeDef
from service.errors import NotFound
from service.operations.tiers import (
    MemberTier,
    TierMoveView,
    local_day,
    member_tier,
    move_views,
    tier_read,
)
from service.runtime import Runtime
from service.store import ledger as ledger_store
from service.store import members as member_store
from service.store import progress as progress_store
from service.store.database import Connection
from service.store.ledger import Counter
from service.store.members import StoredProfile
from service.store.progress import HeldBadge
from service.store.progress_reads import ProgressRead, ProgressRows

TIER_HISTORY_SHOWN = 20
"""How many of the latest tier moves a member's tier shows."""

__all__ = [
    "BadgesView",
    "ChallengesView",
    "StreakView",
    "TierView",
    "badge_counter",
    "badges_view",
    "challenges_view",
    "member_progress",
    "member_progress_read",
    "next_badge_level",
]


class NextTier(msgspec.Struct, kw_only=True):
    """The next level up and how much of the metric is still missing."""

    tier: str
    name: str
    threshold: float
    missing: float


class TierView(msgspec.Struct, kw_only=True):
    """The member's tier as of now."""

    current: str | None
    name: str | None
    multiplier: float
    benefits: list[str]
    since: datetime | None
    metric: str
    window: str
    value: float
    """The qualifying metric in the current window."""
    next: NextTier | None
    lapses_at: datetime | None
    """When the tier is reviewed for a downgrade unless requalified (grace included)."""
    history: list[TierMoveView]


class StreakView(msgspec.Struct, kw_only=True):
    """A streak as of now, on the member's wall clock."""

    id: str
    name: str
    unit: str
    current: int
    longest: int
    freezes_left: int
    freezes_per_month: int
    next_milestone: int | None


def member_progress_read(ruleset: Ruleset, now: datetime) -> ProgressRead:
    """What the tier and streaks shown on a member need read (`load_state(game=)`)."""
    program = ruleset.program.tiers
    read = tier_read(program, now) if program is not None else ProgressRead()
    engagement = ruleset.program.engagement
    return msgspec.structs.replace(
        read,
        engagement_metrics=engagement.metrics,
        engagement_since=engagement.since(local_day(now, ruleset.program.timezone)),
        tier_history=TIER_HISTORY_SHOWN if program is not None else 0,
        # The member's own time zone is read in the same statement: a day earlier than the
        # program's covers any zone; `_streaks` keeps the units from the member's own day on.
        streak_since=(
            now.date() - timedelta(days=STREAK_HISTORY_DAYS + 1) if ruleset.streaks else None
        ),
    )


def member_progress(
    ruleset: Ruleset, rows: ProgressRows, timezone: str | None, now: datetime
) -> tuple[TierView | None, list[StreakView]]:
    """The tier and streaks shown on the member, from what `member_progress_read` read."""
    program = ruleset.program.tiers
    tier = (
        _tier(program, member_tier(program, rows.tier, rows.metric_days, now), rows.tier_history)
        if program is not None
        else None
    )
    return tier, _streaks(ruleset, rows.streaks, timezone or ruleset.program.timezone, now)


def _tier(program: TierProgram, tier: MemberTier, history: list[TierMove]) -> TierView:
    state, value = tier.review.state, tier.review.metric
    level = program.level(state.tier)
    above = [lv for lv in program.levels if program.rank(lv.id) > program.rank(state.tier)]
    reached = level_for(program, value)
    upcoming = next((lv for lv in above if reached is None or lv.threshold > value), None)
    return TierView(
        current=state.tier,
        name=level.name if level else None,
        multiplier=level.multiplier if level else 1.0,
        benefits=list(level.benefits) if level else [],
        since=state.since,
        metric=program.metric_label,
        window=(
            "calendar_year"
            if program.rolling_days is None
            else f"rolling_{program.rolling_days}_days"
        ),
        value=value,
        next=(
            NextTier(
                tier=upcoming.id,
                name=upcoming.name,
                threshold=upcoming.threshold,
                missing=max(0.0, upcoming.threshold - value),
            )
            if upcoming
            else None
        ),
        lapses_at=state.held_until,
        history=[*move_views(tier.review.moves), *move_views(history)],
    )


def _streaks(
    ruleset: Ruleset, stored: dict[str, StreakHistory], tz: str, now: datetime
) -> list[StreakView]:
    views = []
    since = local_day(now, tz) - timedelta(days=STREAK_HISTORY_DAYS)
    for streak in ruleset.streaks:
        history = stored.get(streak.id)
        units = tuple(unit for unit in history.units if unit >= since) if history else ()
        status = streak_status(
            units, unit_of(streak.unit, now, tz), streak.unit, streak.freezes_per_month
        )
        upcoming = [m.length for m in streak.milestones if m.length > status.current]
        views.append(
            StreakView(
                id=streak.id,
                name=streak.name,
                unit=streak.unit,
                current=status.current,
                longest=max(status.longest, history.longest if history else 0),
                freezes_left=max(0, streak.freezes_per_month - status.freezes_used_this_month),
                freezes_per_month=streak.freezes_per_month,
                next_milestone=upcoming[0] if upcoming else None,
            )
        )
    return views


class ActiveChallenge(msgspec.Struct, kw_only=True):
    """A challenge running now, with the member's progress in the current window."""

    id: str
    name: str
    description: str
    window_key: str
    step: StepNumber
    steps: int
    step_name: str
    progress: int
    target: int
    ends_at: datetime | None
    seconds_left: int | None
    reward_points: int
    reward_badge: str | None


class CompletedChallenge(msgspec.Struct, kw_only=True):
    """A challenge window the member completed."""

    id: str
    name: str
    window_key: str
    completed_at: datetime


class ChallengesView(msgspec.Struct, kw_only=True):
    """The member's challenges as of now."""

    active: list[ActiveChallenge]
    completed: list[CompletedChallenge]
    as_of: datetime


async def _require_member(conn: Connection, member_id: str) -> StoredProfile:
    profile = await member_store.fetch_member(conn, member_id)
    if profile is None:
        raise NotFound(f"no member '{member_id}'", field="member_id")
    return profile


async def challenges_view(runtime: Runtime, member_id: str) -> ChallengesView:
    """Active challenges (progress, target, step, time left) and completed windows."""
    ruleset, now = runtime.rules.current, runtime.clock.now()
    tz = ruleset.program.timezone
    async with runtime.db.connection() as conn:
        await _require_member(conn, member_id)
        rows = await progress_store.challenge_rows(conn, member_id)
    stored = {(r.challenge_id, r.window_key): r for r in rows}
    active = []
    for c in ruleset.challenges:
        key = window_key(c.every, c.start, c.end, now, tz)
        if key is None:
            continue
        row = stored.get((c.id, key))
        state = (
            ChallengeProgress(row.step, row.progress, row.completed_at is not None)
            if row
            else ChallengeProgress()
        ).within(len(c.steps))
        if state.completed:
            continue
        _, end = window_bounds(c.every, c.start, c.end, key, tz)
        step = c.steps[state.step]
        active.append(
            ActiveChallenge(
                id=c.id,
                name=c.name,
                description=c.description,
                window_key=key,
                step=state.step + 1,
                steps=len(c.steps),
                step_name=step.name,
                progress=state.progress,
                target=step.target,
                ends_at=end,
                seconds_left=int((end - now).total_seconds()) if end else None,
                reward_points=c.reward_points,
                reward_badge=c.reward_badge,
            )
        )
    names = {c.id: c.name for c in ruleset.challenges}
    completed = [
        CompletedChallenge(
            id=r.challenge_id,
            name=names.get(r.challenge_id, r.challenge_id),
            window_key=r.window_key,
            completed_at=r.completed_at,
        )
        for r in rows
        if r.completed_at is not None
    ]
    return ChallengesView(active=active, completed=completed, as_of=now)


class BadgeLevelView(msgspec.Struct, kw_only=True):
    """A level of a levelled badge: its threshold and when it was reached (None: not yet)."""

    level: int
    name: str
    threshold: int
    earned_at: datetime | None


class NextBadgeLevel(msgspec.Struct, kw_only=True):
    """The next level of a levelled badge and how far it is."""

    level: int
    name: str
    threshold: int
    missing: int


class BadgeView(msgspec.Struct, kw_only=True):
    """A badge the member holds."""

    id: str
    name: str
    earned_at: datetime
    level: int | None
    level_name: str | None
    counter: int | None
    levels: list[BadgeLevelView]
    next: NextBadgeLevel | None


class BadgesView(msgspec.Struct, kw_only=True):
    """The member's badges."""

    badges: list[BadgeView]


async def badges_view(runtime: Runtime, member_id: str) -> BadgesView:
    """Badges held, with the date earned and, for levelled ones, progress to the next level."""
    ruleset = runtime.rules.current
    async with runtime.db.connection() as conn:
        profile = await _require_member(conn, member_id)
        held, levels = await progress_store.badge_rows(conn, member_id)
        state = await ledger_store.load_state(conn, member_id)
    reached: dict[tuple[str, int], datetime] = {(r.badge_id, r.level): r.granted_at for r in levels}
    out = []
    for row in sorted(held, key=lambda r: r.granted_at):
        badge = ruleset.program.badges.get(row.badge_id)
        if badge is None or not badge.levels or badge.counter is None:
            out.append(_plain_badge(row, badge.name if badge else row.badge_id))
            continue
        value = badge_counter(badge.counter, profile.attributes, state.counters)
        out.append(_levelled_badge(row, badge, value, reached))
    return BadgesView(badges=out)


def _plain_badge(row: HeldBadge, name: str) -> BadgeView:
    """A badge without levels (or no longer in the ruleset)."""
    return BadgeView(
        id=row.badge_id,
        name=name,
        earned_at=row.granted_at,
        level=None,
        level_name=None,
        counter=None,
        levels=[],
        next=None,
    )


def _levelled_badge(
    row: HeldBadge, badge: BadgeDef, value: int, reached: dict[tuple[str, int], datetime]
) -> BadgeView:
    """A levelled badge at the member's counter `value`: every level, and the next one."""
    assert badge.levels is not None
    names, thresholds = list(badge.levels), list(badge.levels.values())
    level = row.level
    upcoming = next_level(thresholds, value)
    return BadgeView(
        id=badge.id,
        name=badge.name,
        earned_at=reached.get((badge.id, 1), row.granted_at),
        level=level,
        level_name=names[level - 1] if 0 < level <= len(names) else None,
        counter=value,
        levels=[
            BadgeLevelView(
                level=i + 1,
                name=n,
                threshold=t,
                earned_at=reached.get((badge.id, i + 1)),
            )
            for i, (n, t) in enumerate(zip(names, thresholds, strict=True))
        ],
        next=next_badge_level(names, thresholds, upcoming),
    )


def badge_counter(
    counter: str, attributes: Mapping[str, Any], counters: Mapping[str, Counter]
) -> int:
    """What a levelled badge counts for the member: an int attribute (`attributes.<name>`,
    0 when it is not one) or the number of events of a type."""
    if counter.startswith("attributes."):
        raw = attributes.get(counter.removeprefix("attributes."), 0)
        return raw if isinstance(raw, int) else 0
    return counters[counter].count if counter in counters else 0


def next_badge_level(
    names: list[str], thresholds: list[int], upcoming: tuple[int, int] | None
) -> NextBadgeLevel | None:
    """The next level (`next_level`'s index and what is missing), named."""
    if not upcoming:
        return None
    return NextBadgeLevel(
        level=upcoming[0] + 1,
        name=names[upcoming[0]],
        threshold=thresholds[upcoming[0]],
        missing=upcoming[1],
    )
