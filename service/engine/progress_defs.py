"""Compiled gamification declarations: challenges, streaks and the referral policy.

Tiers compile to the core's `TierProgram`; these hold the CEL the engine runs for each event.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from service.engine.cel import CompiledExpr
from service.engine.files import MilestoneDef

__all__ = ["CompiledChallenge", "CompiledReferral", "CompiledStep", "CompiledStreak"]


class CompiledStep(msgspec.Struct, frozen=True):
    """A challenge step: `on` events passing `when` add 1 (count) or `amount` (sum)."""

    on: str
    target: int
    name: str
    when: CompiledExpr | None = None
    amount: CompiledExpr | None = None


class CompiledChallenge(msgspec.Struct, frozen=True):
    """A challenge ready to evaluate; `every` None means one fixed window from start to end."""

    id: str
    name: str
    description: str
    steps: tuple[CompiledStep, ...]
    reward_points: int = 0
    reward_badge: str | None = None
    every: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def targets(self) -> tuple[int, ...]:
        """The target of each step, in order."""
        return tuple(step.target for step in self.steps)


class CompiledStreak(msgspec.Struct, frozen=True):
    """A streak: its qualifying event types with their conditions, unit, freezes, milestones."""

    id: str
    name: str
    on: tuple[str, ...]
    unit: str
    freezes_per_month: int
    milestones: tuple[MilestoneDef, ...]
    when: dict[str, CompiledExpr] = {}


class CompiledReferral(msgspec.Struct, frozen=True):
    """Referral rewards; `qualifying` is a CEL condition on the referee's purchase."""

    referrer_points: int
    referee_points: int
    qualifying: CompiledExpr | None = None
    max_per_referrer: int | None = None
