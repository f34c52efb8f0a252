"""What the engine knows about a member when it evaluates an event: a frozen snapshot."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

__all__ = ["ENGAGEMENT_BUCKETS", "MemberCounters", "MemberSnapshot", "RuleUsage", "usage_key"]

ENGAGEMENT_BUCKETS = ("highly_engaged", "moderately_engaged", "at_risk", "disengaged")


class MemberCounters(msgspec.Struct, frozen=True):
    """Running counts the store keeps per member."""

    purchases: int = 0
    reviews: int = 0
    referrals: int = 0
    lifetime_points: int = 0
    last_purchase_at: datetime | None = None
    engagement: str = "moderately_engaged"


class RuleUsage(msgspec.Struct, frozen=True):
    """How often a rule fired for a member in one period, and the points it gave."""

    times: int = 0
    points: int = 0


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
