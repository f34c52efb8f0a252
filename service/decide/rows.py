"""The rows a decision writes, one struct per table (field names are the column names), and how
they are derived: append-only rows are logged as events are applied; every other table gets the
final value of each row that changed, found by comparing the members before and after the set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from service.core.boards import BucketChange, bucket_changes
from service.core.ledger import Draw, Entry, Lot
from service.decide.answers import EventResult
from service.decide.rollups import ActivityRow, RollupRow, activity_rows, rollup_rows, shard_of
from service.decide.state import MemberState
from service.decide.webhooks import WebhookMessage, outbox_messages

__all__ = [
    "AdjustmentRow",
    "BadgeLevelRow",
    "BadgeRow",
    "BalanceRow",
    "BoardScoreRow",
    "ChallengeSaveRow",
    "CodeReturnRow",
    "CodeRow",
    "CounterRow",
    "EngagementMoveRow",
    "EngagementRow",
    "EntryRow",
    "EventRow",
    "ExposureRow",
    "Log",
    "MetricRow",
    "OrderRow",
    "RedemptionRow",
    "ReferralRow",
    "Rows",
    "StockRow",
    "StreakRow",
    "StreakUnitRow",
    "TierMoveRow",
    "TierRow",
    "changed_rows",
    "next_maturity",
]


class EventRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    event_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    body_hash: str
    attributes: dict[str, Any]
    ruleset_version: str
    result: EventResult


class EntryRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    entry_no: int
    kind: str
    balance: str
    points: int
    lot_id: str | None
    reason: str
    at: datetime
    event_id: str | None
    rule_id: str | None
    ruleset_version: str | None
    redemption_id: str | None
    order_id: str | None
    actor: str | None


class BalanceRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    available: int
    pending: int
    held: int
    debt: int
    lifetime_earned: int
    lifetime_spent: int
    entries: int
    next_maturity_at: datetime | None


class CounterRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    event_type: str
    count: int
    last_at: datetime | None


class OrderRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    order_id: str
    purchase_event_id: str
    amount: Decimal
    points_earned: int
    refunded_amount: Decimal
    points_reversed: int


class UsageRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    rule_id: str
    period_key: str
    times: int
    points: int


class BudgetRow(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str
    spent: int


class BadgeRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    badge_id: str
    level: int
    granted_at: datetime
    event_id: str | None
    rule_id: str | None


class BadgeLevelRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    badge_id: str
    level: int
    level_name: str
    granted_at: datetime
    event_id: str | None


class ChallengeSaveRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    challenge_id: str
    window_key: str
    step: int
    progress: int
    completed_at: datetime | None


class StreakUnitRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    streak_id: str
    unit: date


class StreakRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    streak_id: str
    longest: int
    run_start: date | None
    rewarded: int


class AttributesRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    attributes: dict[str, Any]


class MetricRow(msgspec.Struct, frozen=True, kw_only=True):
    """An amount added to a member's metric on one local day (a delta, not a total)."""

    member_id: str
    metric: str
    day: date
    value: Decimal


class TierRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    tier: str | None
    since: datetime | None
    held_until: datetime | None


class TierMoveRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    seq: int
    from_tier: str | None
    to_tier: str | None
    at: datetime
    reason: str


class EngagementRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    level: str
    since: datetime
    seq: int
    drops_at: datetime | None


class EngagementMoveRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    seq: int
    from_level: str | None
    to_level: str
    at: datetime
    score: Decimal
    event_id: str | None


class ExposureRow(msgspec.Struct, frozen=True, kw_only=True):
    """A member exposed to an experiment's rule: their arm, and the points the rule gave (or,
    in the holdout, would have given)."""

    member_id: str
    experiment_id: str
    event_id: str
    rule_id: str
    arm: str
    at: datetime
    points: int
    given: bool


class ReferralRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    referrer_id: str
    code: str
    linked_at: datetime
    link_event_id: str
    order_id: str | None
    rewarded_at: datetime | None
    referee_points: int
    referrer_points: int
    referrer_reversed: int


class BoardScoreRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    board_id: str
    period_key: str
    segment: str
    score: int
    reached_at: datetime


class RedemptionRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    redemption_id: str
    idempotency_key: str
    request_hash: str
    reward_id: str | None
    points: int
    status: str
    coupon_code: str | None
    created_at: datetime
    hold_expires_at: datetime | None
    settled_at: datetime | None
    draws: tuple[Draw, ...]
    reference: str | None
    ruleset_version: str | None = None


