"""The worker's engagement pass for one member: their level as the clock has it, with no new
event. A member who drifted into a lower level by time alone has the move recorded and the
rules on `engagement_changed` run for it, as an event's move would."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.decide.engaging import LevelMove, settle_engagement
from service.decide.event import react_to_level
from service.decide.plan import cap_period_keys, challenge_windows, engagement_read
from service.decide.step import Step
from service.decide.tiering import local_day
from service.engine import Ruleset

__all__ = ["drift_cause", "drift_pass", "drift_reads"]


def drift_cause(ruleset: Ruleset, now: datetime) -> str:
    """What names the worker's pass in the ids of the lots it books: `drift:<local day>`."""
    return f"drift:{local_day(now, ruleset.program.timezone).isoformat()}"


def drift_reads(ruleset: Ruleset, now: datetime) -> dict[str, Any]:
    """The `member_plan` reads of the pass: the engagement days and level, the tier, and the
    caps and challenge windows a rule on `engagement_changed` may read at now."""
    return {
        "tier": ruleset.program.tiers is not None,
        "period_keys": cap_period_keys(ruleset, now),
        "challenge_keys": sorted(challenge_windows(ruleset, now).values()),
        **engagement_read(ruleset, now),
    }


def drift_pass(step: Step, ruleset: Ruleset, member_id: str) -> LevelMove | None:
    """Settle the member's level as of the step's now; the move made, if any."""
    state = step.matured(step.member(member_id))
    state, move = settle_engagement(step, ruleset, state, None)
    if move is not None:
        react_to_level(step, ruleset, state, drift_cause(ruleset, step.now), move)
    return move
