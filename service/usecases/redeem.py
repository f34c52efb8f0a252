"""Redeeming points: on a catalog reward, or an amount at checkout; at once or as a hold.

One transaction: lock the member, answer a repeated Idempotency-Key from the stored redemption,
release the member's timed-out holds, check the per-member limit, spend or hold the points in
the pure core (oldest lots first; never below zero), take a unit of stock with a conditional
UPDATE, issue a coupon code, store the redemption and write the ledger. Concurrent redemptions
of one member queue on the member's row lock, so no two can spend the same points.
Settling holds (commit, cancel, timeouts) lives in `service.usecases.holds`.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec

from service.core.ledger import Draw, InsufficientPoints, hold, spend
from service.engine import Ruleset
from service.engine.files import RewardDef
from service.errors import Conflict, InvalidInput, Unprocessable
from service.services import Services
from service.store import ledger as ledger_store
from service.store import redemptions as store
from service.store.database import Connection
from service.usecases.booking import Ledgerbook, balances_view
from service.usecases.holds import cancel, commit, open_member, release_expired_holds
from service.usecases.redemption_view import (
    RedemptionResult,
    new_redemption_id,
    result_of,
    reward_of,
)

__all__ = ["RedeemIn", "cancel", "checked_key", "commit", "redeem", "release_expired_holds"]

_canonical = msgspec.json.Encoder(order="sorted")
_CODE_ALPHABET = string.ascii_uppercase + string.digits
_CODE_LENGTH = 8
_KEY_MAX = 128


class RedeemIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A redemption: exactly one of `reward_id` (a catalog reward) or `points` (at checkout)."""

    reward_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    points: Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)] | None = None
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    """The caller's reference, e.g. the checkout's order id; kept with the redemption."""
    hold: bool = False
    """Reserve the points until committed, cancelled or timed out, instead of spending now."""


class _Request(msgspec.Struct, frozen=True, kw_only=True):
    ruleset: Ruleset
    """Read once: the whole redemption runs under one ruleset version."""
    member_id: str
    key: str
    reward: RewardDef | None
    points: int
    body: RedeemIn
    body_hash: str
    actor: str | None


def checked_key(key: str | None, *, required: bool) -> str | None:
    """The Idempotency-Key header, or InvalidInput naming it: 1-128 characters."""
    if key is None and required:
        raise InvalidInput("the Idempotency-Key header is required", field="Idempotency-Key")
    if key is not None and not 1 <= len(key) <= _KEY_MAX:
        raise InvalidInput(
            f"Idempotency-Key must be 1-{_KEY_MAX} characters", field="Idempotency-Key"
        )
    return key


def _request(
    services: Services, member_id: str, key: str | None, body: RedeemIn, actor: str | None
) -> _Request:
    key = checked_key(key, required=True)
    assert key is not None
    if (body.reward_id is None) == (body.points is None):
        field = "points" if body.reward_id is not None else "reward_id"
        raise InvalidInput("send exactly one of reward_id or points", field=field)
    ruleset = services.rules.current
    reward = None
    if body.reward_id is not None:
        reward = reward_of(ruleset, body.reward_id)
        if reward is None:
            raise Unprocessable(
                f"no reward '{body.reward_id}' in the catalog",
                field="reward_id",
                code="unknown_reward",
            )
    points = reward.cost if reward is not None else body.points
    assert points is not None
    body_hash = hashlib.sha256(_canonical.encode(body)).hexdigest()
    return _Request(
        ruleset=ruleset,
        member_id=member_id,
        key=key,
        reward=reward,
        points=points,
        body=body,
        body_hash=body_hash,
        actor=actor,
    )


async def redeem(
    services: Services, member_id: str, key: str | None, body: RedeemIn, actor: str | None
) -> RedemptionResult:
    """Spend (or hold) points once per Idempotency-Key; a repeat answers the stored redemption."""
    request = _request(services, member_id, key, body, actor)
    key = request.key
    now = services.clock.now()
    async with services.db.transaction() as conn:
        await ledger_store.lock_member(conn, member_id)
        book, _ = await open_member(conn, request.ruleset, member_id, now)
        stored = await store.fetch_by_key(conn, member_id, key)
        replay = stored is not None
        if stored is not None:
            _check_same(stored, request)
        else:
            stored = await _redeem_locked(conn, book, request, now)
        await book.write(conn, member_id, actor)
    return result_of(stored, balances_view(book.balances), replay=replay)


