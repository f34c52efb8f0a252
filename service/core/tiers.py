"""Tiers: the level a member's qualifying metric reaches, and when a level lapses.

The metric is summed from per-day values (local days of the program's time zone) over a window:
the calendar year of the day, or the last `rolling_days` days up to it. A member moves up at
once when a window qualifies them; a level lapses at the end of the last period that qualified
for it (the year's end, or the day the rolling window no longer holds it) plus `grace_days`, and
only then does the member move down, to the level the window at that moment qualifies for.
Spending points never changes a tier: the metric counts points earned, not the balance.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from service.core.metrics import Metric

__all__ = [
    "TierLevel",
    "TierMove",
    "TierProgram",
    "TierReview",
    "TierState",
    "lapse_at",
    "level_for",
    "metric_in_window",
    "review_tier",
    "window_start",
]


class TierLevel(msgspec.Struct, frozen=True):
    """A level of the ladder and the benefits rules can read."""

    id: str
    name: str
    threshold: float
    multiplier: float = 1.0
    benefits: tuple[str, ...] = ()


class TierProgram(msgspec.Struct, frozen=True):
    """The ladder (lowest first), its metric and window; `rolling_days` None = calendar year."""

    metric: Metric
    levels: tuple[TierLevel, ...]
    timezone: str
    rolling_days: int | None = None
    grace_days: int = 0

    @property
    def metric_key(self) -> str:
        """The stored metric series: `points_earned`, `spend` or `count:<event type>`."""
        return self.metric.key

    @property
    def metric_label(self) -> str:
        """The metric in words, for reasons."""
        return self.metric.label

    def level(self, tier_id: str | None) -> TierLevel | None:
        """The level with this id, if any."""
        rank = _ranks(self).get(tier_id, -1)
        return self.levels[rank] if rank >= 0 else None

    def rank(self, tier_id: str | None) -> int:
        """Position in the ladder (0 = lowest); -1 for no tier."""
        return _ranks(self).get(tier_id, -1)


_rank_cache: dict[int, tuple[TierProgram, dict[str | None, int]]] = {}


def _ranks(program: TierProgram) -> dict[str | None, int]:
    """Each level id's position (the first, should two levels share an id), once per ladder:
    a decision asks it several times per event."""
    cached = _rank_cache.get(id(program))
    if cached is not None and cached[0] is program:
        return cached[1]
    ranks: dict[str | None, int] = {}
    for i, lv in enumerate(program.levels):
        ranks.setdefault(lv.id, i)
    if len(_rank_cache) >= 64:  # rulesets come and go (drafts, versions): keep it small
        _rank_cache.clear()
    _rank_cache[id(program)] = (program, ranks)
    return ranks


class TierState(msgspec.Struct, frozen=True):
    """A member's stored tier: since when, and when it lapses unless requalified."""

    tier: str | None = None
    since: datetime | None = None
    held_until: datetime | None = None


class TierMove(msgspec.Struct, frozen=True):
    """One line of tier history."""

    from_tier: str | None
    to_tier: str | None
    at: datetime
    reason: str


class TierReview(msgspec.Struct, frozen=True):
    """The state after a review, the moves it made, and the metric in the window at `now`."""

    state: TierState
    moves: tuple[TierMove, ...]
    metric: float


def _midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def window_start(program: TierProgram, day: date) -> date:
    """The first day of the qualifying window that ends on `day`."""
    if program.rolling_days is None:
        return date(day.year, 1, 1)
    return day - timedelta(days=program.rolling_days - 1)


def metric_in_window(program: TierProgram, days: Mapping[date, float], day: date) -> float:
    """The metric summed over the window ending on `day` (a calendar year counts all its days)."""
    start = window_start(program, day)
    if program.rolling_days is None:
        return sum(v for d, v in days.items() if d.year == day.year)
    return sum(v for d, v in days.items() if start <= d <= day)


def level_for(program: TierProgram, value: float) -> TierLevel | None:
    """The highest level whose threshold `value` reaches."""
    reached = [lv for lv in program.levels if value >= lv.threshold]
    return reached[-1] if reached else None


def lapse_at(
    program: TierProgram, level: TierLevel, days: Mapping[date, float], day: date
) -> datetime | None:
    """When `level`, qualified for by the window ending on `day`, lapses (grace included).

    None for a level with no threshold. Rolling: the first day the window, losing its oldest
    days, falls below the threshold (assuming no new events)."""
    if level.threshold <= 0:
        return None
    grace = timedelta(days=program.grace_days)
    if program.rolling_days is None:
        return _midnight(date(day.year + 1, 1, 1) + grace, program.timezone)
    n = program.rolling_days
    start = window_start(program, day)
    total = metric_in_window(program, days, day)
    for d in sorted(x for x in days if start <= x <= day):
        total -= days[d]
        if total < level.threshold:
            return _midnight(d + timedelta(days=n) + grace, program.timezone)
    return _midnight(day + timedelta(days=1) + grace, program.timezone)


def _window_label(program: TierProgram, day: date) -> str:
    if program.rolling_days is None:
        return str(day.year)
    return f"the {program.rolling_days} days to {day.isoformat()}"


def review_tier(
    program: TierProgram,
    state: TierState,
    days: Mapping[date, float],
    now: datetime,
    event_day: date | None = None,
) -> TierReview:
    """Apply lapses due by `now`, then upgrades (or extensions) the windows qualify for.

    `event_day` (a late event's local day) also checks the calendar year it fell in."""
    today = now.astimezone(ZoneInfo(program.timezone)).date()
    moves: list[TierMove] = []
    base = program.levels[0] if program.levels and program.levels[0].threshold <= 0 else None
    if state.tier is None and base is not None:
        state = TierState(base.id, state.since or now, None)
    value = metric_in_window(program, days, today)
    current = program.level(state.tier)
    if current is not None and state.held_until is not None and now >= state.held_until:
        reached = level_for(program, value)
        rank = program.rank(reached.id) if reached else -1
        if rank < program.rank(current.id):
            to = reached.id if reached else None
            reason = (
                f"{current.name} lapsed on {state.held_until.date().isoformat()}: "
                f"{program.metric_label} {value:g} in {_window_label(program, today)} "
                f"is below its {current.threshold:g}"
            )
            moves.append(TierMove(current.id, to, state.held_until, reason))
            until = lapse_at(program, reached, days, today) if reached else None
            state = TierState(to, state.held_until, until)
        else:
            state = TierState(state.tier, state.since, lapse_at(program, current, days, today))
    candidates = [today]
    if event_day is not None and program.rolling_days is None and event_day.year < today.year:
        candidates.append(event_day)
    for day in candidates:
        window_value = metric_in_window(program, days, day)
        reached = level_for(program, window_value)
        if reached is None:
            continue
        until = lapse_at(program, reached, days, day)
        if until is not None and until <= now:
            continue
        rank, held = program.rank(reached.id), program.rank(state.tier)
        if rank > held:
            reason = (
                f"qualified for {reached.name}: {program.metric_label} {window_value:g} in "
                f"{_window_label(program, day)} reached {reached.threshold:g}"
            )
            moves.append(TierMove(state.tier, reached.id, now, reason))
            state = TierState(reached.id, now, until)
        elif (
            rank == held
            and state.held_until is not None
            and (until is None or until > state.held_until)
        ):
            state = TierState(state.tier, state.since, until)
    return TierReview(state, tuple(moves), value)
