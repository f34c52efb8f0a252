"""Referrals as a member reads them: their code (made on first ask) and whom they brought.

The referral's bookings (the link, the referee's and the referrer's rewards, their reversal)
are decided with the referee's events (`service.decide.referral`).
"""

from __future__ import annotations

import secrets
from datetime import datetime

import msgspec

from service.core.referrals import code_from_bytes
from service.errors import NotFound
from service.runtime import Runtime
from service.store import members as member_store
from service.store import referrals as referral_store

__all__ = ["ReferralView", "referral_view"]


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


async def referral_view(runtime: Runtime, member_id: str) -> ReferralView:
    """The member's referral code (made on first ask) and their referrals."""
    ruleset = runtime.rules.current
    policy = ruleset.referral
    async with runtime.db.transaction() as conn:
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
            member_id=r.member_id,
            linked_at=r.linked_at,
            rewarded_at=r.rewarded_at,
            points=r.referrer_points - r.referrer_reversed,
        )
        for r in rows
    ]
    return ReferralView(
        member_id=member_id,
        code=code,
        referrer_points=policy.referrer_points if policy else 0,
        referee_points=policy.referee_points if policy else 0,
        max_per_referrer=policy.max_per_referrer if policy else None,
        rewarded=sum(1 for r in rows if r.referrer_points),
        referred_by=own.referrer_id if own else None,
        referees=referees,
    )