def _check_same(stored: Any, request: _Request) -> None:
    if stored["request_hash"] != request.body_hash:
        raise Conflict(
            f"Idempotency-Key '{request.key}' was already used with a different body",
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )


async def _redeem_locked(
    conn: Connection, book: Ledgerbook, request: _Request, now: datetime
) -> dict[str, Any]:
    reward, member_id = request.reward, request.member_id
    if reward is not None:
        await _check_limit(conn, member_id, reward)
    redemption_id = new_redemption_id(member_id)
    hold_expires_at = None
    if request.body.hold:
        minutes = request.ruleset.program.points.hold_timeout_minutes
        hold_expires_at = now + timedelta(minutes=minutes)
    draws = _take_points(book, request, redemption_id, now, hold_expires_at)
    coupon_code = None
    if reward is not None:
        coupon_code = await _take_reward(conn, reward, member_id, redemption_id, now)
    row: dict[str, Any] = {
        "member_id": member_id,
        "redemption_id": redemption_id,
        "idempotency_key": request.key,
        "request_hash": request.body_hash,
        "reward_id": reward.id if reward is not None else None,
        "points": request.points,
        "status": "held" if request.body.hold else "committed",
        "coupon_code": coupon_code,
        "created_at": now,
        "hold_expires_at": hold_expires_at,
        "settled_at": None if request.body.hold else now,
        "draws": [msgspec.structs.asdict(draw) for draw in draws],
        "reference": request.body.reference,
    }
    await store.insert_redemption(conn, row)
    return row


async def _check_limit(conn: Connection, member_id: str, reward: RewardDef) -> None:
    limit = reward.per_member_limit
    if limit is not None and await store.count_active(conn, member_id, reward.id) >= limit:
        raise Unprocessable(
            f"'{reward.id}' can be redeemed {limit} time(s) per member",
            field="reward_id",
            code="per_member_limit_reached",
        )


def _take_points(
    book: Ledgerbook,
    request: _Request,
    redemption_id: str,
    now: datetime,
    hold_expires_at: datetime | None,
) -> tuple[Draw, ...]:
    """Spend or hold the points in the book, oldest lots first; the hold's draws."""
    reason = _reason(request)
    try:
        if hold_expires_at is None:
            book.take(
                spend(
                    book.lots,
                    book.balances,
                    points=request.points,
                    now=now,
                    reason=reason,
                    redemption_id=redemption_id,
                )
            )
            return ()
        placed = hold(
            book.lots,
            book.balances,
            points=request.points,
            redemption_id=redemption_id,
            now=now,
            expires_at=hold_expires_at,
            reason=reason,
        )
    except InsufficientPoints as exc:
        raise Unprocessable(
            f"{exc.requested} points needed, {exc.available} available",
            field="reward_id" if request.reward is not None else "points",
            code="insufficient_points",
        ) from None
    book.take(placed.change)
    return placed.hold.draws


def _reason(request: _Request) -> str:
    what = (
        f"reward {request.reward.id} ({request.reward.name})"
        if request.reward is not None
        else "checkout"
    )
    if request.body.reference is not None:
        what += f", reference {request.body.reference}"
    return f"{'held for' if request.body.hold else 'redeemed on'} {what}"


async def _take_reward(
    conn: Connection, reward: RewardDef, member_id: str, redemption_id: str, now: datetime
) -> str | None:
    """Take a unit of stock and issue a coupon code; Conflict `out_of_stock` when none is left."""
    if reward.stock is not None and not await store.take_stock(conn, reward.id, reward.stock):
        raise Conflict(f"'{reward.id}' is out of stock", field="reward_id", code="out_of_stock")
    if reward.coupon is None:
        return None
    if reward.coupon.codes is not None:
        for attempt in range(3):
            code = await store.claim_pool_code(
                conn,
                reward.id,
                reward.coupon.codes,
                member_id=member_id,
                redemption_id=redemption_id,
                at=now,
            )
            if code is not None:
                return code
            if attempt == 0:  # the pool is stored lazily, on the first miss
                await store.seed_pool(conn, reward.id, reward.coupon.codes)
        raise Conflict(
            f"'{reward.id}' has no coupon codes left", field="reward_id", code="out_of_stock"
        )
    for _ in range(5):
        code = (reward.coupon.prefix or "") + "".join(
            secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH)
        )
        if await store.insert_generated_code(
            conn, reward.id, code, member_id=member_id, redemption_id=redemption_id, at=now
        ):
            return code
    raise AssertionError(f"five generated codes for {reward.id} all existed")
