"""Levelled badges: which level a counter reaches, and how far the next one is."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["level_reached", "next_level"]


def level_reached(thresholds: Sequence[int], value: int) -> int:
    """How many levels (thresholds ascending) `value` reaches: 0 = none, 1 = the first..."""
    return sum(1 for t in thresholds if value >= t)


def next_level(thresholds: Sequence[int], value: int) -> tuple[int, int] | None:
    """(index of the next level, how much is missing), or None when every level is reached."""
    for index, threshold in enumerate(thresholds):
        if value < threshold:
            return index, threshold - value
    return None
