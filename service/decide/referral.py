"""Referrals in the decision step: linking a referee to the owner of the code they bring, and
the referrer's side of the referee's events (a reward on the first qualifying purchase, its
reversal on a refund of that purchase). The referrer is one of the set's locked members: the one
operation that books two members at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from msgspec.structs import replace

from service.core.ledger import (
    Change,
    earn,
    expiry_for,
    pending_until,
    reversal_due,
    reverse_order,
)
from service.core.referrals import link_refusal
from service.decide.plan import referral_code
from service.decide.policy import expiry_policy
from service.decide.state import MemberState, Referral
from service.decide.step import Step
from service.decide.tiering import add_metrics, local_day, metric_amounts, review_now, settle_tier
from service.engine import Event, ReferralEffect, Ruleset

__all__ = ["link_referral", "reverse_referrer", "reward_referrer"]

_MINOR = Decimal(10_000)  # amounts compared in 1/10,000 of the currency unit


def _referrer_order(referee_id: str, order_id: str) -> str:
    # The referrer's lot names the referee's order, so a refund reverses that lot first.
    return f"referral:{referee_id}:{order_id}"


def link_referral(
    ruleset: Ruleset, code_owners: Mapping[str, str], state: MemberState, event: Event
) -> tuple[MemberState, str | None]:
    """Link the member to the owner of the event's referral code, if it may link; the new
    state and what the answer says about it (None: the event carries no code)."""
    code = referral_code(ruleset, event)
    if code is None:
        return state, None
    referrer = code_owners.get(code)
    purchases = state.counters["purchase"].count if "purchase" in state.counters else 0
    refusal = link_refusal(
        event.member_id,
        referrer,
        already_referred=state.referral is not None,
        event_type=event.type,
        purchases_before=purchases,
    )
    if refusal is not None or referrer is None:
        return state, f"referral not linked: {refusal}"
    link = Referral(
        referrer_id=referrer, code=code, linked_at=event.occurred_at, link_event_id=event.id
    )
    return replace(state, referral=link), f"referred by {referrer}"


def _book_referrer(
    step: Step,
    ruleset: Ruleset,
    referrer_id: str,
    operate: Callable[[MemberState], Change],
    metric_at: datetime,
    metric_points: int,
) -> MemberState:
    """The referrer's ledger operation, their metric and their tier, as of now."""
    referrer = step.matured(step.member(referrer_id))
    referrer = step.book(referrer, operate(referrer))
    tiers = ruleset.program.tiers
    review = review_now(tiers, referrer, step.now) if tiers is not None else None
    amounts = metric_amounts(
        metric_at,
        ruleset.program.timezone,
        points=metric_points,
        spend=Decimal(0),
        event_type=None,
    )
    referrer = add_metrics(step, referrer, amounts, tiers, ruleset.program.engagement.metrics)
    if tiers is not None and review is not None:
        referrer, _ = settle_tier(
            step, tiers, referrer, review, local_day(metric_at, tiers.timezone)
        )
    return referrer


def reward_referrer(
    step: Step,
    ruleset: Ruleset,
    referee: MemberState,
    event: Event,
    effect: ReferralEffect,
    referee_points: int,
) -> tuple[MemberState, int]:
    """Pay the referrer for the referee's qualifying purchase, within the cap; the referee's
    new state (the referral marked rewarded) and the points the referrer got."""
    policy = ruleset.referral
    assert policy is not None and referee.referral is not None
    referrer_id = effect.referrer_id
    order_id = str(event.attributes["order_id"])
    points = effect.referrer_points
    cap = policy.max_per_referrer
    if cap is not None and step.member(referrer_id).referrals_rewarded >= cap:
        points = 0
    if points:
        pending_days = ruleset.program.points.pending_days.get("purchase", 0)

        def operate(referrer: MemberState) -> Change:
            return earn(
                referrer.lots,
                referrer.balances,
                member_id=referrer_id,
                points=points,
                lot_id=f"referral:{event.member_id}",
                now=step.now,
                occurred_at=event.occurred_at,
                pending_until=pending_until(event.occurred_at, pending_days),
                expires_at=expiry_for(event.occurred_at, expiry_policy(ruleset)),
                reason=effect.reason,
                rule_id=effect.rule_id,
                ruleset_version=effect.ruleset_version,
                order_id=_referrer_order(event.member_id, order_id),
            )

        referrer = _book_referrer(step, ruleset, referrer_id, operate, event.occurred_at, points)
        step.put(replace(referrer, referrals_rewarded=referrer.referrals_rewarded + 1))
    rewarded = replace(
        referee.referral,
        order_id=order_id,
        rewarded_at=event.occurred_at,
        referee_points=referee_points,
        referrer_points=points,
    )
    return step.put(replace(referee, referral=rewarded)), points


def reverse_referrer(
    step: Step, ruleset: Ruleset, referee: MemberState, event: Event
) -> tuple[MemberState, int]:
    """After a refund of the referee's qualifying purchase, take back the referrer's reward in
    the same proportion as the purchase's points; the referee's new state and how many."""
    link = referee.referral
    order_id = str(event.attributes["order_id"])
    if link is None or link.order_id != order_id or not link.referrer_points:
        return referee, 0
    order = referee.orders[order_id]
    due = reversal_due(
        earned=link.referrer_points,
        purchase_amount=int(order.amount * _MINOR),
        refunded_total=int(order.refunded_amount * _MINOR),
        already_reversed=link.referrer_reversed,
    )
    if not due:
        return referee, 0
    reason = f"refund on {event.member_id}'s order {order_id}: {due} referral points taken back"

    def operate(referrer: MemberState) -> Change:
        return reverse_order(
            referrer.lots,
            referrer.balances,
            order_id=_referrer_order(event.member_id, order_id),
            points=due,
            allow_negative=ruleset.program.points.allow_negative_balance,
            now=step.now,
            reason=reason,
            rule_id="referral:referrer",
            ruleset_version=ruleset.version,
        ).change

    assert link.rewarded_at is not None
    _book_referrer(step, ruleset, link.referrer_id, operate, link.rewarded_at, -due)
    reversed_link = replace(link, referrer_reversed=link.referrer_reversed + due)
    return step.put(replace(referee, referral=reversed_link)), due
