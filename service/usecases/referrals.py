"""Referrals: the member's code, and the referrer's side of a referee's event.

The referrer's reward (and its reversal) is booked in the referee's event transaction: the one
exception to one member per transaction. The referee is locked first (by intake), the referrer
second. Two events can then wait on each other only through a cycle of referrals (A referred B,
B referred A, or longer); PostgreSQL detects that deadlock and aborts one transaction, and
intake retries it (`ingest`), so neither event is lost.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from service.core.ledger import earn, expiry_for, pending_until, reversal_due, reverse_order
from service.core.lots import ExpiryPolicy
from service.core.referrals import code_from_bytes
from service.engine import Event, ReferralEffect, Ruleset
from service.errors import NotFound
from service.services import Services
from service.store import events as event_store
from service.store import ledger as ledger_store
from service.store import members as member_store
from service.store import referrals as referral_store
from service.store.database import Connection
from service.usecases.tiers import load_tier, local_day, metric_rows, record_metrics, settle_tier

__all__ = ["ReferralView", "referral_view", "reverse_referrer", "reward_referrer"]

_MINOR = Decimal(10_000)


class Referee(msgspec.Struct, kw_only=True):
    """A member this member referred."""

    member_id: str
    linked_at: datetime
    rewarded_at: datetime | None
    points: int
    """Points the referral earned this member, net of reversals."""


class ReferralView(msgspec.Struct, kw_only=True):
    """The member's referral code, what it earns, and whom it brought."""

    member_id: str
    code: str
    referrer_points: int
    referee_points: int
    max_per_referrer: int | None
    rewarded: int
    referred_by: str | None
    referees: list[Referee]


def _policy(ruleset: Ruleset) -> ExpiryPolicy:
    expiry = ruleset.program.points.expiry
    return ExpiryPolicy(kind=expiry.kind, days=expiry.days or 0)


def _referrer_order(referee_id: str, order_id: str) -> str:
    # The referrer's lot names the referee's order, so a refund reverses that lot first.
    return f"referral:{referee_id}:{order_id}"


async def _book_referrer(
    conn: Connection,
    ruleset: Ruleset,
    referrer_id: str,
    now: datetime,
    operate: Any,
    metric_at: datetime,
    metric_points: int,
) -> None:
    from service.usecases.booking import Ledgerbook  # booking imports this module

    await ledger_store.lock_member(conn, referrer_id)  # second lock: after the referee's
    state = await ledger_store.load_state(conn, referrer_id)
    book = Ledgerbook(state, now)
    operate(book)
    await book.write(conn, referrer_id)
    tiers = ruleset.program.tiers
    rows = metric_rows(
        metric_at, ruleset.program.timezone, points=metric_points, spend=Decimal(0), event_type=None
    )
    tier = None
    if tiers is not None:
        tier = await load_tier(conn, tiers, referrer_id, now, local_day(metric_at, tiers.timezone))
    await record_metrics(conn, referrer_id, rows, tier, tiers)
    if tiers is not None and tier is not None:
        await settle_tier(conn, tiers, referrer_id, tier, now, local_day(metric_at, tiers.timezone))


