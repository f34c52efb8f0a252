"""Redeeming points: on a catalog reward, or an amount at checkout; at once or as a hold.

One member operation (`member_ops`): lock the member, read their holds, the redemption a
repeated Idempotency-Key names, their count for the reward and the reward's locked stock row
(and a free pool code) in one statement; decide (`service.decide.redemptions`: release timed-out
holds, spend or hold oldest points first, never below zero; take a unit of stock; issue a code);
save in one statement. Concurrent redemptions of one member queue on the member's row lock, so
no two can spend the same points; of one reward, on its stock row, so stock never goes below
zero. Settling holds (commit, cancel, timeouts) lives in `service.operations.holds`.
"""

from __future__ import annotations

import secrets
import string
from typing import Annotated, Any

import msgspec

from service.decide.answers import balances_view
from service.decide.idempotency import body_hash
from service.decide.redemptions import RedeemRequest
from service.decide.redemptions import redeem as decide_redemption
from service.decide.state import SetState
from service.decide.step import Step
from service.engine import Ruleset
from service.engine.files import RewardDef
from service.errors import InvalidInput, Unprocessable
from service.operations.holds import cancel, commit, release_expired_holds
from service.pipeline.member_ops import run_member_op
from service.runtime import Runtime
from service.views.redemption_view import (
    RedemptionResult,
    new_redemption_id,
    result_of,
    reward_of,
)

__all__ = ["RedeemIn", "cancel", "checked_key", "commit", "redeem", "release_expired_holds"]

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
    runtime: Runtime, member_id: str, key: str | None, body: RedeemIn, actor: str | None
) -> _Request:
    key = checked_key(key, required=True)
    assert key is not None
    if (body.reward_id is None) == (body.points is None):
        field = "points" if body.reward_id is not None else "reward_id"
        raise InvalidInput("send exactly one of reward_id or points", field=field)
    ruleset = runtime.rules.current
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
    return _Request(
        ruleset=ruleset,
        member_id=member_id,
        key=key,
        reward=reward,
        points=points,
        body=body,
        body_hash=body_hash(body),
        actor=actor,
    )


async def redeem(
    runtime: Runtime, member_id: str, key: str | None, body: RedeemIn, actor: str | None
) -> RedemptionResult:
    """Spend (or hold) points once per Idempotency-Key; a repeat answers the stored redemption."""
    request = _request(runtime, member_id, key, body, actor)
    reward = request.reward
    redemption_id = new_redemption_id(member_id)

    def operate(step: Step, loaded: SetState) -> RedemptionResult:
        generated = None
        if reward is not None and reward.coupon is not None and reward.coupon.codes is None:
            generated = _generated_code(reward.coupon.prefix)  # drawn anew on every try
        decided = RedeemRequest(
            member_id=member_id,
            key=request.key,
            reward=reward,
            points=request.points,
            hold=body.hold,
            reference=body.reference,
            body_hash=request.body_hash,
            actor=actor,
            redemption_id=redemption_id,
            generated_code=generated,
        )
        redemption, replay = decide_redemption(step, request.ruleset, loaded, decided)
        balances = balances_view(step.member(member_id).balances)
        return result_of(redemption, balances, replay=replay)

    reads: dict[str, Any] = {
        "holds": True,
        "redemption_keys": [(member_id, request.key)],
    }
    if reward is not None:
        reads["reward_counts"] = [(member_id, reward.id)]
        if reward.coupon is not None and reward.coupon.codes is not None:
            reads["pool"] = reward.id
            reads["pool_codes"] = list(reward.coupon.codes)
    stock = [reward.id] if reward is not None and reward.stock is not None else None
    result, _ = await run_member_op(
        runtime, member_id, operate, ruleset=request.ruleset, stock=stock, reads=reads
    )
    return result


def _generated_code(prefix: str | None) -> str:
    return (prefix or "") + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
