"""What an event answers its caller: points, lots, badges, progress, tier moves, balances.

The same struct is stored with the event, so that a replay answers exactly the first answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from service.core.ledger import Balances, Lot
from service.core.tiers import TierMove
from service.engine import Effect
from service.engine.effects import StepNumber

__all__ = [
    "BalancesView",
    "ChallengeStep",
    "EngagementMoveView",
    "EventResult",
    "LotView",
    "RuleFailure",
    "TierMoveView",
    "balances_view",
    "lot_view",
    "move_views",
]


class LotView(msgspec.Struct, kw_only=True):
    """A lot an event created: its points, and when they activate and expire."""

    lot_id: str
    points: int
    state: str
    activates_at: datetime
    expires_at: datetime | None
    rule_id: str | None


class BalancesView(msgspec.Struct, kw_only=True):
    """A member's balances; `available` is what can be spent now."""

    available: int
    pending: int
    held: int
    debt: int
    lifetime_earned: int
    lifetime_spent: int


class ChallengeStep(msgspec.Struct, kw_only=True):
    """Progress an event added to a challenge, and where the member now stands in its window."""

    challenge: str
    added: int
    progress: int
    window_key: str = ""
    step: StepNumber = 0
    target: int = 0
    completed: bool = False


class RuleFailure(msgspec.Struct, kw_only=True):
    """A rule that failed at run time for this event: it did nothing, the other rules ran."""

    rule_id: str
    reason: str
    """What failed: `condition: division by zero`, `attribute value too large: ...`."""


class TierMoveView(msgspec.Struct, kw_only=True):
    """A tier move, as the event result and the member's history show it."""

    from_tier: str | None
    to_tier: str | None
    at: datetime
    reason: str


class EngagementMoveView(msgspec.Struct, kw_only=True):
    """A move between engagement levels an event caused, with the score then (as of now)."""

    from_level: str | None
    to_level: str
    score: float


class EventResult(msgspec.Struct, kw_only=True):
    """What an event did: points earned and reversed, lots, badges, progress, new balances."""

    event_id: str
    member_id: str
    type: str
    occurred_at: datetime
    ruleset_version: str
    replay: bool = False
    """True when this answer is the stored one of an earlier delivery of the same event."""
    points: int
    """Net change: points earned less points reversed."""
    earned: int
    reversed: int
    forgiven: int = 0
    """Refunded points that could not be taken back (already spent, no negative balance)."""
    effects: list[Effect]
    lots: list[LotView]
    badges: list[str]
    challenges: list[ChallengeStep]
    balances: BalancesView
    tier_moves: list[TierMoveView] = []
    """Tier moves this event caused (an upgrade, or a lapse applied on the way)."""
    referral: str | None = None
    """What the event did to a referral (linked, rewarded, reversed, or why not)."""
    failed_rules: list[RuleFailure] = []
    """Rules that failed at run time for this event (an expression error, a result past a
    bound), with the reason; the other rules ran."""
    engagement: EngagementMoveView | None = None
    """The engagement level move this event caused, if any (rules on `engagement_changed`
    ran for it: their effects are among `effects`)."""


def balances_view(balances: Balances) -> BalancesView:
    """The wire form of the core's balances."""
    return BalancesView(**msgspec.structs.asdict(balances))


def lot_view(lot: Lot) -> LotView:
    """The wire form of a lot an event created."""
    return LotView(
        lot_id=lot.lot_id,
        points=lot.points,
        state=lot.state,
        activates_at=lot.activates_at,
        expires_at=lot.expires_at,
        rule_id=lot.rule_id,
    )


def move_views(moves: Iterable[TierMove]) -> list[TierMoveView]:
    """The wire form of tier moves."""
    return [TierMoveView(**msgspec.structs.asdict(m)) for m in moves]
