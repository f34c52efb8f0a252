"""One event, decided: the idempotency check, the rules, and every effect booked on the member's
state (and their referrer's), with the answer it gets. Pure: a refusal raises a domain error
and the caller drops the step, so nothing of a refused event survives.

The order follows what a member would expect to read in their ledger: the clock first (points
that activated or expired), then a refund's reversal, then what the rules and the program's
challenges, streaks, badges and referral award, then the tier the event qualifies for.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, assert_never

import msgspec
from msgspec.structs import replace

from service.core.ledger import (
    Lot,
    earn,
    expiry_for,
    pending_until,
    reversal_due,
    reverse_order,
)
from service.decide.answers import (
    ChallengeStep,
    EngagementMoveView,
    EventResult,
    RuleFailure,
    balances_view,
    lot_view,
    move_views,
)
from service.decide.engaging import LevelMove, changed_event, settle_engagement
from service.decide.experimenting import by_arm
from service.decide.idempotency import event_key, replay_or_conflict
from service.decide.plan import challenge_windows
from service.decide.policy import expiry_policy
from service.decide.referral import link_referral, reverse_referrer, reward_referrer
from service.decide.rows import BadgeLevelRow, BadgeRow, EventRow, StreakUnitRow
from service.decide.scoring import scored
from service.decide.snapshot import snapshot_of
from service.decide.state import ChallengeRow, Counter, MemberState, Order, StoredEvent, Usage
from service.decide.step import Step
from service.decide.tiering import add_metrics, local_day, metric_amounts, review_now, settle_tier
from service.engine import (
    AttributeEffect,
    BadgeEffect,
    ChallengeEffect,
    Effect,
    Evaluation,
    Event,
    PointsEffect,
    ReferralEffect,
    Ruleset,
    StreakEffect,
    StreakHistory,
    evaluate,
)
from service.engine.snapshot import usage_key
from service.errors import Conflict, Unprocessable

__all__ = ["Prepared", "decide_event", "react_to_level"]

_MINOR = Decimal(10_000)  # amounts compared in 1/10,000 of the currency unit
_STORED = Decimal("0.0001")  # orders keep amounts with 4 decimals (numeric(18, 4))


class Prepared(msgspec.Struct, frozen=True):
    """An event checked against the ruleset's event types, and the hash of its body."""

    event: Event
    body_hash: str


class _Booking:
    """What one event has booked so far, for its answer."""

    def __init__(self, event: Event, referral_note: str | None) -> None:
        self.event = event
        self.effects: list[Effect] = []
        self.lots: list[Lot] = []
        self.badges: list[str] = []
        self.steps: list[ChallengeStep] = []
        self.reversed = 0
        self.forgiven = 0
        self.referral_note = referral_note

    @property
    def earned(self) -> int:
        return sum(lot.points for lot in self.lots)


def _refund(step: Step, ruleset: Ruleset, state: MemberState, booking: _Booking) -> MemberState:
    """Reverse a purchase's points in proportion to the refunded amount."""
    event = booking.event
    order_id = str(event.attributes["order_id"])
    amount = Decimal(event.attributes["amount"])
    order = state.orders.get(order_id)
    if order is None:
        raise Unprocessable(
            f"no purchase with order_id '{order_id}' for this member",
            field="attributes.order_id",
            code="unknown_order",
        )
    left = order.amount - order.refunded_amount
    if amount <= 0 or amount > left:
        raise Unprocessable(
            f"refund of {amount} exceeds the {left} left to refund on order '{order_id}'",
            field="attributes.amount",
            code="refund_exceeds_purchase",
        )
    refunded_total = (order.refunded_amount + amount).quantize(_STORED)
    due = reversal_due(
        earned=order.points_earned,
        purchase_amount=int(order.amount * _MINOR),
        refunded_total=int(refunded_total * _MINOR),
        already_reversed=order.points_reversed,
    )
    if due:
        reversal = reverse_order(
            state.lots,
            state.balances,
            order_id=order_id,
            points=due,
            allow_negative=ruleset.program.points.allow_negative_balance,
            now=step.now,
            reason=f"refund of {amount} on order {order_id}: {due} points reversed",
            event_id=event.id,
        )
        state = step.book(state, reversal.change)
        booking.reversed, booking.forgiven = reversal.reversed, reversal.forgiven
    settled = replace(
        order,
        refunded_amount=refunded_total,
        points_reversed=order.points_reversed + booking.reversed + booking.forgiven,
    )
    return step.put(replace(state, orders={**state.orders, order_id: settled}))


