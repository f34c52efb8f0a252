"""A member as the pipeline's load reads them and the decision step carries them from event to
event: values only, replaced (never mutated) as each event is applied.

Each field holds what the load read for the events of the set: all of the member's lots with
points left, counters and badges; cap usage for the cap periods in play; stored events and
orders for the ids in play; the tier and the tier metric's days from `metric_since` on; the
challenge windows and leaderboard periods in play; the streaks and their recent units.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import msgspec

from service.core.challenges import ChallengeProgress
from service.core.ledger import Balances, Draw, Lot
from service.core.tiers import TierState
from service.decide.answers import EventResult
from service.engine import StreakHistory

__all__ = [
    "BoardKey",
    "ChallengeRow",
    "Counter",
    "EngagementLevelState",
    "MemberState",
    "Order",
    "Profile",
    "Redemption",
    "RedemptionStatus",
    "Referral",
    "SetState",
    "StoredAdjustment",
    "StoredEvent",
    "Usage",
    "new_member",
]

BoardKey = tuple[str, str, str]
"""(board id, period key, segment): one line of a member's leaderboard scores."""


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """What the member told the program about themselves (and what rules set on them)."""

    display_name: str | None = None
    timezone: str | None = None
    birthday: date | None = None
    hidden: bool = False
    attributes: dict[str, Any] = {}


class Counter(msgspec.Struct, frozen=True):
    """Events of one type a member has had, and the latest one's time."""

    count: int
    last_at: datetime | None = None


class Prior(msgspec.Struct, frozen=True):
    """What a late event's member had done by the event's local day (as stored): the latest
    local day with a purchase, and with any event, on or before it."""

    purchase: date | None = None
    active: date | None = None


class EngagementLevelState(msgspec.Struct, frozen=True):
    """The member's engagement level as last decided (None: never), since when, the number of
    its latest history line, and when it falls by time alone (None: never)."""

    level: str | None = None
    since: datetime | None = None
    seq: int = 0
    drops_at: datetime | None = None


class Usage(msgspec.Struct, frozen=True):
    """How often, and for how many points, a rule fired in one cap period."""

    times: int
    points: int


class StoredEvent(msgspec.Struct, frozen=True):
    """An event already booked: its body's hash (idempotency) and the answer it got."""

    body_hash: str
    result: EventResult


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """A purchase's amount and points, and what refunds have taken back so far."""

    order_id: str
    purchase_event_id: str
    amount: Decimal
    points_earned: int
    refunded_amount: Decimal = Decimal(0)
    points_reversed: int = 0
    purchased_at: datetime | None = None
    """When the purchase happened (a refund corrects that day's tier metrics)."""


class Referral(msgspec.Struct, frozen=True, kw_only=True):
    """This member as a referee: who referred them, and what the referral paid and took back."""

    referrer_id: str
    code: str
    linked_at: datetime
    link_event_id: str
    order_id: str | None = None
    rewarded_at: datetime | None = None
    referee_points: int = 0
    referrer_points: int = 0
    referrer_reversed: int = 0


class ChallengeRow(msgspec.Struct, frozen=True):
    """Where the member stands in one challenge window, and when they completed it."""

    step: int = 0
    progress: int = 0
    completed_at: datetime | None = None

    @property
    def progress_state(self) -> ChallengeProgress:
        """The core's view of this row."""
        return ChallengeProgress(self.step, self.progress, self.completed_at is not None)


RedemptionStatus = Literal["held", "committed", "cancelled", "expired"]


class Redemption(msgspec.Struct, frozen=True, kw_only=True):
    """A stored redemption: points spent on a reward or at checkout, or held until settled."""

    redemption_id: str
    idempotency_key: str
    request_hash: str
    reward_id: str | None
    points: int
    status: RedemptionStatus
    coupon_code: str | None
    created_at: datetime
    hold_expires_at: datetime | None
    settled_at: datetime | None
    draws: tuple[Draw, ...] = ()
    """The lots a hold took its points from."""
    reference: str | None = None
    ruleset_version: str | None = None
    """The ruleset the redemption was decided under (its reward, hold timeout and policy)."""


class StoredAdjustment(msgspec.Struct, frozen=True):
    """An admin adjustment made with an Idempotency-Key: its request's hash and its answer."""

    request_hash: str
    result: Any


class MemberState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the events of a set may read or change about one locked member."""

    member_id: str
    profile: Profile = Profile()
    balances: Balances = Balances()
    entries: int = 0
    """How many ledger entries the member has (the next one is numbered `entries + 1`)."""
    lots: tuple[Lot, ...] = ()
    counters: dict[str, Counter] = {}
    prior: dict[date, Prior] = {}
    """For the late events in play, by their local day: the member's activity up to then."""
    decided: tuple[tuple[str, date], ...] = ()
    """(type, local day) of the events decided for the member so far in this set."""
    badges: dict[str, int] = {}
    """Badges held, with their level (1 for a badge without levels)."""
    usage: dict[str, Usage] = {}
    """Cap usage by `usage_key(rule_id, period_key)`, for the cap periods in play."""
    events: dict[str, StoredEvent] = {}
    """The member's stored events among the ids in play."""
    orders: dict[str, Order] = {}
    """The member's orders among the order ids in play."""
    tier: TierState = TierState()
    metric_days: dict[date, Decimal] = {}
    """The tier metric per local day, from `metric_since` on (exact, as stored)."""
    metric_since: date | None = None
    tier_seq: int = 0
    """The number of the member's latest tier history line."""
    engagement: EngagementLevelState = EngagementLevelState()
    engagement_days: dict[tuple[str, date], Decimal] = {}
    """The daily metrics the engagement score reads, by (metric, local day), from the first
    day of the window of the set's earliest day on (as stored, plus this set's events)."""
    challenges: dict[tuple[str, str], ChallengeRow] = {}
    """Progress by (challenge id, window key), for the windows in play."""
    streaks: dict[str, StreakHistory] = {}
    referral: Referral | None = None
    referrals_rewarded: int = 0
    """Referees whose qualifying purchase paid this member (the referrer cap counts them)."""
    boards: dict[BoardKey, int] = {}
    """Leaderboard scores for the boards and periods in play."""
    redemptions: dict[str, Redemption] = {}
    """By id: the member's holds, and the redemptions a request names (by key or by id)."""
    active_redemptions: dict[str, int] = {}
    """Held and committed redemptions per reward, for the rewards in play (member limits)."""
    adjustments: dict[str, StoredAdjustment] = {}
    """Adjustments made with the Idempotency-Keys in play, by key."""


def new_member(member_id: str) -> MemberState:
    """A member never seen before."""
    return MemberState(member_id=member_id)


class SetState(msgspec.Struct, frozen=True, kw_only=True):
    """What the load read for a set: its locked members, the locked rule budgets (points
    granted so far), and the owners of the referral codes the events carry."""

    members: dict[str, MemberState]
    budgets: dict[str, int] = {}
    code_owners: dict[str, str] = {}
    known: frozenset[str] = frozenset()
    """The members that exist in the store (every locked member does: locking creates it)."""
    stock_issued: dict[str, int] = {}
    """Units handed out per stocked reward in play (the rows are locked)."""
    free_codes: dict[str, str] = {}
    """For each coupon pool in play, an unissued code locked for this set, if any is left."""
    pool_sizes: dict[str, int] = {}
    """Codes stored per coupon pool in play (0: the pool was never stored)."""
