"""Streaks: consecutive days (or ISO weeks) with a qualifying event, with monthly freezes.

Units are local dates in the member's time zone (a week is named by its Monday), so a streak
counts calendar days on the member's wall clock and a 23- or 25-hour day around a daylight-saving
change is one day like any other. A missed unit is covered by a freeze when one is left in the
month of the missed unit; a gap that freezes cannot cover breaks the streak. Frozen units keep
the streak alive but do not lengthen it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

__all__ = ["StreakStatus", "streak_status", "unit_of"]


class StreakStatus(msgspec.Struct, frozen=True):
    """The streak as of a day: current length (0 = broken), its first unit, the longest seen,
    freezes used in the current month and the units that freezes covered."""

    current: int
    run_start: date | None
    longest: int
    freezes_used_this_month: int
    frozen: tuple[date, ...] = ()


def unit_of(unit: str, at: datetime, tz: str) -> date:
    """The unit `at` falls in on the wall clock of `tz`: the local date, or its week's Monday."""
    local = at.astimezone(ZoneInfo(tz)).date()
    return local - timedelta(days=local.weekday()) if unit == "week" else local


def _step(unit: str) -> timedelta:
    return timedelta(days=7 if unit == "week" else 1)


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month


def _cover(
    gap: list[date], used: dict[tuple[int, int], int], freezes_per_month: int
) -> list[date] | None:
    """Consume freezes for the missed units of `gap`; None (and nothing consumed) if short."""
    wanted: dict[tuple[int, int], int] = {}
    for day in gap:
        wanted[_month(day)] = wanted.get(_month(day), 0) + 1
    if any(used.get(m, 0) + n > freezes_per_month for m, n in wanted.items()):
        return None
    for m, n in wanted.items():
        used[m] = used.get(m, 0) + n
    return gap


def streak_status(
    units: Iterable[date], today: date, unit: str, freezes_per_month: int
) -> StreakStatus:
    """Walk the active units in order up to `today` (itself still open) and report the streak."""
    step = _step(unit)
    used: dict[tuple[int, int], int] = {}
    frozen: list[date] = []
    length, longest, run_start, previous = 0, 0, None, None
    for current in sorted(set(u for u in units if u <= today)):
        gap: list[date] = []
        if previous is not None:
            day = previous + step
            while day < current:
                gap.append(day)
                day += step
        if previous is not None and (not gap or _cover(gap, used, freezes_per_month) is not None):
            length += 1
            frozen.extend(gap)
        else:
            length, run_start = 1, current
        longest = max(longest, length)
        previous = current
    if previous is not None:
        trailing: list[date] = []
        day = previous + step
        while day < today:
            trailing.append(day)
            day += step
        if trailing:
            if _cover(trailing, used, freezes_per_month) is None:
                length, run_start = 0, None
            else:
                frozen.extend(trailing)
    this_month = _month(today)
    return StreakStatus(length, run_start, longest, used.get(this_month, 0), tuple(frozen))
