"""Challenges: which window an instant falls in, and how progress moves through ordered steps.

A recurring challenge's window is a calendar period of the program's time zone (its key, such as
`2026-W10`, names it); a fixed one has a single window `once` between its start and end. An
event lands in the window of its `occurred_at`, so a late event counts where it happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from service.core.periods import period_bounds, period_key

__all__ = ["ChallengeProgress", "advance", "window_bounds", "window_key"]

ONCE = "once"


class ChallengeProgress(msgspec.Struct, frozen=True):
    """Where a member is in one window: the current step (0-based) and progress in it."""

    step: int = 0
    progress: int = 0
    completed: bool = False

    def within(self, steps: int) -> ChallengeProgress:
        """This progress on a challenge that now has `steps` steps: a ruleset published
        mid-window with fewer steps leaves the member on its last step, progress kept."""
        if self.step < steps:
            return self
        return ChallengeProgress(steps - 1, self.progress, self.completed)


def window_key(
    every: str | None, start: datetime | None, end: datetime | None, at: datetime, tz: str
) -> str | None:
    """The window `at` falls in, or None outside a fixed challenge's dates."""
    if every is not None:
        return period_key(every, at, tz)  # type: ignore[arg-type]
    if (start is not None and at < start) or (end is not None and at >= end):
        return None
    return ONCE


def window_bounds(
    every: str | None, start: datetime | None, end: datetime | None, key: str, tz: str
) -> tuple[datetime | None, datetime | None]:
    """The `[start, end)` of a window (a fixed challenge may be open-ended)."""
    if every is not None:
        return period_bounds(every, key, tz)  # type: ignore[arg-type]
    return start, end


def advance(
    targets: Sequence[int], state: ChallengeProgress, amount: int
) -> tuple[ChallengeProgress, bool]:
    """Add `amount` to the current step; returns the new progress and whether it completed now.

    A step that reaches its target moves on to the next step at 0 (the surplus does not carry
    over: each step is its own goal); the last step completes the challenge, once."""
    assert targets and all(t > 0 for t in targets), "steps need positive targets"
    if state.completed or amount <= 0:
        return state, False
    progress = state.progress + amount
    if progress < targets[state.step]:
        return ChallengeProgress(state.step, progress, False), False
    if state.step + 1 < len(targets):
        return ChallengeProgress(state.step + 1, 0, False), False
    return ChallengeProgress(state.step, targets[-1], True), True
