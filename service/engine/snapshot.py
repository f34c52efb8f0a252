"""What the engine knows about a member when it evaluates an event: a frozen snapshot."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from service.core.challenges import ChallengeProgress

__all__ = [
    "EngagementView",
    "MemberCounters",
    "MemberSnapshot",
    "ReferralLink",
    "RuleUsage",
    "StreakHistory",
    "usage_key",
]


class EngagementView(msgspec.Struct, frozen=True):
    """A member's engagement as rules read it: the score (0-100), the level, and each
    component's share (0..1) by component id."""

    score: float = 50.0
    level: str = "moderately_engaged"
    components: dict[str, float] = {}


class MemberCounters(msgspec.Struct, frozen=True):
    """Running counts the store keeps per member."""

    purchases: int = 0
    reviews: int = 0
    referrals: int = 0
    lifetime_points: int = 0
    last_purchase_at: datetime | None = None
    engagement: EngagementView = EngagementView()


class RuleUsage(msgspec.Struct, frozen=True):
    """How often a rule fired for a member in one period, and the points it gave."""

    times: int = 0
    points: int = 0


class StreakHistory(msgspec.Struct, frozen=True):
    """A streak's recent active units, longest run, current run's start and rewarded milestone."""

    units: tuple[date, ...] = ()
    longest: int = 0
    run_start: date | None = None
    rewarded: int = 0


class ReferralLink(msgspec.Struct, frozen=True):
    """Who referred the member, and whether the referral was rewarded already."""

    referrer_id: str
    rewarded: bool = False


def usage_key(rule_id: str, period_key: str) -> str:
    """Key of `MemberSnapshot.rule_usage`: `"{rule_id}:{period_key}"`."""
    return f"{rule_id}:{period_key}"


class MemberSnapshot(msgspec.Struct, frozen=True):
    """A member as read under its row lock, plus the cap counters of the periods in play.

    `rule_usage` is keyed by `usage_key(rule_id, period_key)`; `budget_remaining` (by rule id) is
    optional and only used to report `cap_reached` in dry runs (the store enforces budgets).
    """

    member_id: str
    tier: str | None = None
    tier_multiplier: float = 1.0
    attributes: dict[str, Any] = {}
    timezone: str | None = None
    birthday: date | None = None
    counters: MemberCounters = MemberCounters()
    badges: frozenset[str] = frozenset()
    rule_usage: dict[str, RuleUsage] = {}
    budget_remaining: dict[str, int] = {}
    event_counts: dict[str, int] = {}
    """Events seen per type, before this one (levelled badges count them)."""
    badge_levels: dict[str, int] = {}
    challenges: dict[str, ChallengeProgress] = {}
    """Progress of each challenge in the window of the event's `occurred_at`."""
    streaks: dict[str, StreakHistory] = {}
    referral: ReferralLink | None = None
