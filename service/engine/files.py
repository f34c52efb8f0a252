"""The rule-file format: msgspec structs that `program.yaml` and the rule files decode into.

Every struct forbids unknown fields, so a typo is refused with a did-you-mean instead of ignored.
Expressions stay as text here; `cel.py` compiles them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import msgspec

from service.core.periods import Period

__all__ = [
    "ATTRIBUTE_TYPES",
    "AttributeAction",
    "BadgeDef",
    "BoardDef",
    "Caps",
    "ChallengeAction",
    "ChallengeDef",
    "ChallengeStepDef",
    "Coupon",
    "EngagementComponentDef",
    "EngagementDef",
    "EngagementLevelDef",
    "ExperimentDef",
    "Expiry",
    "MemberCap",
    "MilestoneDef",
    "PointsPolicy",
    "ProgramFile",
    "ProgramInfo",
    "ReferralDef",
    "Reward",
    "RewardDef",
    "RollingWindow",
    "RuleAction",
    "RuleDef",
    "Schedule",
    "StreakDef",
    "TestCase",
    "TestCounters",
    "TestEngagement",
    "TestEvent",
    "TestExpect",
    "TestMember",
    "TierLevelDef",
    "TiersDef",
]

ATTRIBUTE_TYPES = ("string", "int", "decimal", "bool", "timestamp", "list<string>", "list<item>")
"""Attribute types an event or member attribute may declare; a trailing `?` marks it optional."""


class _File(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class Expiry(_File, frozen=True):
    """When earned points expire: per lot after `days` (rolling), or never (`none`)."""

    kind: Literal["rolling", "none"] = "none"
    days: int | None = None


class PointsPolicy(_File, frozen=True):
    """How points behave once earned."""

    pending_days: dict[str, int] = {}
    expiry: Expiry = Expiry()
    allow_negative_balance: bool = False
    hold_timeout_minutes: int = 15
    value: float | None = None
    """What one point costs the program, in its currency (the backtest prices points by it)."""


class ProgramInfo(_File, frozen=True):
    """The program's identity and policies."""

    name: str
    timezone: str
    currency: str = "EUR"
    points: PointsPolicy = PointsPolicy()


class Coupon(_File, frozen=True):
    """Coupon codes issued on redemption: a fixed list, or generated with a prefix."""

    codes: list[str] | None = None
    prefix: str | None = None


class RewardDef(_File, frozen=True):
    """A catalog reward."""

    id: str
    name: str
    cost: int
    stock: int | None = None
    per_member_limit: int | None = None
    coupon: Coupon | None = None


class BadgeDef(_File, frozen=True):
    """A badge a rule or challenge may grant; `levels` maps level name to a threshold count.

    A levelled badge counts `counter`: an event type (how many such events the member had) or
    `attributes.<name>` (an int member attribute that rules set)."""

    id: str
    name: str
    levels: dict[str, int] | None = None
    counter: str | None = None
    description: str | None = None


class BoardDef(_File, frozen=True):
    """A leaderboard: a metric (`points_earned` or `count:<event type>`) per period
    (`day`, `week`, `month`, `all_time`, in the program's time zone), optionally one board per
    value of a member attribute (`segment`)."""

    id: str
    name: str
    metric: str
    period: Literal["day", "week", "month", "all_time"]
    segment: str | None = None


class TierLevelDef(_File, frozen=True):
    """A tier: reached when the qualifying metric is at least `threshold`."""

    id: str
    threshold: float
    name: str | None = None
    multiplier: float = 1.0
    benefits: list[str] = []


class RollingWindow(_File, frozen=True):
    """A rolling qualifying window: the last `rolling_days` days, today included."""

    rolling_days: int


class TiersDef(_File, frozen=True):
    """The tier ladder: a qualifying metric over a window, and its levels (lowest first)."""

    metric: Literal["points_earned", "spend", "count"]
    levels: list[TierLevelDef]
    window: Literal["calendar_year"] | RollingWindow = "calendar_year"
    event: str | None = None
    grace_days: int = 0


class EngagementComponentDef(_File, frozen=True):
    """A part of the engagement score: `recency` of the latest of `events`, or the `count`
    of `events` (or the `amount` of `of`: purchase `spend`, `points_earned`) per day, decayed
    by `half_life_days` over `window_days`, as a share of `target`; `weight` in the mean."""

    kind: Literal["recency", "count", "amount"]
    weight: float
    half_life_days: float
    window_days: int = 365
    events: list[str] | None = None
    """The event types counted (default: every type but refund)."""
    of: Literal["spend", "points_earned"] = "spend"
    target: float | None = None
    unit: float | None = None
    """`amount`: what one more purchase adds, for "what would raise it most" (target / 5)."""


class EngagementLevelDef(_File, frozen=True):
    """An engagement level: reached when the score (0-100) is at least `threshold`."""

    id: str
    threshold: float
    name: str | None = None


class EngagementDef(_File, frozen=True):
    """The composite engagement score: components by id, levels lowest first."""

    components: dict[str, EngagementComponentDef]
    levels: list[EngagementLevelDef] | None = None


class ProgramFile(_File, frozen=True):
    """`program.yaml`: the program, its event types, member attributes, rewards and badges."""

    program: ProgramInfo
    event_types: dict[str, dict[str, str]] = {}
    member_attributes: dict[str, str] = {}
    rewards: list[RewardDef] = []
    badges: list[BadgeDef] = []
    leaderboards: list[BoardDef] = []
    tiers: TiersDef | None = None
    engagement: EngagementDef | None = None


