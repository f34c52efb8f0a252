"""Booking an evaluated event: effects become lots, ledger entries, badges, progress and usage.

Runs inside the intake transaction with the member locked. The ledger arithmetic is the pure
core's; this module decides which core operation each effect is, and writes the results.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from service.core.boards import BucketChange
from service.core.ledger import (
    Balances,
    Change,
    Entry,
    ExpiryPolicy,
    Lot,
    earn,
    expiry_for,
    mature,
    pending_until,
    reversal_due,
    reverse_order,
)
from service.engine import (
    Effect,
    Evaluation,
    Event,
    PointsEffect,
    Ruleset,
)
from service.errors import Conflict, Unprocessable
from service.store import events as event_store
from service.store import ledger as ledger_store
from service.store import progress as progress_store
from service.store.database import Connection
from service.store.ledger import MemberState
from service.usecases import boards
from service.usecases.game_state import ChallengeStep, book_progress
from service.usecases.tiers import TierMoveView

__all__ = ["BalancesView", "EventResult", "Ledgerbook", "LotView", "book_event", "next_maturity"]

_MINOR = Decimal(10_000)  # amounts compared in 1/10,000 of the currency unit


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


def balances_view(balances: Balances) -> BalancesView:
    """The wire form of the core's balances."""
    return BalancesView(**msgspec.structs.asdict(balances))


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


class Ledgerbook:
    """Chains core operations on one member's lots, keeping what to write."""

    def __init__(self, state: MemberState, now: datetime) -> None:
        self.lots = state.lots
        self.balances = state.balances
        self.first_no = state.entries
        self.entries: list[Entry] = []
        self.changed: dict[str, Lot] = {}
        self.take(mature(self.lots, self.balances, now))

    def take(self, change: Change) -> None:
        """Adopt a core operation's result."""
        self.lots = change.lots
        self.balances = change.balances
        self.entries.extend(change.entries)
        self.changed.update({lot.lot_id: lot for lot in change.changed})

    async def write(self, conn: Connection, member_id: str, actor: str | None = None) -> None:
        """Write changed lots, the new entries and the balances row (one round trip); nothing
        when nothing changed (an event that earns nothing, a replayed redemption)."""
        if not self.entries and not self.changed:
            return
        await ledger_store.save_book(
            conn,
            member_id,
            list(self.changed.values()),
            self.first_no,
            self.entries,
            self.balances,
            next_maturity(self.lots),
            actor,
        )


def _policy(ruleset: Ruleset) -> ExpiryPolicy:
    expiry = ruleset.program.points.expiry
    return ExpiryPolicy(kind=expiry.kind, days=expiry.days or 0)


async def book_event(
    conn: Connection,
    ruleset: Ruleset,
    event: Event,
    state: MemberState,
    evaluation: Evaluation,
    now: datetime,
) -> tuple[EventResult, list[BucketChange]]:
    """Apply an evaluation to the locked member; the event's answer, and the leaderboard
    histogram changes left for the caller to apply last (`boards.apply_histogram`)."""
    book = Ledgerbook(state, now)
    order_id = event.attributes.get("order_id") if event.type == "purchase" else None
    reversed_points, forgiven = 0, 0
    if event.type == "refund":
        reversed_points, forgiven = await _refund(conn, ruleset, event, book, now)
    effects, new_lots = await _earn(conn, ruleset, event, book, evaluation.effects, now, order_id)
    earned = sum(lot.points for lot in new_lots)
    if order_id is not None and not await event_store.insert_order(
        conn,
        member_id=event.member_id,
        order_id=order_id,
        purchase_event_id=event.id,
        amount=event.attributes["amount"],
        points_earned=earned,
    ):
        raise Conflict(
            f"order '{order_id}' was already recorded by another purchase",
            field="attributes.order_id",
            code="order_reused",
        )
    badges, steps = await book_progress(conn, event, effects, now)
    # A points effect whose rule's budget was spent out is dropped (0 granted): its cap usage
    # must not count points the member never got.
    granted_points = {e.rule_id: 0 for e in evaluation.effects if isinstance(e, PointsEffect)}
    granted_points |= {e.rule_id: e.points for e in effects if isinstance(e, PointsEffect)}
    usage = [
        {
            "rule_id": u.rule_id,
            "period_key": u.period_key,
            "times": u.times,
            "points": min(u.points, granted_points.get(u.rule_id, u.points)),
        }
        for u in evaluation.usage
        if granted_points.get(u.rule_id, 1) > 0 or u.points == 0
    ]
    await progress_store.add_usage(conn, event.member_id, usage)
    # The event is counted (member_counters) when the intake stores it, in the same statement.
    await book.write(conn, event.member_id)
    histogram = await boards.score(conn, ruleset, event, earned, now)
    result = EventResult(
        event_id=event.id,
        member_id=event.member_id,
        type=event.type,
        occurred_at=event.occurred_at,
        ruleset_version=ruleset.version,
        points=earned - reversed_points,
        earned=earned,
        reversed=reversed_points,
        forgiven=forgiven,
        effects=effects,
        lots=[
            LotView(
                lot_id=lot.lot_id,
                points=lot.points,
                state=lot.state,
                activates_at=lot.activates_at,
                expires_at=lot.expires_at,
                rule_id=lot.rule_id,
            )
            for lot in new_lots
        ],
        badges=badges,
        challenges=steps,
        balances=balances_view(book.balances),
    )
    return result, histogram


