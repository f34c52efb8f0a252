"""Engagement levels in the decision step: after an event's metrics (or, in the worker's pass,
as the clock has it), the member's level as of now; a move to another level is logged with the
score and raises the internal event `engagement_changed` (from, to) that rules may react to.

A member's first level is recorded (`from` null) without raising the event: nothing changed.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec
from msgspec.structs import replace

from service.core.engagement import settled
from service.decide.rows import EngagementMoveRow
from service.decide.state import EngagementLevelState, MemberState
from service.decide.step import Step
from service.decide.tiering import local_day
from service.engine import Event, Ruleset

__all__ = ["LevelMove", "changed_event", "settle_engagement"]


class LevelMove(msgspec.Struct, frozen=True, kw_only=True):
    """A member's move between engagement levels."""

    from_level: str | None
    to_level: str
    at: datetime
    score: float


def settle_engagement(
    step: Step, ruleset: Ruleset, state: MemberState, event_id: str | None
) -> tuple[MemberState, LevelMove | None]:
    """The member's level as of now (and the day it falls by time alone); a move is logged,
    naming the event that made it (None: the worker's pass)."""
    program = ruleset.program.engagement
    tz = ruleset.program.timezone
    today = local_day(step.now, tz)
    score, level, drops = settled(program, state.engagement_days, today)
    drops_at = datetime.combine(drops, time(), ZoneInfo(tz)) if drops is not None else None
    current = state.engagement
    if current.level == level:
        if current.drops_at == drops_at:
            return state, None
        return step.put(replace(state, engagement=replace(current, drops_at=drops_at))), None
    seq = current.seq + 1
    step.log.engagement_moves.append(
        EngagementMoveRow(
            member_id=state.member_id,
            seq=seq,
            from_level=current.level,
            to_level=level,
            at=step.now,
            score=Decimal(str(score)),
            event_id=event_id,
        )
    )
    moved = EngagementLevelState(level=level, since=step.now, seq=seq, drops_at=drops_at)
    state = step.put(replace(state, engagement=moved))
    move = LevelMove(from_level=current.level, to_level=level, at=step.now, score=score)
    return state, move


def changed_event(member_id: str, cause: str, move: LevelMove) -> Event | None:
    """The internal event a move raises (none for a member's first level); its id names its
    cause (the event, or the worker's pass) so its lots and entries are found by it."""
    if move.from_level is None:
        return None
    return Event(
        id=f"{cause}/engagement/{move.to_level}",
        type="engagement_changed",
        member_id=member_id,
        occurred_at=move.at,
        attributes={"from": move.from_level, "to": move.to_level},
    )