def _earn(
    step: Step, ruleset: Ruleset, state: MemberState, booking: _Booking, effect: PointsEffect
) -> MemberState:
    """Book a points effect as a lot (after its rule's global budget, if any)."""
    event = booking.event
    points = effect.points
    if effect.budget is not None:
        spent = step.budgets.get(effect.rule_id, 0)
        points = max(0, min(points, effect.budget - spent))
        if points == 0:
            return state  # the budget is spent out: the effect is dropped
        step.budgets[effect.rule_id] = spent + points
        effect = replace(effect, points=points)
    lot_id = f"{event.id}/{effect.rule_id}"
    pending_days = ruleset.program.points.pending_days.get(event.type, 0)
    change = earn(
        state.lots,
        state.balances,
        member_id=event.member_id,
        points=points,
        lot_id=lot_id,
        now=step.now,
        occurred_at=event.occurred_at,
        pending_until=pending_until(event.occurred_at, pending_days),
        expires_at=expiry_for(event.occurred_at, expiry_policy(ruleset)),
        reason=effect.reason,
        event_id=event.id,
        rule_id=effect.rule_id,
        ruleset_version=effect.ruleset_version,
        order_id=event.attributes.get("order_id") if event.type == "purchase" else None,
    )
    booking.lots.append(next(lot for lot in change.changed if lot.lot_id == lot_id))
    booking.effects.append(effect)
    return step.book(state, change)


def _badge(step: Step, state: MemberState, booking: _Booking, effect: BadgeEffect) -> MemberState:
    event = booking.event
    held = state.badges.get(effect.badge, 0)
    level = effect.level or 1
    grant = BadgeRow(
        member_id=state.member_id,
        badge_id=effect.badge,
        level=level,
        granted_at=event.occurred_at,
        event_id=event.id,
        rule_id=effect.rule_id,
    )
    step.log.badges.append(grant)
    if effect.level:
        step.log.badge_levels.append(
            BadgeLevelRow(
                member_id=state.member_id,
                badge_id=effect.badge,
                level=effect.level,
                level_name=effect.level_name or str(effect.level),
                granted_at=event.occurred_at,
                event_id=event.id,
            )
        )
    booking.badges.append(effect.badge)
    badges = {**state.badges, effect.badge: max(held, level) if effect.level else held or 1}
    return replace(state, badges=badges)


def _challenge(state: MemberState, booking: _Booking, effect: ChallengeEffect) -> MemberState:
    completed_at = booking.event.occurred_at if effect.completed else None
    row = ChallengeRow(effect.step - 1, effect.progress, completed_at)  # stored from 0
    booking.steps.append(
        ChallengeStep(
            challenge=effect.challenge,
            added=effect.amount,
            progress=effect.progress,
            window_key=effect.window_key,
            step=effect.step,
            target=effect.target,
            completed=effect.completed,
        )
    )
    challenges = {**state.challenges, (effect.challenge, effect.window_key): row}
    return replace(state, challenges=challenges)


def _streak(step: Step, state: MemberState, effect: StreakEffect) -> MemberState:
    step.log.units.append(
        StreakUnitRow(member_id=state.member_id, streak_id=effect.streak, unit=effect.unit)
    )
    old = state.streaks.get(effect.streak, StreakHistory())
    history = StreakHistory(
        units=tuple(sorted({*old.units, effect.unit})),
        longest=max(old.longest, effect.longest),
        run_start=effect.run_start,
        rewarded=effect.rewarded,
    )
    return replace(state, streaks={**state.streaks, effect.streak: history})


def _apply(
    step: Step, ruleset: Ruleset, state: MemberState, booking: _Booking, effect: Effect
) -> MemberState:
    """Book one effect of the evaluation: the one place every kind of effect is handled."""
    match effect:
        case PointsEffect():
            return _earn(step, ruleset, state, booking, effect)
        case BadgeEffect():
            booking.effects.append(effect)
            return step.put(_badge(step, state, booking, effect))
        case ChallengeEffect():
            booking.effects.append(effect)
            return step.put(_challenge(state, booking, effect))
        case StreakEffect():
            booking.effects.append(effect)
            return step.put(_streak(step, state, effect))
        case AttributeEffect():
            booking.effects.append(effect)
            attributes = {**state.profile.attributes, effect.name: effect.value}
            return step.put(replace(state, profile=replace(state.profile, attributes=attributes)))
        case ReferralEffect():
            booking.effects.append(effect)
            referee_points = sum(
                e.points
                for e in booking.effects
                if isinstance(e, PointsEffect) and e.rule_id == "referral:referee"
            )
            state, granted = reward_referrer(
                step, ruleset, state, booking.event, effect, referee_points
            )
            booking.referral_note = (
                f"referral rewarded: {referee_points} points here, {granted} to "
                f"{effect.referrer_id}" + ("" if granted else " (the referrer's cap is reached)")
            )
            return state
        case _:
            assert_never(effect)


