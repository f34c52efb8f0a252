"""Lots: points arrive in lots that are pending, then available, then spent or expired.

A lot records which balance its `remaining` points are counted in (`state`) as of the last
booking; `state_at` says which balance they belong in at a given moment, and the ledger's
`mature` books the difference. Pure: no clock, no I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import msgspec

__all__ = [
    "ExpiryPolicy",
    "Lot",
    "LotState",
    "becomes_available",
    "expiry_for",
    "fifo_key",
    "pending_until",
    "state_at",
]

LotState = Literal["pending", "available", "expired"]


class ExpiryPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The program's expiry policy: `none`, or `rolling` = each lot expires `days` after earning."""

    kind: Literal["none", "rolling"] = "none"
    days: int = 0


class Lot(msgspec.Struct, frozen=True, kw_only=True):
    """Points earned together; `remaining` (never below zero) is what is left to spend.

    `state` is the balance `remaining` is counted in as of the last booking; an empty lot's
    state is not updated as time passes (it moves no points), so read it with `state_at`.
    """

    lot_id: str
    member_id: str
    earned_at: datetime
    activates_at: datetime
    expires_at: datetime | None
    points: int
    remaining: int
    state: LotState
    event_id: str | None = None
    rule_id: str | None = None
    ruleset_version: str | None = None
    order_id: str | None = None


def expiry_for(earned_at: datetime, policy: ExpiryPolicy) -> datetime | None:
    """When points earned at `earned_at` expire under `policy` (None: never)."""
    if policy.kind == "none":
        return None
    assert policy.days > 0, f"a rolling expiry needs days > 0, got {policy.days}"
    return earned_at + timedelta(days=policy.days)


def pending_until(occurred_at: datetime, pending_days: int) -> datetime:
    """When points for an event that occurred at `occurred_at` leave the return window."""
    assert pending_days >= 0, f"pending_days must be >= 0, got {pending_days}"
    return occurred_at + timedelta(days=pending_days)


def becomes_available(lot: Lot) -> bool:
    """False for a lot that expires before (or when) its return window ends."""
    return lot.expires_at is None or lot.expires_at > lot.activates_at


def state_at(lot: Lot, now: datetime) -> LotState:
    """The balance the lot's remaining points belong in at `now`."""
    if lot.expires_at is not None and now >= lot.expires_at:
        return "expired"
    if now < lot.activates_at:
        return "pending"
    return "available"


def fifo_key(lot: Lot) -> tuple[datetime, datetime, str]:
    """Spending order: oldest activation first, then oldest earning, then lot id."""
    return (lot.activates_at, lot.earned_at, lot.lot_id)
