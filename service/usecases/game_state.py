"""What an event's evaluation needs beyond the ledger: tier, challenge windows, streak history,
badge levels and the referral link, read under the member's lock; and the writes of the
progress effects an evaluation returns."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from service.core.challenges import ChallengeProgress, window_key
from service.core.referrals import link_refusal
from service.engine import (
    AttributeEffect,
    BadgeEffect,
    ChallengeEffect,
    Effect,
    Event,
    ReferralLink,
    Ruleset,
    StreakEffect,
    StreakHistory,
)
from service.store import gamification as game_store
from service.store import progress as progress_store
from service.store import referrals as referral_store
from service.store.database import Connection
from service.store.game_reads import GameRead, GameRows, read_game
from service.usecases.tiers import MemberTier, local_day, member_tier, tier_read

__all__ = [
    "ChallengeStep",
    "GameReadPlan",
    "GameState",
    "book_progress",
    "game_state",
    "link_referral",
    "load_game",
    "plan_game_read",
]

STREAK_HISTORY_DAYS = 400
"""How far back streak units are read; a streak longer than this shows as this long."""


class ChallengeStep(msgspec.Struct, kw_only=True):
    """Progress an event added to a challenge, and where the member now stands in its window."""

    challenge: str
    added: int
    progress: int
    window_key: str = ""
    step: int = 0
    target: int = 0
    completed: bool = False


class GameState(msgspec.Struct, kw_only=True):
    """The member's gamification state as the event's evaluation sees it."""

    tier: MemberTier | None
    challenges: dict[str, ChallengeProgress]
    streaks: dict[str, StreakHistory]
    badge_levels: dict[str, int]
    referral: ReferralLink | None
    referral_note: str | None = None


class GameReadPlan(msgspec.Struct, frozen=True):
    """What to read for an event's gamification, and the challenge windows it falls in."""

    read: GameRead
    windows: dict[str, str]


def plan_game_read(ruleset: Ruleset, event: Event | None, now: datetime) -> GameReadPlan:
    """What gamification needs read for `event` (None: as of `now`), for `read_game` or the
    state read (`load_state(game=)`)."""
    program = ruleset.program
    tz = program.timezone
    windows: dict[str, str] = {}
    if event is not None:
        for challenge in ruleset.challenges:
            key = window_key(challenge.every, challenge.start, challenge.end, event.occurred_at, tz)
            if key is not None:
                windows[challenge.id] = key
    tiers = program.tiers
    event_day = local_day(event.occurred_at, tz) if event else None
    read = tier_read(tiers, now, event_day) if tiers is not None else GameRead()
    read = msgspec.structs.replace(
        read,
        challenge_keys=sorted(set(windows.values())),
        streak_since=(
            local_day(now, tz) - timedelta(days=STREAK_HISTORY_DAYS) if ruleset.streaks else None
        ),
        referral=ruleset.referral is not None,
        badge_levels=True,
    )
    return GameReadPlan(read, windows)


def game_state(ruleset: Ruleset, plan: GameReadPlan, rows: GameRows, now: datetime) -> GameState:
    """The member's gamification state from what `plan` read."""
    tiers = ruleset.program.tiers
    referral = rows.referral
    return GameState(
        tier=member_tier(tiers, rows.tier, rows.metric_days, now) if tiers is not None else None,
        challenges={
            row.challenge_id: row.state
            for row in rows.challenges
            if plan.windows.get(row.challenge_id) == row.window_key
        },
        streaks=rows.streaks,
        badge_levels=rows.badge_levels,
        referral=ReferralLink(referral.referrer_id, referral.rewarded) if referral else None,
    )


async def load_game(
    conn: Connection, ruleset: Ruleset, member_id: str, event: Event | None, now: datetime
) -> GameState:
    """Read (under the member's lock, in one round trip) what gamification needs for `event`
    at `now`."""
    plan = plan_game_read(ruleset, event, now)
    return game_state(ruleset, plan, await read_game(conn, member_id, plan.read), now)


async def link_referral(
    conn: Connection, ruleset: Ruleset, event: Event, purchases_before: int, game: GameState
) -> GameState:
    """Link the member to the owner of the event's `referral_code`, if the program has
    referrals and the code may link; the answer says what happened."""
    code = event.attributes.get("referral_code")
    if ruleset.referral is None or not isinstance(code, str) or not code:
        return game
    code = code.strip().upper()
    referrer = await referral_store.member_of_code(conn, code)
    refusal = link_refusal(
        event.member_id,
        referrer,
        already_referred=game.referral is not None,
        event_type=event.type,
        purchases_before=purchases_before,
    )
    if refusal is not None or referrer is None:
        return msgspec.structs.replace(game, referral_note=f"referral not linked: {refusal}")
    await referral_store.link(conn, event.member_id, referrer, code, event.occurred_at, event.id)
    return msgspec.structs.replace(
        game, referral=ReferralLink(referrer), referral_note=f"referred by {referrer}"
    )


async def book_progress(
    conn: Connection, event: Event, effects: list[Effect], now: datetime
) -> tuple[list[str], list[ChallengeStep]]:
    """Write badges (and levels), challenge windows, streak units and attributes."""
    badges: list[str] = []
    steps: list[ChallengeStep] = []
    attributes: dict[str, Any] = {}
    member = event.member_id
    for effect in effects:
        if isinstance(effect, BadgeEffect) and effect.level:
            await game_store.grant_level(
                conn,
                member,
                effect.badge,
                effect.level,
                effect.level_name or str(effect.level),
                event.occurred_at,
                event.id,
                effect.rule_id,
            )
            badges.append(effect.badge)
        elif isinstance(effect, BadgeEffect):
            await progress_store.grant_badge(
                conn, member, effect.badge, event.occurred_at, event.id, effect.rule_id
            )
            badges.append(effect.badge)
        elif isinstance(effect, ChallengeEffect):
            state = ChallengeProgress(effect.step, effect.progress, effect.completed)
            completed_at = event.occurred_at if effect.completed else None
            await game_store.save_challenge(
                conn, member, effect.challenge, effect.window_key, state, completed_at
            )
            steps.append(
                ChallengeStep(
                    challenge=effect.challenge,
                    added=effect.amount,
                    progress=effect.progress,
                    window_key=effect.window_key,
                    step=effect.step,
                    target=effect.target,
                    completed=effect.completed,
                )
            )
        elif isinstance(effect, StreakEffect):
            await game_store.save_streak(
                conn,
                member,
                effect.streak,
                effect.unit,
                effect.longest,
                effect.run_start,
                effect.rewarded,
            )
        elif isinstance(effect, AttributeEffect):
            attributes[effect.name] = effect.value
    if attributes:
        await progress_store.merge_attributes(conn, member, attributes)
    return badges, steps