def _record_order(state: MemberState, booking: _Booking) -> MemberState:
    """A purchase records its order (once per member and order id) with the points it earned."""
    event = booking.event
    if event.type != "purchase" or "order_id" not in event.attributes:
        return state
    order_id = str(event.attributes["order_id"])
    if order_id in state.orders:
        raise Conflict(
            f"order '{order_id}' was already recorded by another purchase",
            field="attributes.order_id",
            code="order_reused",
        )
    order = Order(
        order_id=order_id,
        purchase_event_id=event.id,
        amount=Decimal(event.attributes["amount"]).quantize(_STORED),
        refunded_amount=Decimal(0).quantize(_STORED),
        points_earned=booking.earned,
        purchased_at=event.occurred_at,
    )
    return replace(state, orders={**state.orders, order_id: order})


def _usage(state: MemberState, evaluation: Evaluation, booking: _Booking) -> MemberState:
    """Add the rules' firings to the member's cap usage; a points effect whose budget was spent
    out gave nothing, and its cap usage must not count points the member never got."""
    granted = {e.rule_id: 0 for e in evaluation.effects if isinstance(e, PointsEffect)}
    granted |= {e.rule_id: e.points for e in booking.effects if isinstance(e, PointsEffect)}
    usage = state.usage
    for u in evaluation.usage:
        if granted.get(u.rule_id, 1) <= 0 and u.points != 0:
            continue
        points = min(u.points, granted.get(u.rule_id, u.points))
        key = usage_key(u.rule_id, u.period_key)
        old = usage.get(key, Usage(0, 0))
        usage = {**usage, key: Usage(old.times + u.times, old.points + points)}
    return replace(state, usage=usage)


def _settle(
    step: Step,
    ruleset: Ruleset,
    state: MemberState,
    booking: _Booking,
    tier_before: Any,
) -> tuple[MemberState, list[Any]]:
    """The event's qualifying metrics, and the tier they earn."""
    event = booking.event
    tz = ruleset.program.timezone
    tiers = ruleset.program.tiers
    amount = Decimal(event.attributes.get("amount", 0)) if event.type == "purchase" else Decimal(0)
    amounts = metric_amounts(
        event.occurred_at, tz, points=booking.earned, spend=amount, event_type=event.type
    )
    if event.type == "refund":
        # A refund corrects the day of its purchase: points earned are net of reversals.
        order = state.orders[str(event.attributes["order_id"])]
        amounts += metric_amounts(
            order.purchased_at or event.occurred_at,
            tz,
            points=-(booking.reversed + booking.forgiven),
            spend=-Decimal(event.attributes["amount"]),
            event_type=None,
        )
    state = add_metrics(step, state, amounts, tiers, ruleset.program.engagement.metrics)
    if tiers is None or tier_before is None:
        return state, []
    return settle_tier(
        step, tiers, state, tier_before, local_day(event.occurred_at, tiers.timezone)
    )


def _stored(
    step: Step, ruleset: Ruleset, state: MemberState, prepared: Prepared, result: EventResult
) -> MemberState:
    """Count the event for its member and keep it with its answer."""
    event = prepared.event
    old = state.counters.get(event.type)
    last = event.occurred_at
    if old is not None and old.last_at is not None:
        last = max(old.last_at, event.occurred_at)
    counter = Counter((old.count if old else 0) + 1, last)
    decided = state.decided
    if state.prior:  # only a late event's recency reads the set's earlier events
        decided = (*decided, (event.type, local_day(event.occurred_at, ruleset.program.timezone)))
    step.log.events.append(
        EventRow(
            member_id=event.member_id,
            event_id=event.id,
            type=event.type,
            occurred_at=event.occurred_at,
            received_at=step.now,
            body_hash=prepared.body_hash,
            attributes=event.attributes,
            ruleset_version=ruleset.version,
            result=result,
        )
    )
    return step.put(
        replace(
            state,
            counters={**state.counters, event.type: counter},
            decided=decided,
            events={**state.events, event.id: StoredEvent(prepared.body_hash, result)},
        )
    )


def _evaluated(
    step: Step, ruleset: Ruleset, state: MemberState, tier: Any, event: Event
) -> Evaluation:
    """The rules run on `event` over the member as the engine sees them (tier as of now,
    the challenge windows and budgets in play)."""
    snapshot = snapshot_of(
        ruleset,
        state,
        tier,
        challenge_windows(ruleset, event.occurred_at),
        step.budgets,
        event.occurred_at,
    )
    return evaluate(ruleset, snapshot, event, step.now)


