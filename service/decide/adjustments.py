"""Admin adjustments in the decision step: a person adds or removes points, saying why.

An addition is a new lot available at once (with the program's expiry); a removal takes
available points oldest lot first and, beyond them, books debt if the program allows a negative
balance (otherwise it is refused). With an Idempotency-Key, a repeat is the stored answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from service.core.ledger import Entry, InsufficientPoints, adjust
from service.decide.answers import BalancesView, balances_view
from service.decide.idempotency import header_key, replay_or_conflict
from service.decide.policy import expiry_policy
from service.decide.redemptions import open_member
from service.decide.rows import AdjustmentRow
from service.decide.state import StoredAdjustment
from service.decide.step import Step
from service.engine import Ruleset
from service.errors import Unprocessable

__all__ = ["AdjustRequest", "AdjustmentEntry", "AdjustmentResult", "decide_adjustment"]


class AdjustmentEntry(msgspec.Struct, kw_only=True):
    """A ledger entry the adjustment booked."""

    kind: str
    balance: str
    points: int
    lot_id: str | None
    reason: str
    at: datetime


class AdjustmentResult(msgspec.Struct, kw_only=True):
    """What an adjustment booked, and the member's balances after it."""

    adjustment_id: str
    member_id: str
    points: int
    reason: str
    actor: str
    created_at: datetime
    replay: bool = False
    """True when this is the stored answer to an earlier request with the same Idempotency-Key."""
    entries: list[AdjustmentEntry]
    balances: BalancesView


class AdjustRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An adjustment as the use case checked it, with the id it drew for it."""

    member_id: str
    points: int
    reason: str
    actor: str
    key: str | None
    body_hash: str
    adjustment_id: str


def _entry(e: Entry) -> AdjustmentEntry:
    return AdjustmentEntry(
        kind=e.kind, balance=e.balance, points=e.points, lot_id=e.lot_id, reason=e.reason, at=e.at
    )


def _stored(stored: StoredAdjustment, request: AdjustRequest) -> AdjustmentResult:
    answer = replay_or_conflict(
        stored.request_hash, request.body_hash, stored.result, header_key(request.key)
    )
    result = msgspec.convert(answer, AdjustmentResult)
    return msgspec.structs.replace(result, replay=True)


def decide_adjustment(step: Step, ruleset: Ruleset, request: AdjustRequest) -> AdjustmentResult:
    """Book one adjustment in the member's ledger (once per Idempotency-Key, when given)."""
    state = step.member(request.member_id)
    if request.key is not None and request.key in state.adjustments:
        return _stored(state.adjustments[request.key], request)
    state, _ = open_member(step, ruleset, state, request.actor)
    points = ruleset.program.points
    adjustment_id = request.adjustment_id
    try:
        change = adjust(
            state.lots,
            state.balances,
            member_id=request.member_id,
            points=request.points,
            now=step.now,
            policy=expiry_policy(ruleset),
            allow_negative=points.allow_negative_balance,
            reason=f"{request.reason} (adjustment {adjustment_id})",
            lot_id=adjustment_id if request.points > 0 else None,
        )
    except InsufficientPoints as exc:
        raise Unprocessable(
            f"cannot remove {exc.requested} points: {exc.available} available "
            "and the program allows no negative balance",
            field="points",
            code="insufficient_points",
        ) from None
    state = step.book(state, change, request.actor)
    result = AdjustmentResult(
        adjustment_id=adjustment_id,
        member_id=request.member_id,
        points=request.points,
        reason=request.reason,
        actor=request.actor,
        created_at=step.now,
        entries=[_entry(e) for e in change.entries],
        balances=balances_view(state.balances),
    )
    stored: Any = msgspec.to_builtins(result)
    step.log.adjustments.append(
        AdjustmentRow(
            member_id=request.member_id,
            adjustment_id=adjustment_id,
            idempotency_key=request.key,
            request_hash=request.body_hash,
            points=request.points,
            reason=request.reason,
            actor=request.actor,
            created_at=step.now,
            result=stored,
            ruleset_version=ruleset.version,
        )
    )
    if request.key is not None:
        kept = StoredAdjustment(request.body_hash, stored)
        adjustments = {**state.adjustments, request.key: kept}
        step.put(msgspec.structs.replace(state, adjustments=adjustments))
    return result