async def _earn(
    conn: Connection,
    ruleset: Ruleset,
    event: Event,
    book: Ledgerbook,
    effects: list[Effect],
    now: datetime,
    order_id: str | None,
) -> tuple[list[Effect], list[Lot]]:
    """Book each points effect as a lot (after its rule's global budget, if any)."""
    policy = _policy(ruleset)
    pending_days = ruleset.program.points.pending_days.get(event.type, 0)
    kept: list[Effect] = []
    new_lots: list[Lot] = []
    for effect in effects:
        if not isinstance(effect, PointsEffect):
            kept.append(effect)
            continue
        points = effect.points
        if effect.budget is not None:
            points = await progress_store.spend_budget(conn, effect.rule_id, points, effect.budget)
            if points == 0:
                continue
            effect = msgspec.structs.replace(effect, points=points)
        lot_id = f"{event.id}/{effect.rule_id}"
        book.take(
            earn(
                book.lots,
                book.balances,
                member_id=event.member_id,
                points=points,
                lot_id=lot_id,
                now=now,
                occurred_at=event.occurred_at,
                pending_until=pending_until(event.occurred_at, pending_days),
                expires_at=expiry_for(event.occurred_at, policy),
                reason=effect.reason,
                event_id=event.id,
                rule_id=effect.rule_id,
                ruleset_version=effect.ruleset_version,
                order_id=order_id,
            )
        )
        new_lots.append(book.changed[lot_id])
        kept.append(effect)
    return kept, new_lots


async def _refund(
    conn: Connection, ruleset: Ruleset, event: Event, book: Ledgerbook, now: datetime
) -> tuple[int, int]:
    """Reverse a purchase's points in proportion to the refunded amount."""
    order_id = str(event.attributes["order_id"])
    amount = Decimal(event.attributes["amount"])
    order = await event_store.fetch_order(conn, event.member_id, order_id)
    if order is None:
        raise Unprocessable(
            f"no purchase with order_id '{order_id}' for this member",
            field="attributes.order_id",
            code="unknown_order",
        )
    left = order["amount"] - order["refunded_amount"]
    if amount <= 0 or amount > left:
        raise Unprocessable(
            f"refund of {amount} exceeds the {left} left to refund on order '{order_id}'",
            field="attributes.amount",
            code="refund_exceeds_purchase",
        )
    refunded_total = order["refunded_amount"] + amount
    due = reversal_due(
        earned=int(order["points_earned"]),
        purchase_amount=int(order["amount"] * _MINOR),
        refunded_total=int(refunded_total * _MINOR),
        already_reversed=int(order["points_reversed"]),
    )
    reversed_points = forgiven = 0
    if due:
        reversal = reverse_order(
            book.lots,
            book.balances,
            order_id=order_id,
            points=due,
            allow_negative=ruleset.program.points.allow_negative_balance,
            now=now,
            reason=f"refund of {amount} on order {order_id}: {due} points reversed",
            event_id=event.id,
        )
        book.take(reversal.change)
        reversed_points, forgiven = reversal.reversed, reversal.forgiven
    await event_store.save_order(
        conn,
        member_id=event.member_id,
        order_id=order_id,
        purchase_event_id=order["purchase_event_id"],
        amount=order["amount"],
        points_earned=int(order["points_earned"]),
        refunded_amount=refunded_total,
        points_reversed=int(order["points_reversed"]) + reversed_points + forgiven,
    )
    return reversed_points, forgiven
