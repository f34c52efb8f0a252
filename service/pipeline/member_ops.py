"""One member's operation through the pipeline: lock, load, decide, save, commit.

Redemptions, holds, adjustments and the worker's passes each touch one member: the same lock
and state read as the event intake (for a set of one), one pure decision (`service.decide`),
the same save statement. A refusal raised by the decision rolls everything back; an operation
that must answer a refusal *after* saving (a commit of a hold that just timed out, whose
release must stay) returns it instead, and the caller raises it after the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from service.decide.plan import LockPlan, member_plan
from service.decide.redemptions import PoolNotStored
from service.decide.rows import changed_rows
from service.decide.state import SetState
from service.decide.step import Step
from service.engine import Ruleset
from service.runtime import Runtime
from service.store import redemptions as redemption_store
from service.store.database import Connection
from service.store.member_sets import load_set, lock_set
from service.store.set_writes import CodeTaken, save_rows

__all__ = ["MemberOp", "run_member_op"]

T = TypeVar("T")
MemberOp = Callable[[Step, SetState], T]
"""The pure decision: the step over the loaded member (and catalog state), its answer."""

_ATTEMPTS = 5


async def run_member_op(
    runtime: Runtime,
    member_id: str,
    operate: MemberOp[T],
    *,
    ruleset: Ruleset | None = None,
    now: datetime | None = None,
    skip_locked: bool = False,
    stock: list[str] | None = None,
    reads: dict[str, Any] | None = None,
    then: Callable[[Connection], Awaitable[None]] | None = None,
) -> tuple[T, bool]:
    """Run `operate` on the locked member and save what it decided; (answer, True). With
    `skip_locked`, a member someone else holds is left alone: (None, False). `then` runs in
    the same transaction after the save (an erasure's pseudonymisation)."""
    ruleset = ruleset or runtime.rules.current
    now = now or runtime.clock.now()
    reads = dict(reads or {})
    if stock:
        reads["stock"] = stock
    plan = member_plan(ruleset, member_id, now, **reads)
    tz = ruleset.program.timezone
    lock = LockPlan(members=[member_id], stock=stock or [], skip_locked=skip_locked)
    for attempt in range(_ATTEMPTS):
        try:
            async with runtime.db.transaction() as conn:
                locked = await lock_set(conn, lock)
                if member_id not in locked.profiles:
                    return None, False  # type: ignore[return-value]
                loaded = await load_set(conn, plan, locked)
                step = Step(loaded.members, loaded.budgets, now, loaded.stock_issued)
                answer = operate(step, loaded)
                after = {**loaded.members, **step.changed}
                rows = changed_rows(
                    loaded.members,
                    after,
                    loaded.budgets,
                    step.budgets,
                    step.log,
                    now,
                    tz,
                )
                await save_rows(conn, rows)
                if then is not None:
                    await then(conn)
            return answer, True
        except PoolNotStored as missing:
            async with runtime.db.transaction() as conn:
                codes = missing.reward.coupon.codes if missing.reward.coupon else None
                await redemption_store.seed_pool(conn, missing.reward.id, codes or [])
        except CodeTaken:
            if attempt == _ATTEMPTS - 1:
                raise
    raise RuntimeError(f"an operation on {member_id} did not settle in {_ATTEMPTS} tries")