class AdjustmentRow(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    adjustment_id: str
    idempotency_key: str | None
    request_hash: str
    points: int
    reason: str
    actor: str
    created_at: datetime
    result: Any
    ruleset_version: str | None = None


class StockRow(msgspec.Struct, frozen=True, kw_only=True):
    """Units of a reward handed out (+) or given back (-)."""

    reward_id: str
    delta: int


class CodeRow(msgspec.Struct, frozen=True, kw_only=True):
    """A coupon code issued to a redemption (a pool code claimed, or a generated one)."""

    reward_id: str
    code: str
    member_id: str
    redemption_id: str
    issued_at: datetime


class CodeReturnRow(msgspec.Struct, frozen=True, kw_only=True):
    """A code issued to a redemption that goes back to its pool."""

    reward_id: str
    code: str
    redemption_id: str


class Log:
    """The append-only rows (and metric deltas) that applying events produces, in order."""

    __slots__ = (
        "adjustments",
        "badge_levels",
        "badges",
        "claims",
        "engagement_moves",
        "entries",
        "events",
        "exposures",
        "generated",
        "metrics",
        "moves",
        "returns",
        "stock",
        "units",
    )

    def __init__(self) -> None:
        self.events: list[EventRow] = []
        self.entries: list[EntryRow] = []
        self.badges: list[BadgeRow] = []
        self.badge_levels: list[BadgeLevelRow] = []
        self.units: list[StreakUnitRow] = []
        self.metrics: list[MetricRow] = []
        self.moves: list[TierMoveRow] = []
        self.engagement_moves: list[EngagementMoveRow] = []
        self.exposures: list[ExposureRow] = []
        self.adjustments: list[AdjustmentRow] = []
        self.stock: list[StockRow] = []
        self.claims: list[CodeRow] = []
        self.generated: list[CodeRow] = []
        self.returns: list[CodeReturnRow] = []

    def extend(self, other: Log) -> None:
        """Append what another log holds (an event's, once it is accepted)."""
        for name in self.__slots__:
            getattr(self, name).extend(getattr(other, name))

    def book(
        self, member_id: str, first_no: int, entries: tuple[Entry, ...], actor: str | None
    ) -> None:
        """Log ledger entries, numbered on from the member's `first_no`."""
        for n, e in enumerate(entries, start=first_no + 1):
            self.entries.append(
                EntryRow(
                    member_id=member_id,
                    entry_no=n,
                    kind=e.kind,
                    balance=e.balance,
                    points=e.points,
                    lot_id=e.lot_id,
                    reason=e.reason,
                    at=e.at,
                    event_id=e.event_id,
                    rule_id=e.rule_id,
                    ruleset_version=e.ruleset_version,
                    redemption_id=e.redemption_id,
                    order_id=e.order_id,
                    actor=actor,
                )
            )


class Rows(msgspec.Struct, kw_only=True):
    """Everything a decision writes, table by table; empty lists write nothing."""

    events: list[EventRow] = []
    counters: list[CounterRow] = []
    lots: list[Lot] = []
    entries: list[EntryRow] = []
    balances: list[BalanceRow] = []
    orders: list[OrderRow] = []
    usage: list[UsageRow] = []
    budgets: list[BudgetRow] = []
    badges: list[BadgeRow] = []
    badge_levels: list[BadgeLevelRow] = []
    challenges: list[ChallengeSaveRow] = []
    streak_units: list[StreakUnitRow] = []
    streaks: list[StreakRow] = []
    attributes: list[AttributesRow] = []
    metrics: list[MetricRow] = []
    tiers: list[TierRow] = []
    tier_moves: list[TierMoveRow] = []
    engagement: list[EngagementRow] = []
    engagement_moves: list[EngagementMoveRow] = []
    exposures: list[ExposureRow] = []
    referrals: list[ReferralRow] = []
    board_scores: list[BoardScoreRow] = []
    redemptions: list[RedemptionRow] = []
    adjustments: list[AdjustmentRow] = []
    stock: list[StockRow] = []
    code_claims: list[CodeRow] = []
    code_returns: list[CodeReturnRow] = []
    generated_codes: list[CodeRow] = []
    """Generated coupon codes (the save reports one that another redemption took first)."""
    histogram: list[BucketChange] = []
    """Leaderboard histogram counter changes, sorted (written last: the rows are shared)."""
    webhooks: list[WebhookMessage] = []
    """Outbox messages (what happened, for webhook endpoints), saved with the rest."""
    rollups: list[RollupRow] = []
    """Amounts to add to the program's daily figures (shared counter rows, one shard)."""
    activity: list[ActivityRow] = []
    """The (member, local day) pairs the events occurred on: active members are counted."""
    rollup_shard: int = 0
    """The shard of the shared rollup rows this set adds to (`rollups.shard_of`)."""

    def is_empty(self) -> bool:
        """True when there is nothing to write."""
        return not any(getattr(self, name) for name in self.__struct_fields__)


def next_maturity(lots: tuple[Lot, ...]) -> datetime | None:
    """The next moment the worker must look at these lots (an activation or an expiry)."""
    moments = []
    for lot in lots:
        if lot.remaining <= 0:
            continue
        if lot.state == "pending":
            moments.append(lot.activates_at)
        if lot.expires_at is not None:
            moments.append(lot.expires_at)
    return min(moments) if moments else None


def _ledger_rows(rows: Rows, before: MemberState, after: MemberState) -> None:
    member = after.member_id
    if after.entries == before.entries and after.lots == before.lots:
        return
    old = {lot.lot_id: lot for lot in before.lots}
    rows.lots.extend(lot for lot in after.lots if old.get(lot.lot_id) != lot)
    b = after.balances
    rows.balances.append(
        BalanceRow(
            member_id=member,
            available=b.available,
            pending=b.pending,
            held=b.held,
            debt=b.debt,
            lifetime_earned=b.lifetime_earned,
            lifetime_spent=b.lifetime_spent,
            entries=after.entries,
            next_maturity_at=next_maturity(after.lots),
        )
    )


def _activity_rows(rows: Rows, before: MemberState, after: MemberState) -> None:
    member = after.member_id
    for event_type, c in after.counters.items():
        if before.counters.get(event_type) != c:
            rows.counters.append(
                CounterRow(
                    member_id=member, event_type=event_type, count=c.count, last_at=c.last_at
                )
            )
    for order_id, o in after.orders.items():
        if before.orders.get(order_id) != o:
            rows.orders.append(
                OrderRow(
                    member_id=member,
                    order_id=order_id,
                    purchase_event_id=o.purchase_event_id,
                    amount=o.amount,
                    points_earned=o.points_earned,
                    refunded_amount=o.refunded_amount,
                    points_reversed=o.points_reversed,
                )
            )
    for key, u in after.usage.items():
        if before.usage.get(key) != u:
            rule_id, _, period_key = key.rpartition(":")
            rows.usage.append(
                UsageRow(
                    member_id=member,
                    rule_id=rule_id,
                    period_key=period_key,
                    times=u.times,
                    points=u.points,
                )
            )
    for redemption_id, r in after.redemptions.items():
        if before.redemptions.get(redemption_id) != r:
            rows.redemptions.append(RedemptionRow(member_id=member, **msgspec.structs.asdict(r)))
    if after.profile.attributes != before.profile.attributes:
        rows.attributes.append(AttributesRow(member_id=member, attributes=after.profile.attributes))


def _progress_rows(
    rows: Rows, before: MemberState, after: MemberState, now: datetime, histogram: bool
) -> None:
    member = after.member_id
    for (challenge_id, window), c in after.challenges.items():
        if before.challenges.get((challenge_id, window)) != c:
            rows.challenges.append(
                ChallengeSaveRow(
                    member_id=member,
                    challenge_id=challenge_id,
                    window_key=window,
                    step=c.step,
                    progress=c.progress,
                    completed_at=c.completed_at,
                )
            )
    for streak_id, s in after.streaks.items():
        old = before.streaks.get(streak_id)
        if old is None or (old.longest, old.run_start, old.rewarded) != (
            s.longest,
            s.run_start,
            s.rewarded,
        ):
            rows.streaks.append(
                StreakRow(
                    member_id=member,
                    streak_id=streak_id,
                    longest=s.longest,
                    run_start=s.run_start,
                    rewarded=s.rewarded,
                )
            )
    if after.tier != before.tier:
        t = after.tier
        rows.tiers.append(
            TierRow(member_id=member, tier=t.tier, since=t.since, held_until=t.held_until)
        )
    e = after.engagement
    if e != before.engagement and e.level is not None and e.since is not None:
        rows.engagement.append(
            EngagementRow(
                member_id=member, level=e.level, since=e.since, seq=e.seq, drops_at=e.drops_at
            )
        )
    if after.referral is not None and after.referral != before.referral:
        r = after.referral
        rows.referrals.append(ReferralRow(member_id=member, **msgspec.structs.asdict(r)))
    _board_rows(rows, before, after, now, histogram)


def _board_rows(
    rows: Rows, before: MemberState, after: MemberState, now: datetime, histogram: bool
) -> None:
    """The member's changed leaderboard scores, and the histogram counters they move (unless
    not `histogram`)."""
    member = after.member_id
    moved = []
    for (board_id, period_key, segment), score in after.boards.items():
        old_score = before.boards.get((board_id, period_key, segment), 0)
        if old_score != score:
            rows.board_scores.append(
                BoardScoreRow(
                    member_id=member,
                    board_id=board_id,
                    period_key=period_key,
                    segment=segment,
                    score=score,
                    reached_at=now,
                )
            )
            moved.append((board_id, period_key, segment, old_score, score))
    if histogram:
        rows.histogram.extend(bucket_changes(member, moved))


def _merged_histogram(changes: list[BucketChange]) -> list[BucketChange]:
    """One change per counter row (a statement may touch a row once), zeros dropped, sorted:
    concurrent sets lock the shared counter rows in one order."""
    total: dict[tuple[str, str, str, int, int, int], int] = defaultdict(int)
    for c in changes:
        total[(c.board_id, c.period_key, c.segment, c.level, c.bucket, c.shard)] += c.members
    return sorted(
        BucketChange(board, key, segment, level, bucket, shard, n)
        for (board, key, segment, level, bucket, shard), n in total.items()
        if n
    )


def _logged_rows(rows: Rows, log: Log) -> None:
    rows.events = list(log.events)
    rows.entries = list(log.entries)
    rows.badge_levels = list(log.badge_levels)
    rows.streak_units = list(log.units)
    rows.tier_moves = list(log.moves)
    rows.engagement_moves = list(log.engagement_moves)
    rows.exposures = list(log.exposures)
    badges: dict[tuple[str, str], BadgeRow] = {}
    for grant in log.badges:  # first grant names the event; the level is the highest
        key = (grant.member_id, grant.badge_id)
        first = badges.get(key)
        if first is None:
            badges[key] = grant
        elif grant.level > first.level:
            badges[key] = msgspec.structs.replace(first, level=grant.level)
    rows.badges = list(badges.values())
    rows.adjustments = list(log.adjustments)
    rows.code_claims = list(log.claims)
    rows.code_returns = list(log.returns)
    rows.generated_codes = list(log.generated)
    stock: dict[str, int] = defaultdict(int)
    for change in log.stock:
        stock[change.reward_id] += change.delta
    rows.stock = [StockRow(reward_id=r, delta=d) for r, d in sorted(stock.items()) if d]
    metrics: dict[tuple[str, str, date], Decimal] = defaultdict(Decimal)
    for m in log.metrics:
        metrics[(m.member_id, m.metric, m.day)] += m.value
    rows.metrics = [
        MetricRow(member_id=member, metric=metric, day=day, value=value)
        for (member, metric, day), value in metrics.items()
        if value
    ]


def changed_rows(
    before: dict[str, MemberState],
    after: dict[str, MemberState],
    budgets_before: dict[str, int],
    budgets_after: dict[str, int],
    log: Log,
    now: datetime,
    tz: str | None,
    webhooks: Collection[str] | None = None,
    *,
    histogram: bool = True,
) -> Rows:
    """The rows that take the store from `before` to `after` (plus the logged rows), with
    the outbox messages of the `webhooks` kinds (None: of every kind; the store keeps those
    an endpoint wants), and what they add to the program's daily figures on the local days of
    `tz` (the program's time zone; None: none, for a store that keeps no rollups); the
    leaderboards' histogram counters unless not `histogram` (a store that keeps none)."""
    rows = Rows()
    _logged_rows(rows, log)
    for member_id in sorted(after):
        old, new = before[member_id], after[member_id]
        if old is new:
            continue
        _ledger_rows(rows, old, new)
        _activity_rows(rows, old, new)
        _progress_rows(rows, old, new, now, histogram)
    rows.histogram = _merged_histogram(rows.histogram)
    rows.budgets = [
        BudgetRow(rule_id=rule_id, spent=spent)
        for rule_id, spent in sorted(budgets_after.items())
        if budgets_before.get(rule_id) != spent
    ]
    rows.webhooks = outbox_messages(rows, log, before, after, now, webhooks)
    if tz is not None:
        rows.rollups = rollup_rows(rows, before, after, tz)
        rows.activity = activity_rows(rows, tz)
        rows.rollup_shard = shard_of(after)
    return rows
