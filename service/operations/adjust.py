"""Admin adjustments: a person with the `admin` scope adds or removes points, saying why.

An addition is a new lot `adj-<hex>` available at once (with the program's expiry); a removal
takes available points oldest lot first and, beyond them, books debt if the program allows a
negative balance (otherwise the removal is refused). Entries name the API key as their actor.
With an Idempotency-Key a repeated request is answered from the stored adjustment.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

from service.decide.adjustments import (
    AdjustmentEntry,
    AdjustmentResult,
    AdjustRequest,
    decide_adjustment,
)
from service.decide.idempotency import body_hash
from service.decide.state import SetState
from service.decide.step import Step
from service.errors import InvalidInput
from service.operations.members import MEMBER_ID_PATTERN
from service.operations.redeem import checked_key
from service.pipeline.member_ops import run_member_op
from service.runtime import Runtime

__all__ = ["AdjustmentEntry", "AdjustmentIn", "AdjustmentResult", "adjust_points"]

_LIMIT = 1_000_000_000


class AdjustmentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Add (points > 0) or remove (points < 0) a member's points, with the reason why."""

    member_id: Annotated[str, msgspec.Meta(pattern=MEMBER_ID_PATTERN)]
    points: Annotated[int, msgspec.Meta(ge=-_LIMIT, le=_LIMIT)]
    """Non-zero: positive adds a lot, negative removes from the oldest lots."""
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
    """Why, in words a member or an auditor will read in the ledger."""


async def adjust_points(
    runtime: Runtime, body: AdjustmentIn, actor: str, key: str | None
) -> AdjustmentResult:
    """Book one adjustment in the member's ledger (once per Idempotency-Key, when given)."""
    if body.points == 0:
        raise InvalidInput("points must not be 0", field="points")
    key = checked_key(key, required=False)
    ruleset = runtime.rules.current
    request = AdjustRequest(
        member_id=body.member_id,
        points=body.points,
        reason=body.reason,
        actor=actor,
        key=key,
        body_hash=body_hash(body),
        adjustment_id=f"adj-{uuid.uuid4().hex}",
    )

    def operate(step: Step, _: SetState) -> AdjustmentResult:
        return decide_adjustment(step, ruleset, request)

    reads: dict[str, Any] = {"holds": True}
    if key is not None:
        reads["adjustment_keys"] = [(body.member_id, key)]
    result, _ = await run_member_op(runtime, body.member_id, operate, ruleset=ruleset, reads=reads)
    return result
