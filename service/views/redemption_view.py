"""Redemptions as callers see them, and redemption ids that name their member.

A redemption id reads `rd_<16 hex>.<base64url(member_id)>`: the random part makes it unique and
unguessable, the second part lets commit and cancel lock the right member first without searching
every member's redemptions (and keeps the schema distributable by member). Member ids may contain
`_` and `.`, hence base64url, which contains neither `.` nor padding here.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from datetime import datetime

import msgspec

from service.decide.answers import BalancesView
from service.decide.state import Redemption as Stored
from service.decide.state import RedemptionStatus
from service.engine import Ruleset
from service.engine.files import RewardDef
from service.errors import NotFound
from service.operations.members import MEMBER_ID_PATTERN

__all__ = [
    "Redemption",
    "RedemptionPage",
    "RedemptionResult",
    "RedemptionStatus",
    "member_of",
    "new_redemption_id",
    "redemption_of",
    "result_of",
    "reward_of",
]

_ID = re.compile(r"^rd_[0-9a-f]{16}\.(?P<member>[A-Za-z0-9_-]{2,172})$")
_MEMBER = re.compile(MEMBER_ID_PATTERN)


class Redemption(msgspec.Struct, kw_only=True):
    """Points spent on a catalog reward (`reward_id`) or at checkout (`reward_id` null).

    `held` points are reserved until `hold_expires_at`, then `committed` (spent), `cancelled` or
    `expired` (both give the points back). A reward's `coupon_code` is shown once committed."""

    id: str
    member_id: str
    reward_id: str | None
    points: int
    status: RedemptionStatus
    reference: str | None
    """The caller's reference, e.g. the checkout's order id."""
    coupon_code: str | None
    created_at: datetime
    hold_expires_at: datetime | None
    settled_at: datetime | None
    """When a hold was committed, cancelled or expired."""


class RedemptionResult(Redemption, kw_only=True):
    """A redemption and the member's balances after the operation."""

    replay: bool = False
    """True when nothing changed: a repeated Idempotency-Key, or a repeated commit or cancel."""
    balances: BalancesView


class RedemptionPage(msgspec.Struct, kw_only=True):
    """Redemptions newest first; pass `next_cursor` as `cursor` for the next page."""

    redemptions: list[Redemption]
    next_cursor: str | None


def new_redemption_id(member_id: str) -> str:
    """A fresh redemption id naming `member_id`."""
    encoded = base64.urlsafe_b64encode(member_id.encode()).decode().rstrip("=")
    return f"rd_{secrets.token_hex(8)}.{encoded}"


def member_of(redemption_id: str) -> str:
    """The member a redemption id names; NotFound for an id this service did not make."""
    match = _ID.match(redemption_id)
    member_id = None
    if match is not None:
        encoded = match["member"]
        try:
            member_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            member_id = None
    if member_id is None or not _MEMBER.match(member_id):
        raise NotFound(
            f"no redemption '{redemption_id}'", field="redemption_id", code="unknown_redemption"
        )
    return member_id


def redemption_of(stored: Stored) -> Redemption:
    """The caller's view of a stored redemption."""
    return Redemption(
        id=stored.redemption_id,
        member_id=member_of(stored.redemption_id),
        reward_id=stored.reward_id,
        points=stored.points,
        status=stored.status,
        reference=stored.reference,
        coupon_code=stored.coupon_code if stored.status == "committed" else None,
        created_at=stored.created_at,
        hold_expires_at=stored.hold_expires_at,
        settled_at=stored.settled_at,
    )


def result_of(stored: Stored, balances: BalancesView, *, replay: bool = False) -> RedemptionResult:
    """A stored redemption with the member's balances."""
    view = redemption_of(stored)
    return RedemptionResult(**msgspec.structs.asdict(view), replay=replay, balances=balances)


def reward_of(ruleset: Ruleset, reward_id: str) -> RewardDef | None:
    """The catalog reward with this id in the ruleset, if any."""
    return next((r for r in ruleset.program.rewards if r.id == reward_id), None)
