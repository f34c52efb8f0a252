"""Tiers in the decision step: the review as of now before the rules run (so they read the tier
in force), the event's qualifying metrics, and the review after them (an upgrade at once)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from msgspec.structs import replace

from service.core.metrics import EventCount, PointsEarned, Spend
from service.core.periods import local_date
from service.core.tiers import TierMove, TierProgram, TierReview, review_tier
from service.decide.rows import MetricRow, TierMoveRow
from service.decide.state import MemberState
from service.decide.step import StateMissing, Step

__all__ = [
    "MetricAmount",
    "add_metrics",
    "local_day",
    "metric_amounts",
    "metric_since",
    "review_now",
    "settle_tier",
]

MetricAmount = tuple[str, date, Decimal]
"""(metric, local day, amount) an event adds: `points_earned`, `spend`, `count:<type>`."""


def local_day(at: datetime, tz: str) -> date:
    """The local date of an instant in a time zone (memoised, `core.periods.local_date`)."""
    return local_date(at, tz)


def metric_since(program: TierProgram, now: datetime, event_day: date | None = None) -> date:
    """The first day of metric that a review at `now` (of an event on `event_day`) reads."""
    today = local_day(now, program.timezone)
    earliest = min(today, event_day) if event_day else today
    if program.rolling_days is None:
        return date(earliest.year, 1, 1)
    return today - timedelta(days=program.rolling_days - 1)


def _days(state: MemberState) -> dict[date, float]:
    return {day: float(value) for day, value in state.metric_days.items()}


def _require_days(program: TierProgram, state: MemberState, now: datetime, day: date) -> None:
    needed = metric_since(program, now, day)
    if state.metric_since is None or state.metric_since > needed:
        raise StateMissing(state.member_id, needed)


def review_now(program: TierProgram, state: MemberState, now: datetime) -> TierReview:
    """The member's tier as of now: lapses due applied, not yet stored."""
    return review_tier(program, state.tier, _days(state), now)


def metric_amounts(
    at: datetime, tz: str, *, points: int, spend: Decimal, event_type: str | None
) -> list[MetricAmount]:
    """The per-day metric amounts an event (or its correction) adds on its local day."""
    day = local_day(at, tz)
    amounts = [(PointsEarned().key, day, Decimal(points)), (Spend().key, day, spend)]
    if event_type is not None:
        amounts.append((EventCount(event_type).key, day, Decimal(1)))
    return amounts


def add_metrics(
    step: Step,
    state: MemberState,
    amounts: list[MetricAmount],
    program: TierProgram | None,
    engagement: tuple[str, ...] = (),
) -> MemberState:
    """Log the amounts (the store adds them to the member's days) and add the tier's own
    metric to the days the decision reads (days before those read lie outside every window a
    review of this set reads: `settle_tier` makes sure of that), and the `engagement` metrics
    to the engagement score's days."""
    days = dict(state.metric_days)
    engaged = dict(state.engagement_days)
    since = state.metric_since
    for metric, day, value in amounts:
        if not value:
            continue
        step.log.metrics.append(
            MetricRow(member_id=state.member_id, metric=metric, day=day, value=value)
        )
        if program is not None and metric == program.metric_key and since and day >= since:
            days[day] = days.get(day, Decimal(0)) + value
        if metric in engagement:
            engaged[(metric, day)] = engaged.get((metric, day), Decimal(0)) + value
    return step.put(replace(state, metric_days=days, engagement_days=engaged))


def settle_tier(
    step: Step,
    program: TierProgram,
    state: MemberState,
    before: TierReview,
    event_day: date | None,
) -> tuple[MemberState, list[TierMove]]:
    """Review again after the event's metrics (or, with no event, as the clock has it); keep
    the tier and log every move made."""
    if event_day is not None:
        _require_days(program, state, step.now, event_day)
    after = review_tier(program, before.state, _days(state), step.now, event_day)
    moves = [*before.moves, *after.moves]
    if after.state == state.tier and not moves:
        return state, moves
    for n, move in enumerate(moves, start=state.tier_seq + 1):
        step.log.moves.append(
            TierMoveRow(
                member_id=state.member_id,
                seq=n,
                from_tier=move.from_tier,
                to_tier=move.to_tier,
                at=move.at,
                reason=move.reason,
            )
        )
    state = replace(state, tier=after.state, tier_seq=state.tier_seq + len(moves))
    return step.put(state), moves
