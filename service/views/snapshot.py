"""What the engine sees of a stored member for an event, read without locks (dry runs)."""

from __future__ import annotations

from datetime import datetime

from service.decide.plan import challenge_windows, read_plan
from service.decide.snapshot import snapshot_of
from service.decide.tiering import review_now
from service.engine import Event, MemberSnapshot, Ruleset
from service.store.database import Connection
from service.store.member_sets import read_set

__all__ = ["member_snapshot"]


async def member_snapshot(
    conn: Connection, ruleset: Ruleset, event: Event, now: datetime
) -> MemberSnapshot:
    """The snapshot the intake would build for `event` of a stored member (an empty one for a
    member never seen), with the tier as of `now`; one statement, no locks, no writes."""
    plan = read_plan(ruleset, [event], [event.member_id], now)
    loaded = await read_set(conn, plan)
    state = loaded.members[event.member_id]
    tiers = ruleset.program.tiers
    return snapshot_of(
        ruleset,
        state,
        review_now(tiers, state, now) if tiers is not None else None,
        challenge_windows(ruleset, event.occurred_at),
        loaded.budgets,
        event.occurred_at,
    )
