"""Redemptions in the decision step: spend or hold points on a reward or at checkout, commit or
cancel a hold, and release the holds whose timeout passed.

Every operation on a member first books what the clock did to their lots and releases their
timed-out holds, so a hold never outlives its timeout by more than the member's next operation
or the worker's next pass. A released hold gives back its points (to the lots it drew from),
its unit of stock and its coupon code. Ids and generated coupon codes are drawn by the caller
(randomness, like time, is a parameter).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from msgspec.structs import replace

from service.core.ledger import (
    Draw,
    Hold,
    InsufficientPoints,
    commit_hold,
    hold,
    release,
    spend,
)
from service.decide.idempotency import header_key, replay_or_conflict
from service.decide.policy import expiry_policy
from service.decide.rows import CodeReturnRow, CodeRow, StockRow
from service.decide.state import MemberState, Redemption, RedemptionStatus, SetState
from service.decide.step import Step
from service.engine import Ruleset
from service.engine.files import RewardDef
from service.errors import Conflict, DomainError, NotFound, Unprocessable

__all__ = [
    "PoolNotStored",
    "RedeemRequest",
    "Settled",
    "hold_of",
    "open_member",
    "redeem",
    "settle",
]


class RedeemRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A redemption as the use case checked it, with the ids it drew for it."""

    member_id: str
    key: str
    reward: RewardDef | None
    points: int
    hold: bool
    reference: str | None
    body_hash: str
    actor: str | None
    redemption_id: str
    """The id a new redemption gets."""
    generated_code: str | None = None
    """The code a reward with generated coupons issues."""


class PoolNotStored(Exception):
    """A coupon pool was never stored: store it, then decide again (not a refusal)."""

    def __init__(self, reward: RewardDef) -> None:
        super().__init__(f"coupon pool of {reward.id} is not stored yet")
        self.reward = reward


def hold_of(redemption: Redemption) -> Hold:
    """The core's hold for a held redemption."""
    assert redemption.hold_expires_at is not None, f"{redemption.redemption_id} was never held"
    return Hold(
        redemption_id=redemption.redemption_id,
        points=redemption.points,
        draws=redemption.draws,
        placed_at=redemption.created_at,
        expires_at=redemption.hold_expires_at,
    )


def give_back(
    step: Step,
    ruleset: Ruleset,
    state: MemberState,
    redemption: Redemption,
    status: RedemptionStatus,
    reason: str,
    actor: str | None,
) -> MemberState:
    """Release a held redemption: points back to their lots, stock and coupon code back."""
    now = step.now
    change = release(
        state.lots,
        state.balances,
        hold_of(redemption),
        now=now,
        policy=expiry_policy(ruleset),
        reason=reason,
    )
    state = step.book(state, change, actor)
    settled = replace(redemption, status=status, settled_at=now)
    if redemption.reward_id is not None:
        step.log.stock.append(StockRow(reward_id=redemption.reward_id, delta=-1))
        if redemption.reward_id in step.stock:
            step.stock[redemption.reward_id] -= 1
        if redemption.coupon_code is not None:
            step.log.returns.append(
                CodeReturnRow(
                    reward_id=redemption.reward_id,
                    code=redemption.coupon_code,
                    redemption_id=redemption.redemption_id,
                )
            )
    active = dict(state.active_redemptions)
    if redemption.reward_id in active:
        active[redemption.reward_id] -= 1
    redemptions = {**state.redemptions, redemption.redemption_id: settled}
    return step.put(replace(state, redemptions=redemptions, active_redemptions=active))


def _timeout(redemption: Redemption) -> str:
    """The timeout the hold was placed with ("1 minute", "15 minutes"), which the program may
    have changed since."""
    assert redemption.hold_expires_at is not None
    seconds = (redemption.hold_expires_at - redemption.created_at).total_seconds()
    minutes = round(seconds / 60)
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def open_member(
    step: Step, ruleset: Ruleset, state: MemberState, actor: str | None = None
) -> tuple[MemberState, set[str]]:
    """The member as of now: matured, their timed-out holds released; the released ids."""
    state = step.matured(state)
    expired = sorted(
        (
            r
            for r in state.redemptions.values()
            if r.status == "held"
            and r.hold_expires_at is not None
            and r.hold_expires_at <= step.now
        ),
        key=lambda r: (r.hold_expires_at, r.redemption_id),
    )
    for redemption in expired:
        reason = f"hold released: not committed within {_timeout(redemption)}"
        state = give_back(step, ruleset, state, redemption, "expired", reason, actor)
    return state, {r.redemption_id for r in expired}


def _reason(request: RedeemRequest) -> str:
    reward = request.reward
    what = f"reward {reward.id} ({reward.name})" if reward is not None else "checkout"
    if request.reference is not None:
        what += f", reference {request.reference}"
    return f"{'held for' if request.hold else 'redeemed on'} {what}"


def _take_points(
    step: Step, state: MemberState, request: RedeemRequest, expires_at: datetime | None
) -> tuple[MemberState, tuple[Draw, ...]]:
    """Spend or hold the points, oldest lots first; the hold's draws."""
    reason = _reason(request)
    try:
        if expires_at is None:
            change = spend(
                state.lots,
                state.balances,
                points=request.points,
                now=step.now,
                reason=reason,
                redemption_id=request.redemption_id,
            )
            return step.book(state, change, request.actor), ()
        placed = hold(
            state.lots,
            state.balances,
            points=request.points,
            redemption_id=request.redemption_id,
            now=step.now,
            expires_at=expires_at,
            reason=reason,
        )
    except InsufficientPoints as exc:
        raise Unprocessable(
            f"{exc.requested} points needed, {exc.available} available",
            field="reward_id" if request.reward is not None else "points",
            code="insufficient_points",
        ) from None
    return step.book(state, placed.change, request.actor), placed.hold.draws


