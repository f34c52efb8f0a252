"""Settling holds: commit, cancel, and the release of holds whose timeout passed.

Every operation on a member first releases that member's timed-out holds
(`service.decide.redemptions.open_member`), so a hold never outlives its timeout by more than
the member's next operation or the background worker's next pass (`release_expired_holds`),
whichever comes first. A released hold gives back its points (to the lots it drew from), its
unit of stock and its coupon code.
"""

from __future__ import annotations

from datetime import datetime

from service.decide.answers import balances_view
from service.decide.redemptions import Settled, open_member, settle
from service.decide.state import RedemptionStatus, SetState
from service.decide.step import Step
from service.pipeline.member_ops import run_member_op
from service.runtime import Runtime
from service.store import redemptions as store
from service.views.redemption_view import RedemptionResult, member_of, result_of

__all__ = ["cancel", "commit", "release_due_holds", "release_expired_holds"]


async def release_due_holds(runtime: Runtime, member_id: str, now: datetime) -> int:
    """Release the member's timed-out holds now (with the member locked); how many."""

    def operate(step: Step, loaded: SetState) -> int:
        ruleset = runtime.rules.current
        _, gone = open_member(step, ruleset, step.member(member_id))
        return len(gone)

    released, _ = await run_member_op(runtime, member_id, operate, now=now, reads={"holds": True})
    return released


async def release_expired_holds(runtime: Runtime, now: datetime, limit: int = 100) -> int:
    """Release up to about `limit` timed-out holds, one transaction per member; how many.

    Safe with several replicas: rows another transaction is settling are skipped. A member
    someone else has locked (an event being booked) is skipped, as the other worker passes do,
    instead of queueing behind it: the next pass, or the member's next redemption operation,
    releases the hold."""
    async with runtime.db.transaction() as conn:
        member_ids = await store.find_expired_holds(conn, now, limit)
    released = 0
    for member_id in member_ids:

        def operate(step: Step, loaded: SetState, member_id: str = member_id) -> int:
            _, gone = open_member(step, runtime.rules.current, step.member(member_id))
            return len(gone)

        gone, done = await run_member_op(
            runtime, member_id, operate, now=now, skip_locked=True, reads={"holds": True}
        )
        if done:
            released += gone
    return released


async def commit(runtime: Runtime, redemption_id: str, actor: str | None) -> RedemptionResult:
    """Spend a held redemption's points; Conflict `hold_expired` after its timeout (the hold is
    released), `redemption_cancelled` for a cancelled one; a committed one is answered again."""
    return await _settle(runtime, redemption_id, actor, "committed")


async def cancel(runtime: Runtime, redemption_id: str, actor: str | None) -> RedemptionResult:
    """Give a held redemption's points, stock and code back; Conflict `redemption_committed`
    for a committed one; a cancelled or expired one is answered again."""
    return await _settle(runtime, redemption_id, actor, "cancelled")


async def _settle(
    runtime: Runtime, redemption_id: str, actor: str | None, wanted: RedemptionStatus
) -> RedemptionResult:
    member_id = member_of(redemption_id)
    ruleset = runtime.rules.current

    def operate(step: Step, _: SetState) -> tuple[Settled, RedemptionResult]:
        settled = settle(step, ruleset, member_id, redemption_id, wanted, actor)
        balances = balances_view(step.member(member_id).balances)
        return settled, result_of(settled.redemption, balances, replay=not settled.changed)

    (settled, result), _ = await run_member_op(
        runtime,
        member_id,
        operate,
        ruleset=ruleset,
        reads={"holds": True, "redemption_ids": [(member_id, redemption_id)]},
    )
    if settled.refusal is not None:  # raised after the commit: a timed-out hold stays released
        raise settled.refusal
    return result
