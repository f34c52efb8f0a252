"""Tiers as reads show them (the tier as of now, computed without writing), and the worker's
review of members whose tier lapsed. Events settle tiers in their decision
(`service.decide.tiering`): before the rules run, so they read the tier in force, and after,
so an event that makes the member qualify upgrades them in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from service.core.tiers import TierProgram, TierReview, TierState, review_tier
from service.decide.answers import TierMoveView, move_views
from service.decide.state import SetState
from service.decide.step import Step
from service.decide.tiering import local_day, metric_since, review_now, settle_tier
from service.pipeline.member_ops import run_member_op
from service.runtime import Runtime
from service.store import tiers as tier_store
from service.store.progress_reads import ProgressRead

__all__ = [
    "MemberTier",
    "TierMoveView",
    "local_day",
    "member_tier",
    "metric_since",
    "move_views",
    "review_tiers_due",
    "tier_read",
]


class MemberTier(msgspec.Struct, kw_only=True):
    """A member's stored tier, the metric days read for it, and the review as of now."""

    stored: TierState
    days: dict[date, float]
    review: TierReview


def tier_read(program: TierProgram, now: datetime, event_day: date | None = None) -> ProgressRead:
    """What `read_progress` reads for a tier review at `now`."""
    return ProgressRead(
        tier_metric=program.metric_key, metric_since=metric_since(program, now, event_day)
    )


def member_tier(
    program: TierProgram, stored: TierState, days: dict[date, float], now: datetime
) -> MemberTier:
    """The stored tier with its metric days, and the review as of `now`."""
    return MemberTier(stored=stored, days=days, review=review_tier(program, stored, days, now))


async def review_tiers_due(runtime: Runtime, now: datetime, limit: int = 200) -> int:
    """Worker: store the downgrades of members whose tier lapsed by `now`; how many reviewed."""
    ruleset = runtime.rules.current
    program = ruleset.program.tiers
    if program is None:
        return 0
    async with runtime.db.connection() as conn:
        due = await tier_store.members_due(conn, now, limit)
    done = 0
    for member_id in due:

        def operate(step: Step, _: SetState, member_id: str = member_id) -> None:
            assert program is not None
            state = step.member(member_id)
            settle_tier(step, program, state, review_now(program, state, now), None)

        # a member an event is booking is skipped: the event reviews the tier itself
        _, reviewed = await run_member_op(
            runtime,
            member_id,
            operate,
            ruleset=ruleset,
            now=now,
            skip_locked=True,
            reads={"tier": True},
        )
        done += reviewed
    return done