def _take_reward(step: Step, catalog: SetState, request: RedeemRequest) -> str | None:
    """Take a unit of stock and issue a coupon code; Conflict `out_of_stock` if none is left."""
    reward = request.reward
    assert reward is not None
    if reward.stock is not None:
        issued = step.stock.get(reward.id, 0)
        if issued >= reward.stock:
            raise Conflict(f"'{reward.id}' is out of stock", field="reward_id", code="out_of_stock")
        step.stock[reward.id] = issued + 1
        step.log.stock.append(StockRow(reward_id=reward.id, delta=1))
    if reward.coupon is None:
        return None
    if reward.coupon.codes is not None:
        code = catalog.free_codes.get(reward.id)
        if code is None:
            if not catalog.pool_sizes.get(reward.id):
                raise PoolNotStored(reward)
            raise Conflict(
                f"'{reward.id}' has no coupon codes left", field="reward_id", code="out_of_stock"
            )
        rows = step.log.claims
    else:
        assert request.generated_code is not None, "a generated coupon needs a drawn code"
        code = request.generated_code
        rows = step.log.generated
    rows.append(
        CodeRow(
            reward_id=reward.id,
            code=code,
            member_id=request.member_id,
            redemption_id=request.redemption_id,
            issued_at=step.now,
        )
    )
    return code


def redeem(
    step: Step, ruleset: Ruleset, catalog: SetState, request: RedeemRequest
) -> tuple[Redemption, bool]:
    """Spend (or hold) points once per Idempotency-Key; the redemption, and whether it is the
    stored answer to an earlier request with this key."""
    state, _ = open_member(step, ruleset, step.member(request.member_id), request.actor)
    stored = next((r for r in state.redemptions.values() if r.idempotency_key == request.key), None)
    if stored is not None:
        key = header_key(request.key)
        return replay_or_conflict(stored.request_hash, request.body_hash, stored, key), True
    reward = request.reward
    limit = reward.per_member_limit if reward is not None else None
    held = state.active_redemptions.get(reward.id, 0) if reward is not None else 0
    if reward is not None and limit is not None and held >= limit:
        raise Unprocessable(
            f"'{reward.id}' can be redeemed {reward.per_member_limit} time(s) per member",
            field="reward_id",
            code="per_member_limit_reached",
        )
    now = step.now
    expires_at = None
    if request.hold:
        expires_at = now + timedelta(minutes=ruleset.program.points.hold_timeout_minutes)
    state, draws = _take_points(step, state, request, expires_at)
    code = _take_reward(step, catalog, request) if reward is not None else None
    redemption = Redemption(
        redemption_id=request.redemption_id,
        idempotency_key=request.key,
        request_hash=request.body_hash,
        reward_id=reward.id if reward is not None else None,
        points=request.points,
        status="held" if request.hold else "committed",
        coupon_code=code,
        created_at=now,
        hold_expires_at=expires_at,
        settled_at=None if request.hold else now,
        draws=draws,
        reference=request.reference,
        ruleset_version=ruleset.version,
    )
    active = dict(state.active_redemptions)
    if reward is not None:
        active[reward.id] = active.get(reward.id, 0) + 1
    step.put(
        replace(
            state,
            redemptions={**state.redemptions, redemption.redemption_id: redemption},
            active_redemptions=active,
        )
    )
    return redemption, False


class Settled(msgspec.Struct, frozen=True):
    """A commit or cancel: the redemption after it, whether it changed, and the refusal to
    answer once what changed (timed-out holds released) is saved."""

    redemption: Redemption
    changed: bool
    refusal: DomainError | None = None


def _refusal(
    redemption_id: str, status: RedemptionStatus, wanted: RedemptionStatus
) -> DomainError | None:
    if wanted == status or (wanted == "cancelled" and status == "expired"):
        return None
    if status == "expired":
        return Conflict(
            f"the hold {redemption_id} expired before it was committed; its points are back",
            field="redemption_id",
            code="hold_expired",
        )
    return Conflict(
        f"redemption {redemption_id} is already {status}",
        field="redemption_id",
        code=f"redemption_{status}",
    )


def settle(
    step: Step,
    ruleset: Ruleset,
    member_id: str,
    redemption_id: str,
    wanted: RedemptionStatus,
    actor: str | None,
) -> Settled:
    """Commit (spend the held points) or cancel (give them back) a hold."""
    state = step.member(member_id)
    if redemption_id not in state.redemptions:
        raise NotFound(
            f"no redemption '{redemption_id}'", field="redemption_id", code="unknown_redemption"
        )
    state, gone = open_member(step, ruleset, state, actor)
    redemption = state.redemptions[redemption_id]
    status: RedemptionStatus = "expired" if redemption_id in gone else redemption.status
    if status == "held" and wanted == "committed":
        reason = "hold committed" + (
            f" for reward {redemption.reward_id}" if redemption.reward_id else ""
        )
        change = commit_hold(
            state.lots, state.balances, hold_of(redemption), now=step.now, reason=reason
        )
        state = step.book(state, change, actor)
        committed = replace(redemption, status="committed", settled_at=step.now)
        state = step.put(
            replace(state, redemptions={**state.redemptions, redemption_id: committed})
        )
        return Settled(committed, True)
    if status == "held":
        state = give_back(step, ruleset, state, redemption, "cancelled", "hold cancelled", actor)
        return Settled(state.redemptions[redemption_id], True)
    return Settled(state.redemptions[redemption_id], False, _refusal(redemption_id, status, wanted))
