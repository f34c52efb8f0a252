"""Erasure in the decision step: a member who asked to be forgotten forfeits their open points.

Every lot with points left (pending or available) is closed by an `expire` entry that says why,
and the forfeit is logged as an adjustment whose id starts with `erase-`, so that the replay
decides it again as an erasure (`service.replay.journal`). A hold still open is refused: the
checkout that placed it must commit or cancel it first (its points are the shop's to settle).
"""

from __future__ import annotations

from typing import Any

import msgspec

from service.core.ledger import forfeit
from service.decide.adjustments import AdjustmentEntry, AdjustmentResult
from service.decide.answers import balances_view
from service.decide.redemptions import open_member
from service.decide.rows import AdjustmentRow
from service.decide.step import Step
from service.engine import Ruleset
from service.errors import Conflict

__all__ = ["ERASURE_PREFIX", "EraseRequest", "decide_erasure"]

ERASURE_PREFIX = "erase-"
"""The adjustment id prefix of an erasure's forfeit (ordinary adjustments are `adj-`)."""

REASON = "member erased at their request: open points forfeited"


class EraseRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An erasure as the use case checked it, with the id it drew for its forfeit."""

    member_id: str
    actor: str
    adjustment_id: str
    body_hash: str = ""


def decide_erasure(step: Step, ruleset: Ruleset, request: EraseRequest) -> AdjustmentResult:
    """Forfeit every open point of the member (none booked when nothing is open)."""
    state = step.member(request.member_id)
    state, _ = open_member(step, ruleset, state, request.actor)
    held = sorted(r.redemption_id for r in state.redemptions.values() if r.status == "held")
    if held:
        raise Conflict(
            f"the member has open holds ({', '.join(held)}): commit or cancel them first",
            field="member_id",
            code="holds_open",
        )
    reason = f"{REASON} (erasure {request.adjustment_id})"
    change = forfeit(state.lots, state.balances, step.now, reason)
    points = -sum(-e.points for e in change.entries)
    state = step.book(state, change, request.actor)
    result = AdjustmentResult(
        adjustment_id=request.adjustment_id,
        member_id=request.member_id,
        points=points,
        reason=REASON,
        actor=request.actor,
        created_at=step.now,
        entries=[
            AdjustmentEntry(
                kind=e.kind,
                balance=e.balance,
                points=e.points,
                lot_id=e.lot_id,
                reason=e.reason,
                at=e.at,
            )
            for e in change.entries
        ],
        balances=balances_view(state.balances),
    )
    stored: Any = msgspec.to_builtins(result)
    step.log.adjustments.append(
        AdjustmentRow(
            member_id=request.member_id,
            adjustment_id=request.adjustment_id,
            idempotency_key=None,
            request_hash=request.body_hash,
            points=points,
            reason=REASON,
            actor=request.actor,
            created_at=step.now,
            result=stored,
            ruleset_version=ruleset.version,
        )
    )
    return result
