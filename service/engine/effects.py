"""What an evaluation decides: effects to apply, rules skipped and why, cap usage to record."""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

from service.engine.actions import ActionEffect
from service.engine.actions.attribute import AttributeEffect
from service.engine.actions.badge import BadgeEffect
from service.engine.actions.challenge import ChallengeEffect, StepNumber
from service.engine.actions.points import PointsEffect

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


Effect = ActionEffect | StreakEffect | ReferralEffect
"""Everything an evaluation can decide: the rules' actions, then the program's streaks and
referral (challenge steps and badge levels are action effects the program makes too)."""

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