async def reward_referrer(
    conn: Connection,
    ruleset: Ruleset,
    event: Event,
    effect: ReferralEffect,
    referee_points: int,
    now: datetime,
) -> int:
    """Book the referrer's reward for the referee's qualifying purchase, within the cap."""
    policy = ruleset.referral
    assert policy is not None
    referrer = effect.referrer_id
    order_id = str(event.attributes["order_id"])
    points = effect.referrer_points
    cap = policy.max_per_referrer
    # Lock the referrer before counting: two referees' purchases at once must not both see
    # the cap not yet reached (the count after the lock sees the other's committed reward).
    await ledger_store.lock_member(conn, referrer)  # second lock: after the referee's
    if cap is not None and await referral_store.rewarded_count(conn, referrer) >= cap:
        points = 0
    if points:
        pending_days = ruleset.program.points.pending_days.get("purchase", 0)

        def operate(book: Any) -> None:
            book.take(
                earn(
                    book.lots,
                    book.balances,
                    member_id=referrer,
                    points=points,
                    lot_id=f"referral:{event.member_id}",
                    now=now,
                    occurred_at=event.occurred_at,
                    pending_until=pending_until(event.occurred_at, pending_days),
                    expires_at=expiry_for(event.occurred_at, _policy(ruleset)),
                    reason=effect.reason,
                    rule_id=effect.rule_id,
                    ruleset_version=effect.ruleset_version,
                    order_id=_referrer_order(event.member_id, order_id),
                )
            )

        await _book_referrer(conn, ruleset, referrer, now, operate, event.occurred_at, points)
    await referral_store.mark_rewarded(
        conn, event.member_id, order_id, event.occurred_at, referee_points, points
    )
    return points


async def reverse_referrer(conn: Connection, ruleset: Ruleset, event: Event, now: datetime) -> int:
    """After a refund of the referee's qualifying purchase, take back the referrer's reward in
    the same proportion as the purchase's points (reversed or forgiven); how many points."""
    row = await referral_store.fetch_referral(conn, event.member_id)
    order_id = str(event.attributes["order_id"])
    if row is None or row["order_id"] != order_id or not row["referrer_points"]:
        return 0
    order = await event_store.fetch_order(conn, event.member_id, order_id)
    due = reversal_due(
        earned=int(row["referrer_points"]),
        purchase_amount=int(order["amount"] * _MINOR),
        refunded_total=int(order["refunded_amount"] * _MINOR),
        already_reversed=int(row["referrer_reversed"]),
    )
    if not due:
        return 0
    reason = f"refund on {event.member_id}'s order {order_id}: {due} referral points taken back"

    def operate(book: Any) -> None:
        reversal = reverse_order(
            book.lots,
            book.balances,
            order_id=_referrer_order(event.member_id, order_id),
            points=due,
            allow_negative=ruleset.program.points.allow_negative_balance,
            now=now,
            reason=reason,
            rule_id="referral:referrer",
            ruleset_version=ruleset.version,
        )
        book.take(reversal.change)

    await _book_referrer(
        conn, ruleset, str(row["referrer_id"]), now, operate, row["rewarded_at"], -due
    )
    await referral_store.add_reversed(conn, event.member_id, due)
    return due


async def referral_view(services: Services, member_id: str) -> ReferralView:
    """The member's referral code (made on first ask) and their referrals."""
    ruleset = services.rules.current
    policy = ruleset.referral
    async with services.db.transaction() as conn:
        if await member_store.fetch_member(conn, member_id) is None:
            raise NotFound(f"no member '{member_id}'", field="member_id")
        code = await referral_store.code_of(conn, member_id)
        while code is None:
            candidate = code_from_bytes(secrets.token_bytes(8))
            if await referral_store.insert_code(conn, candidate, member_id):
                code = candidate
            else:  # a taken code, or a concurrent request made this member's code first
                code = await referral_store.code_of(conn, member_id)
        rows = await referral_store.referrals_of(conn, member_id)
        own = await referral_store.fetch_referral(conn, member_id)
    referees = [
        Referee(
            member_id=r["member_id"],
            linked_at=r["linked_at"],
            rewarded_at=r["rewarded_at"],
            points=int(r["referrer_points"]) - int(r["referrer_reversed"]),
        )
        for r in rows
    ]
    return ReferralView(
        member_id=member_id,
        code=code,
        referrer_points=policy.referrer_points if policy else 0,
        referee_points=policy.referee_points if policy else 0,
        max_per_referrer=policy.max_per_referrer if policy else None,
        rewarded=sum(1 for r in rows if r["referrer_points"]),
        referred_by=own["referrer_id"] if own else None,
        referees=referees,
    )
