"""The worker's engagement pass: members who drifted into a lower level by time alone have the
move recorded and the rules on `engagement_changed` run for it."""

from __future__ import annotations

from datetime import datetime

from service.decide.drift import drift_pass, drift_reads
from service.decide.state import SetState
from service.decide.step import Step
from service.pipeline.member_ops import run_member_op
from service.runtime import Runtime
from service.store import engagement as engagement_store

__all__ = ["review_engagement_due"]


async def review_engagement_due(runtime: Runtime, now: datetime, limit: int = 200) -> int:
    """Settle the level of members due to drift by `now`; how many moved."""
    ruleset = runtime.rules.current
    async with runtime.db.connection() as conn:
        due = await engagement_store.members_drifting(conn, now, limit)
    moved = 0
    reads = drift_reads(ruleset, now)
    for member_id in due:

        def operate(step: Step, _: SetState, member_id: str = member_id) -> bool:
            return drift_pass(step, ruleset, member_id) is not None

        # a member an event is booking is skipped: the event settles the level itself
        answer, done = await run_member_op(
            runtime, member_id, operate, ruleset=ruleset, now=now, skip_locked=True, reads=reads
        )
        moved += bool(done and answer)
    return moved