class ChallengeStepDef(_File, frozen=True):
    """One step: events of type `on` (passing `when`) counted, or `sum` of a CEL int/double."""

    on: str
    when: str | bool = True
    count: int | None = None
    sum: str | None = None
    target: int | None = None
    name: str | None = None


class Reward(_File, frozen=True):
    """What completing a challenge or reaching a milestone gives."""

    points: int = 0
    badge: str | None = None


class ChallengeDef(_File, frozen=True):
    """A time-boxed goal: recurring (`every`) or fixed (`start`/`end`), with ordered steps."""

    id: str
    name: str
    steps: list[ChallengeStepDef]
    reward: Reward
    description: str = ""
    every: Literal["day", "week", "month"] | None = None
    start: datetime | None = None
    end: datetime | None = None


class MilestoneDef(_File, frozen=True):
    """A streak length that earns points and/or a badge, once per streak."""

    length: int
    points: int = 0
    badge: str | None = None


class StreakDef(_File, frozen=True):
    """Consecutive days or weeks (member's time zone) with a qualifying event."""

    id: str
    name: str
    on: list[str]
    unit: Literal["day", "week"] = "day"
    when: str | bool = True
    freezes_per_month: int = 0
    milestones: list[MilestoneDef] = []


class ReferralDef(_File, frozen=True):
    """Referral rewards: when a referred member's first qualifying purchase arrives."""

    referrer_points: int
    referee_points: int = 0
    qualifying_purchase: str | bool = True
    max_per_referrer: int | None = None


class ChallengeAction(_File, frozen=True):
    """Advance a challenge by a CEL int amount."""

    id: str
    amount: str = "1"


class AttributeAction(_File, frozen=True):
    """Set a declared member attribute to a CEL value."""

    name: str
    value: str


class RuleAction(_File, frozen=True):
    """One action; exactly one of its fields is set."""

    points: str | int | None = None
    badge: str | None = None
    challenge: ChallengeAction | None = None
    attribute: AttributeAction | None = None


class MemberCap(_File, frozen=True):
    """A per-member cap over a calendar period in the program's time zone."""

    period: Period
    max_times: int | None = None
    max_points: int | None = None


class Caps(_File, frozen=True):
    """Per-member caps and a global points budget."""

    per_member: list[MemberCap] = []
    budget: int | None = None


class Schedule(_File, frozen=True):
    """When a rule is live: `start` inclusive, `end` exclusive (either may be open)."""

    start: datetime | None = None
    end: datetime | None = None


class ExperimentDef(_File, frozen=True):
    """A rule's experiment: `holdout` ("10%") of the members get nothing (their exposure is
    recorded); `variants` (name -> points) split the others equally, each giving its points."""

    id: str
    holdout: str | float
    variants: dict[str, int] | None = None


class RuleDef(_File, frozen=True):
    """A rule: on an event type, when a CEL condition holds, do the actions."""

    id: str
    on: str
    actions: list[RuleAction]
    when: str | bool = True
    reason: str | None = None
    priority: int = 0
    schedule: Schedule | None = None
    stop: bool = False
    caps: Caps | None = None
    experiment: ExperimentDef | None = None


class TestEngagement(_File, frozen=True):
    """A rule test's member engagement: score, level and component shares (0..1)."""

    __test__ = False  # not a pytest class

    level: str = "moderately_engaged"
    score: float = 50.0
    components: dict[str, float] = {}


class TestCounters(_File, frozen=True):
    """Member counters given in a rule test."""

    __test__ = False  # not a pytest class

    purchases: int = 0
    reviews: int = 0
    referrals: int = 0
    lifetime_points: int = 0
    last_purchase_at: datetime | None = None
    engagement: str | TestEngagement = "moderately_engaged"
    """The member's engagement level, or its score, level and components."""


class TestMember(_File, frozen=True):
    """The member a rule test runs against."""

    __test__ = False  # not a pytest class

    id: str = "test-member"
    tier: str | None = None
    tier_multiplier: float | None = None
    """Defaults to the multiplier the program's tiers give `tier` (1.0 without tiers)."""
    attributes: dict[str, Any] = {}
    timezone: str | None = None
    birthday: str | None = None
    counters: TestCounters = TestCounters()
    badges: list[str] = []
    badge_levels: dict[str, int] = {}
    challenges: dict[str, list[int]] = {}
    """Progress in the event's window: challenge id -> [step index, progress in that step]."""
    streaks: dict[str, list[date]] = {}
    """Days (or week Mondays) with a qualifying event, per streak id."""
    referred_by: str | None = None


class TestEvent(_File, frozen=True):
    """The event a rule test evaluates."""

    __test__ = False  # not a pytest class

    type: str
    attributes: dict[str, Any] = {}
    occurred_at: datetime | None = None
    id: str = "test-event"


class TestExpect(_File, frozen=True):
    """What a rule test expects."""

    __test__ = False  # not a pytest class

    points: int | None = None
    badges: list[str] | None = None
    fired: list[str] = []
    not_fired: list[str] = []


class TestCase(_File, frozen=True):
    """A unit test of the rules, written in a rule file."""

    __test__ = False  # not a pytest class

    name: str
    event: TestEvent
    expect: TestExpect
    member: TestMember = TestMember()
    now: datetime | None = None
