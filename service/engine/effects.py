"""What an evaluation decides: effects to apply, rules skipped and why, cap usage to record."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "AttributeEffect",
    "BadgeEffect",
    "ChallengeEffect",
    "Effect",
    "Evaluation",
    "PointsEffect",
    "ReferralEffect",
    "Skip",
    "SkipReason",
    "StepNumber",
    "StreakEffect",
    "UsageIncrement",
]


StepNumber = Annotated[
    int,
    msgspec.Meta(
        description="The challenge step the member is on, counted from 1 (step 1 of `steps`); "
        "on a completed challenge, its last step."
    ),
]
"""How every answer numbers a challenge's steps: from 1, as people read them."""


class PointsEffect(msgspec.Struct, frozen=True, tag="points"):
    """Award `points`; `budget` is the rule's global budget the store must draw from, if any."""

    rule_id: str
    ruleset_version: str
    points: int
    reason: str
    budget: int | None = None


class BadgeEffect(msgspec.Struct, frozen=True, tag="badge"):
    """Grant a badge; for a levelled badge, `level` (1 = first) and its name."""

    rule_id: str
    ruleset_version: str
    badge: str
    reason: str
    level: int = 0
    level_name: str | None = None


class ChallengeEffect(msgspec.Struct, frozen=True, tag="challenge"):
    """Advance a challenge by `amount`; once placed in its window, where it now stands (`step`
    counted from 1; 0 only on a rule's action before it is placed)."""

    rule_id: str
    ruleset_version: str
    challenge: str
    amount: int
    reason: str
    window_key: str = ""
    step: StepNumber = 0
    progress: int = 0
    target: int = 0
    completed: bool = False


class StreakEffect(msgspec.Struct, frozen=True, tag="streak"):
    """A qualifying event counted for a streak's `unit` (a local day or week Monday)."""

    rule_id: str
    ruleset_version: str
    streak: str
    unit: date
    current: int
    longest: int
    run_start: date | None
    rewarded: int
    reason: str


class ReferralEffect(msgspec.Struct, frozen=True, tag="referral"):
    """The referee's first qualifying purchase: reward the referrer (within the cap)."""

    rule_id: str
    ruleset_version: str
    referrer_id: str
    referrer_points: int
    reason: str


class AttributeEffect(msgspec.Struct, frozen=True, tag="attribute"):
    """Set a member attribute."""

    rule_id: str
    ruleset_version: str
    name: str
    value: Any
    reason: str


Effect = (
    PointsEffect | BadgeEffect | ChallengeEffect | AttributeEffect | StreakEffect | ReferralEffect
)

SkipReason = Literal[
    "wrong_type",
    "condition_false",
    "out_of_schedule",
    "cap_reached",
    "stopped_by_earlier_rule",
    "error",
]


class Skip(msgspec.Struct, frozen=True):
    """A rule that did not fire, with a reason code and a sentence for people."""

    rule_id: str
    reason: SkipReason
    detail: str


class UsageIncrement(msgspec.Struct, frozen=True):
    """Add `times` and `points` to a rule's cap counter for one period."""

    rule_id: str
    period_key: str
    times: int
    points: int


class Evaluation(msgspec.Struct, frozen=True):
    """The result of evaluating one event against a ruleset for one member."""

    ruleset_version: str
    effects: list[Effect]
    skipped: list[Skip]
    usage: list[UsageIncrement]
    fired: list[str]

    @property
    def points(self) -> int:
        """Total points awarded by the effects."""
        return sum(e.points for e in self.effects if isinstance(e, PointsEffect))

    @property
    def badges(self) -> list[str]:
        """Badges granted by the effects."""
        return [e.badge for e in self.effects if isinstance(e, BadgeEffect)]
