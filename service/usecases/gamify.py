"""After an event is booked: its qualifying metrics, the tier it earns, and the referrer's side
of a referral (reward on the referee's qualifying purchase, reversal on its refund)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from service.engine import Event, PointsEffect, ReferralEffect, Ruleset
from service.store import tiers as tier_store
from service.store.database import Connection
from service.usecases.booking import EventResult
from service.usecases.game_state import GameState
from service.usecases.referrals import reverse_referrer, reward_referrer
from service.usecases.tiers import local_day, metric_rows, move_views, record_metrics, settle_tier

__all__ = ["settle_event"]


async def _metrics(
    conn: Connection, ruleset: Ruleset, event: Event, result: EventResult, game: GameState
) -> None:
    tz = ruleset.program.timezone
    amount = Decimal(event.attributes.get("amount", 0)) if event.type == "purchase" else Decimal(0)
    rows = metric_rows(
        event.occurred_at, tz, points=result.earned, spend=amount, event_type=event.type
    )
    if event.type == "refund":
        # A refund corrects the day of its purchase: points earned are net of reversals.
        order_id = str(event.attributes["order_id"])
        bought = await tier_store.purchase_time(conn, event.member_id, order_id)
        rows += metric_rows(
            bought or event.occurred_at,
            tz,
            points=-(result.reversed + result.forgiven),
            spend=-Decimal(event.attributes["amount"]),
            event_type=None,
        )
    await record_metrics(conn, event.member_id, rows, game.tier, ruleset.program.tiers)


async def settle_event(
    conn: Connection,
    ruleset: Ruleset,
    event: Event,
    result: EventResult,
    game: GameState,
    now: datetime,
) -> EventResult:
    """Record the event's metrics, settle the tier, book the referrer's side; the answer."""
    await _metrics(conn, ruleset, event, result, game)
    moves = []
    tiers = ruleset.program.tiers
    if tiers is not None and game.tier is not None:
        day = local_day(event.occurred_at, tiers.timezone)
        moves = await settle_tier(conn, tiers, event.member_id, game.tier, now, day)
    note = game.referral_note
    for effect in result.effects:
        if isinstance(effect, ReferralEffect):
            referee_points = sum(
                e.points
                for e in result.effects
                if isinstance(e, PointsEffect) and e.rule_id == "referral:referee"
            )
            granted = await reward_referrer(conn, ruleset, event, effect, referee_points, now)
            note = (
                f"referral rewarded: {referee_points} points here, {granted} to "
                f"{effect.referrer_id}" + ("" if granted else " (the referrer's cap is reached)")
            )
    if event.type == "refund":
        taken = await reverse_referrer(conn, ruleset, event, now)
        if taken:
            note = f"referral reward reversed: {taken} points taken back from the referrer"
    return msgspec.structs.replace(result, tier_moves=move_views(moves), referral=note)
