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

__all__ = ["RunPoint", "StreakStatus", "late_run", "streak_status", "unit_of", "walk_runs"]


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


class RunPoint(msgspec.Struct, frozen=True):
    """The run a unit belongs to, as a walk in time order reaches it: its length so far (that
    unit included) and its first unit."""

    length: int
    run_start: date


class _Walk:
    """Active units walked in time order, consuming freezes for the gaps between them."""

    def __init__(self, unit: str, freezes_per_month: int) -> None:
        self.step = _step(unit)
        self.freezes_per_month = freezes_per_month
        self.used: dict[tuple[int, int], int] = {}
        self.frozen: list[date] = []

    def gap(self, after: date, before: date) -> list[date]:
        gap: list[date] = []
        day = after + self.step
        while day < before:
            gap.append(day)
            day += self.step
        return gap

    def covers(self, gap: list[date]) -> bool:
        if not gap:
            return True
        if _cover(gap, self.used, self.freezes_per_month) is None:
            return False
        self.frozen.extend(gap)
        return True

    def points(self, units: Iterable[date]) -> dict[date, RunPoint]:
        points: dict[date, RunPoint] = {}
        previous: date | None = None
        point: RunPoint | None = None
        for current in sorted(set(units)):
            if (
                point is not None
                and previous is not None
                and self.covers(self.gap(previous, current))
            ):
                point = RunPoint(point.length + 1, point.run_start)
            else:
                point = RunPoint(1, current)
            points[current] = point
            previous = current
        return points


def walk_runs(units: Iterable[date], unit: str, freezes_per_month: int) -> dict[date, RunPoint]:
    """Each active unit's run as a walk in time order reaches it."""
    return _Walk(unit, freezes_per_month).points(units)


class LateRun(msgspec.Struct, frozen=True):
    """The run a newly counted unit belongs to, judged as of that run's last unit (not the
    wall clock): its first and last unit, its length with the new unit, the longest length
    that any part of it had before (what its milestones were already paid up to), and whether
    it is the member's latest run."""

    run_start: date
    end: date
    length: int
    length_before: int
    latest: bool


def late_run(units: Iterable[date], new: date, unit: str, freezes_per_month: int) -> LateRun:
    """Count `new` among the active `units` (which need not all be earlier: an event may be
    late) and report the run it joins. A unit that fills the gap between two runs joins them."""
    before = set(units)
    after = walk_runs(before | {new}, unit, freezes_per_month)  # in date order
    start, days = after[new].run_start, list(after)
    if days[-1] == new:  # on time: the walk without it is this walk's prefix
        previous = after[days[-2]] if len(days) > 1 else None
        held = previous.length if previous is not None and previous.run_start == start else 0
        return LateRun(start, new, after[new].length, held, latest=True)
    run = [u for u in days if u >= new and after[u].run_start == start]
    end = run[-1]
    earlier = walk_runs(before, unit, freezes_per_month)
    return LateRun(
        run_start=start,
        end=end,
        length=after[end].length,
        length_before=max(
            (earlier[u].length for u in days if start <= u <= end and u in earlier), default=0
        ),
        latest=end == days[-1],
    )


def streak_status(
    units: Iterable[date], today: date, unit: str, freezes_per_month: int
) -> StreakStatus:
    """Walk the active units in order up to `today` (itself still open) and report the streak."""
    walk = _Walk(unit, freezes_per_month)
    points = walk.points(u for u in units if u <= today)
    longest = max((p.length for p in points.values()), default=0)
    length, run_start = 0, None
    if points:
        previous = max(points)
        length, run_start = points[previous].length, points[previous].run_start
        trailing = walk.gap(previous, today)
        if trailing and not walk.covers(trailing):
            length, run_start = 0, None
    this_month = _month(today)
    return StreakStatus(
        length, run_start, longest, walk.used.get(this_month, 0), tuple(walk.frozen)
    )