def react_to_level(
    step: Step, ruleset: Ruleset, state: MemberState, cause: str, move: LevelMove
) -> tuple[MemberState, list[Effect], list[Lot]]:
    """Run the rules on `engagement_changed` for a level move and book their effects (the
    event and the worker's pass alike); the effects and lots booked."""
    internal = changed_event(state.member_id, cause, move)
    if internal is None or not any(r.on == internal.type for r in ruleset.rules):
        return state, [], []
    tiers = ruleset.program.tiers
    tier = review_now(tiers, state, step.now) if tiers is not None else None
    evaluation = _evaluated(step, ruleset, state, tier, internal)
    booking = _Booking(internal, None)
    for effect in by_arm(step, ruleset, internal, evaluation.effects):
        state = _apply(step, ruleset, state, booking, effect)
    state = step.put(_usage(state, evaluation, booking))
    return state, booking.effects, booking.lots


def decide_event(
    step: Step, ruleset: Ruleset, code_owners: Mapping[str, str], prepared: Prepared
) -> EventResult:
    """Apply one event to the step's members and answer what it did (or, for a replay, what it
    did the first time); a refusal raises a domain error."""
    event = prepared.event
    state = step.member(event.member_id)
    replayed = _replayed(state, prepared)
    if replayed is not None:
        return replayed
    tiers = ruleset.program.tiers
    tier_before = review_now(tiers, state, step.now) if tiers is not None else None
    state, note = link_referral(ruleset, code_owners, state, event)
    evaluation = _evaluated(step, ruleset, state, tier_before, event)
    booking = _Booking(event, note)
    state = step.matured(step.put(state))
    state, moves, level = _book_event(step, ruleset, state, booking, evaluation, tier_before)
    result = _result(ruleset, state, booking, evaluation, moves, level)
    _stored(step, ruleset, state, prepared, result)
    return result


def _replayed(state: MemberState, prepared: Prepared) -> EventResult | None:
    """The stored answer of an event already booked (a replay, or a second delivery in the
    same set; its body must be the same), or None."""
    event = prepared.event
    stored = state.events.get(event.id)
    if stored is None:
        return None
    answer = replay_or_conflict(
        stored.body_hash, prepared.body_hash, stored.result, event_key(event.id)
    )
    return replace(answer, replay=True)


def _book_event(
    step: Step,
    ruleset: Ruleset,
    state: MemberState,
    booking: _Booking,
    evaluation: Evaluation,
    tier_before: Any,
) -> tuple[MemberState, list[Any], LevelMove | None]:
    """Book what the rules decided, then what follows from it: the order, cap usage, scores,
    the tier, the engagement level (and the rules on its change), a referrer's reversal."""
    event = booking.event
    if event.type == "refund":
        state = _refund(step, ruleset, state, booking)
    for effect in by_arm(step, ruleset, event, evaluation.effects):
        state = _apply(step, ruleset, state, booking, effect)
    state = _record_order(state, booking)
    state = _usage(state, evaluation, booking)
    state = step.put(scored(ruleset, state, event, booking.earned))
    state, moves = _settle(step, ruleset, state, booking, tier_before)
    state, level = settle_engagement(step, ruleset, state, event.id)
    if level is not None:
        state, effects, lots = react_to_level(step, ruleset, state, event.id, level)
        booking.effects += effects
        booking.lots += lots
    if event.type == "refund":
        state, taken = reverse_referrer(step, ruleset, state, event)
        if taken:
            booking.referral_note = (
                f"referral reward reversed: {taken} points taken back from the referrer"
            )
    return state, moves, level


def _result(
    ruleset: Ruleset,
    state: MemberState,
    booking: _Booking,
    evaluation: Evaluation,
    moves: list[Any],
    level: LevelMove | None,
) -> EventResult:
    """The event's answer: what it earned and reversed, and everything that moved."""
    event = booking.event
    return EventResult(
        event_id=event.id,
        member_id=event.member_id,
        type=event.type,
        occurred_at=event.occurred_at,
        ruleset_version=ruleset.version,
        points=booking.earned - booking.reversed,
        earned=booking.earned,
        reversed=booking.reversed,
        forgiven=booking.forgiven,
        effects=booking.effects,
        lots=[lot_view(lot) for lot in booking.lots],
        badges=booking.badges,
        challenges=booking.steps,
        balances=balances_view(state.balances),
        tier_moves=move_views(moves),
        referral=booking.referral_note,
        failed_rules=[
            RuleFailure(rule_id=s.rule_id, reason=s.detail)
            for s in evaluation.skipped
            if s.reason == "error"
        ],
        engagement=(
            EngagementMoveView(
                from_level=level.from_level, to_level=level.to_level, score=level.score
            )
            if level is not None
            else None
        ),
    )
