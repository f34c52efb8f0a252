"""The composite engagement score of a member: recency, frequency and depth, decayed with time.

The program declares components (`program.yaml`, `engagement:`), each read from the member's
daily activity (the per-day metrics the pipeline keeps: `count:<type>` per event type,
`spend`, `points_earned`) over a window of days ending on the day it is computed for:

- `recency`: 1.0 on a day with one of its events, halving every `half_life_days` since the
  latest such day (0 with none in the window);
- `count` / `amount`: the day's events (or purchase amount) weighed by 0.5 ** (age / half-life),
  summed over the window, as a share of `target` (capped at 1.0).

The score is the weighted mean of the components' shares, 0 to 100 (two decimals); the level is
the highest whose threshold it reaches. Everything is a function of the days and of the day it
is computed for: reading it never waits for a worker, and a late event (stored on its own day)
counts exactly as if it had arrived on time.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

import msgspec

__all__ = [
    "DEFAULT_LEVELS",
    "ComponentScore",
    "Engagement",
    "EngagementComponent",
    "EngagementLevel",
    "EngagementProgram",
    "Raise",
    "best_raise",
    "default_engagement",
    "drops_on",
    "engagement_at",
    "engagement_shares",
    "settled",
]

DayMetrics = Mapping[tuple[str, date], Decimal]
"""(metric, local day) -> the member's amount of that metric on that day."""

ComponentKind = Literal["recency", "count", "amount"]


class EngagementComponent(msgspec.Struct, frozen=True, kw_only=True):
    """One part of the score: what it reads (`metrics`, summed per day), how it decays."""

    id: str
    kind: ComponentKind
    metrics: tuple[str, ...]
    weight: float
    half_life_days: float
    window_days: int
    target: float = 1.0
    """The decayed sum that earns the whole component (`count` and `amount`)."""
    unit: float = 1.0
    """`amount` of spend: what one more purchase adds ("what would raise it most")."""


class EngagementLevel(msgspec.Struct, frozen=True):
    """A level, reached when the score is at least `threshold`."""

    id: str
    name: str
    threshold: float


DEFAULT_LEVELS = (
    EngagementLevel("disengaged", "Disengaged", 0.0),
    EngagementLevel("at_risk", "At risk", 15.0),
    EngagementLevel("moderately_engaged", "Moderately engaged", 40.0),
    EngagementLevel("highly_engaged", "Highly engaged", 70.0),
)
"""The seed's four levels, lowest first."""


class EngagementProgram(msgspec.Struct, frozen=True, kw_only=True):
    """The components and the levels (lowest first, the first at threshold 0)."""

    components: tuple[EngagementComponent, ...]
    levels: tuple[EngagementLevel, ...] = DEFAULT_LEVELS

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every daily metric a component reads, sorted."""
        return _plan(self).metrics

    @property
    def window_days(self) -> int:
        """The longest window: days older than this never count."""
        return _plan(self).window_days

    def since(self, day: date) -> date:
        """The first day a score computed for `day` reads."""
        return day - timedelta(days=self.window_days - 1)

    def level_of(self, score: float) -> str:
        """The highest level whose threshold `score` reaches."""
        reached = self.levels[0].id
        for level in self.levels:
            if score >= level.threshold:
                reached = level.id
        return reached

    def rank(self, level: str | None) -> int:
        """The position of a level, lowest 0 (-1 for none or unknown)."""
        return next((i for i, lv in enumerate(self.levels) if lv.id == level), -1)


def default_engagement(event_types: tuple[str, ...]) -> EngagementProgram:
    """The program's engagement when `program.yaml` declares none: recency (60%, halving every
    80 days) and frequency (40%, ten events decayed by a 30-day half-life earn it all) of any
    activity (the event types given), the seed's four levels: a member is at risk about 45
    days after their latest event, disengaged after about 160."""
    counts = tuple(f"count:{t}" for t in event_types)
    return EngagementProgram(
        components=(
            EngagementComponent(
                id="recency",
                kind="recency",
                metrics=counts,
                weight=60.0,
                half_life_days=80.0,
                window_days=365,
            ),
            EngagementComponent(
                id="frequency",
                kind="count",
                metrics=counts,
                weight=40.0,
                half_life_days=30.0,
                window_days=180,
                target=10.0,
            ),
        ),
    )


class ComponentScore(msgspec.Struct, frozen=True, kw_only=True):
    """A component as of one day: its raw value (days since, or the decayed sum), its share
    of the whole (0..1) and the score points it contributes."""

    id: str
    value: float
    share: float
    points: float


class Engagement(msgspec.Struct, frozen=True, kw_only=True):
    """A member's engagement as of one day."""

    score: float
    level: str
    components: tuple[ComponentScore, ...]

    def component(self, component_id: str) -> ComponentScore | None:
        """The component with this id, if any."""
        return next((c for c in self.components if c.id == component_id), None)


Series = dict[str, list[tuple[int, float]]]
"""Per metric, (day ordinal, amount) of the days with an amount: the days read once."""


def _series(program: EngagementProgram, days: DayMetrics) -> Series:
    wanted = _plan(program).readers  # every metric a component reads
    series: Series = {}
    for (metric, day), amount in days.items():
        if metric in wanted and amount:
            series.setdefault(metric, []).append((day.toordinal(), float(amount)))
    return series


def _component(c: EngagementComponent, series: Series, on: int) -> tuple[float, float]:
    """(value, share) of one component as of the day ordinal `on`."""
    first = on - c.window_days + 1
    if c.kind == "recency":
        per_day: dict[int, float] = {}
        for metric in c.metrics:
            for day, amount in series.get(metric, ()):
                if first <= day <= on:
                    per_day[day] = per_day.get(day, 0.0) + amount
        active = [day for day, amount in per_day.items() if amount > 0]
        if not active:
            return -1.0, 0.0
        age = on - max(active)
        return float(age), float(0.5 ** (age / c.half_life_days))
    total = 0.0
    half_life = c.half_life_days
    for metric in c.metrics:
        for day, amount in series.get(metric, ()):
            if first <= day <= on:
                total += amount * 0.5 ** ((on - day) / half_life)
    total = max(total, 0.0)
    return round(total, 4), min(1.0, total / c.target) if c.target > 0 else 0.0


def _score(program: EngagementProgram, series: Series, on: int) -> float:
    weights = sum(c.weight for c in program.components) or 1.0
    return round(
        sum(100.0 * c.weight * _component(c, series, on)[1] / weights for c in program.components),
        2,
    )


def _points(
    program: EngagementProgram, days: DayMetrics, on: date
) -> tuple[float, list[tuple[float, float, float]]]:
    """The score as of `on` and, per component, (value, share, score points unrounded)."""
    series = _series(program, days)
    weights = sum(c.weight for c in program.components) or 1.0
    day = on.toordinal()
    parts: list[tuple[float, float, float]] = []
    for c in program.components:
        value, share = _component(c, series, day)
        parts.append((value, share, 100.0 * c.weight * share / weights))
    return round(sum(p[2] for p in parts), 2), parts


def engagement_at(program: EngagementProgram, days: DayMetrics, on: date) -> Engagement:
    """The score, level and components as of the local day `on`, from the member's days
    (days after `on` are not counted: a late event's rules see the member as of its day)."""
    score, parts = _points(program, days, on)
    components = tuple(
        ComponentScore(id=c.id, value=value, share=round(share, 4), points=round(points, 2))
        for c, (value, share, points) in zip(program.components, parts, strict=True)
    )
    return Engagement(score=score, level=program.level_of(score), components=components)


def engagement_shares(
    program: EngagementProgram, days: DayMetrics, on: date
) -> tuple[float, str, dict[str, float]]:
    """`engagement_at`'s score, level and each component's share, as rules read them, without
    building the components."""
    score, parts = _points(program, days, on)
    shares = {
        c.id: round(share, 4) for c, (_, share, _) in zip(program.components, parts, strict=True)
    }
    return score, program.level_of(score), shares


class Raise(msgspec.Struct, frozen=True, kw_only=True):
    """What would raise the score most today: one more event of a type, the component it
    raises most, and the score points it would add in all."""

    event_type: str
    component: str
    points: float


def _actions(program: EngagementProgram) -> dict[str, dict[str, Decimal]]:
    """Per event type a component counts: what one more of it adds to the day's metrics (a
    purchase adds its `unit` of spend too)."""
    spend = next(
        (c.unit for c in program.components if c.kind == "amount" and "spend" in c.metrics), None
    )
    actions: dict[str, dict[str, Decimal]] = {}
    for c in program.components:
        for metric in c.metrics:
            if metric.startswith("count:"):
                adds = {metric: Decimal(1)}
                if metric == "count:purchase" and spend is not None:
                    adds["spend"] = Decimal(str(spend))
                actions[metric.removeprefix("count:")] = adds
    return dict(sorted(actions.items()))


def best_raise(program: EngagementProgram, days: DayMetrics, on: date) -> Raise | None:
    """The event type whose one more event today would raise the score most, with the score
    points it would add; None when no event would."""
    base = engagement_at(program, days, on)
    best: Raise | None = None
    for event_type, adds in _actions(program).items():
        more = dict(days)
        for metric, amount in adds.items():
            more[(metric, on)] = more.get((metric, on), Decimal(0)) + amount
        after = engagement_at(program, more, on)
        gain = round(after.score - base.score, 2)
        if gain > 0 and (best is None or gain > best.points):
            moved = max(
                zip(after.components, base.components, strict=True),
                key=lambda pair: pair[0].points - pair[1].points,
            )
            best = Raise(event_type=event_type, component=moved[0].id, points=gain)
    return best


class _Plan(msgspec.Struct, frozen=True):
    """What a program's score derives from the program alone, once per program: for each
    metric the components that read it (once per mention), the weights, the rank of each
    level, the metrics and the longest window."""

    readers: dict[str, tuple[int, ...]]
    weighted: tuple[float, ...]
    """Per component, 100 * weight / the sum of the weights."""
    levels: tuple[tuple[float, int], ...]
    """Per level, (threshold, the rank `rank` gives its id)."""
    metrics: tuple[str, ...]
    window_days: int
    monotone: bool
    """Whether the score can only fall as days pass, for any days with positive amounts: no
    negative weight, every half-life positive, the thresholds rising (the loader's rules)."""
    half_life: float
    """The components' half-lives, weighted: where `_first_below` looks first."""


_plans: dict[int, tuple[EngagementProgram, _Plan]] = {}


def _plan(program: EngagementProgram) -> _Plan:
    cached = _plans.get(id(program))
    if cached is not None and cached[0] is program:
        return cached[1]
    readers: dict[str, list[int]] = {}
    for i, c in enumerate(program.components):
        for metric in c.metrics:
            readers.setdefault(metric, []).append(i)
    weights = sum(c.weight for c in program.components) or 1.0
    plan = _Plan(
        readers={m: tuple(r) for m, r in readers.items()},
        weighted=tuple(100.0 * c.weight / weights for c in program.components),
        levels=tuple((lv.threshold, program.rank(lv.id)) for lv in program.levels),
        metrics=tuple(sorted({m for c in program.components for m in c.metrics})),
        window_days=max((c.window_days for c in program.components), default=1),
        monotone=all(c.weight >= 0 and c.half_life_days > 0 for c in program.components)
        and all(
            program.rank(lv.id) == i and (i == 0 or lv.threshold > program.levels[i - 1].threshold)
            for i, lv in enumerate(program.levels)
        ),
        half_life=sum(c.weight * c.half_life_days for c in program.components) / weights
        if program.components
        else 1.0,
    )
    if len(_plans) >= 64:  # rulesets come and go (drafts, versions): keep the cache small
        _plans.clear()
    _plans[id(program)] = (program, plan)
    return plan


def _level_rank(levels: tuple[tuple[float, int], ...], score: float) -> int:
    """`program.rank(program.level_of(score))`, from the plan's levels."""
    reached = 0  # the first level's id: rank 0
    for threshold, rank in levels:
        if score >= threshold:
            reached = rank
    return reached


def _per_day(rows: list[tuple[int, float]]) -> dict[int, float]:
    per_day: dict[int, float] = {}
    for day, amount in rows:
        per_day[day] = per_day.get(day, 0.0) + amount
    return per_day


def _rows(
    plan: _Plan, n: int, days: DayMetrics, start: int
) -> tuple[list[list[tuple[int, float]]], bool]:
    """Per component, the (day ordinal, amount) of the days it reads up to `start`, in
    (day, amount) order: the days read and sorted once for every component; and whether no
    amount read is negative."""
    readers = plan.readers
    read: list[tuple[int, float, tuple[int, ...]]] = []
    positive = True
    for (metric, day), amount in days.items():
        readers_of = readers.get(metric)
        if readers_of is not None and amount:
            value = float(amount)
            if value < 0.0:
                positive = False
            read.append((day.toordinal(), value, readers_of))
    read.sort()
    rows: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for ordinal, value, readers_of in read:
        if ordinal <= start:
            for i in readers_of:
                rows[i].append((ordinal, value))
    return rows, positive


def _decaying(
    program: EngagementProgram, days: DayMetrics, start: int
) -> tuple[Callable[[int], float], bool]:
    """The score `k` days after `start` with no new activity, each component precomputed once
    (a decayed sum only shrinks by its half-life and by days leaving its window), and whether
    it can only fall as `k` grows (no negative amount read, a program that keeps it so)."""
    plan = _plan(program)
    components = program.components
    rows, positive = _rows(plan, len(components), days, start)
    monotone = plan.monotone and positive
    # per component the constants of its share `k` days on: (index, weight, half-life, age of
    # the latest active day, the first k past the window) for recency; (index, weight,
    # half-life, target, days, decayed suffix sums, the day k + this leaves the window, the
    # last k at which none has left) for a decayed sum
    recency: list[tuple[int, float, float, int, int]] = []
    summed: list[tuple[int, float, float, float, list[int], list[float], int, int]] = []
    for i, c in enumerate(components):
        gone = start - c.window_days + 1
        mine = rows[i]
        if mine and mine[0][0] < gone:
            mine = mine[bisect_left(mine, (gone,)) :]
        if c.kind == "recency":
            active = [day for day, amount in _per_day(mine).items() if amount > 0]
            if active:
                latest = max(active)
                age, until = start - latest, latest + c.window_days - start
            else:
                age, until = 0, -1  # no share at any k
            recency.append((i, plan.weighted[i], c.half_life_days, age, until))
            continue
        half_life = c.half_life_days
        suffix = [0.0] * (len(mine) + 1)
        for j in range(len(mine) - 1, -1, -1):
            day, amount = mine[j]
            suffix[j] = suffix[j + 1] + amount * 0.5 ** ((start - day) / half_life)
        days_in = [d for d, _ in mine]
        whole = days_in[0] - gone if days_in else 1 << 30
        summed.append((i, plan.weighted[i], half_life, c.target, days_in, suffix, gone, whole))
    n = len(components)

    def score(k: int) -> float:
        # the same arithmetic as `_component`'s, in the same order: max(0.0, x) and
        # min(1.0, x) written out
        parts = [0.0] * n
        for i, weight, half_life, age, until in recency:
            if k >= until:
                parts[i] = weight * 0.0
            else:
                parts[i] = weight * 0.5 ** ((age + k) / half_life)
        for i, weight, half_life, target, days_in, suffix, gone, whole in summed:
            if target > 0:
                total = suffix[0 if k <= whole else bisect_left(days_in, k + gone)]
                total = total * 0.5 ** (k / half_life)
                share = total / target if total > 0.0 else 0.0
                parts[i] = weight * (share if share < 1.0 else 1.0)
            else:
                parts[i] = weight * 0.0
        return round(sum(parts), 2)

    return score, monotone


def settled(
    program: EngagementProgram, days: DayMetrics, on: date
) -> tuple[float, str, date | None]:
    """(score, level) as of `on`, and the first day after it on which, with no new activity,
    the level is lower (None if it never falls): the days read once."""
    start = on.toordinal()
    score, monotone = _decaying(program, days, start)
    now_score = score(0)
    level = program.level_of(now_score)
    plan = _plan(program)
    levels = plan.levels
    rank = _level_rank(levels, now_score)  # program.rank(level)
    if rank <= 0:
        return now_score, level, None

    def below(k: int) -> bool:
        return _level_rank(levels, score(k)) < rank

    lo, hi = 1, plan.window_days + 1  # after the longest window every share is 0
    if monotone:
        threshold = program.levels[rank].threshold
        found = _first_below(score, now_score, hi, threshold, plan.half_life)
        if found is None:
            return now_score, level, None
        return now_score, level, on + timedelta(days=found)
    if not below(hi):
        return now_score, level, None
    while lo < hi:  # bisect (as `_first_below`, without assuming the score only falls)
        mid = (lo + hi) // 2
        if below(mid):
            hi = mid
        else:
            lo = mid + 1
    return now_score, level, on + timedelta(days=lo)


def _first_below(
    score: Callable[[int], float], now_score: float, last: int, threshold: float, half_life: float
) -> int | None:
    """The first `k` in 1..`last` whose score is below `threshold` (None if none), for a score
    that only falls as `k` grows, is `now_score` at 0 and 0.0 at `last` (past every window):
    the same day as bisecting finds, in about half the evaluations. The bracket is narrowed
    where the score, taken as decaying exponentially between its ends, crosses the threshold
    (first by the weighted `half_life`; a bisection step whenever that did not halve it)."""
    if threshold <= 0.0:  # 0.0 at `last` keeps the level
        return None
    low, low_score = 0, now_score  # at or above the threshold at `low`...
    high, high_score = last, 0.0  # ...below it at `high`
    guess = math.ceil(half_life * math.log2(now_score / threshold)) if now_score > threshold else 1
    halve = False
    while high - low > 1:
        width = high - low
        if guess:
            mid, guess = guess, 0
        elif halve:
            mid = (low + high) // 2
        elif high_score > 0.0:
            mid = low + math.ceil(
                math.log(low_score / threshold) / math.log(low_score / high_score) * width
            )
        else:
            mid = low + math.ceil((low_score - threshold) / low_score * width)
        mid = min(max(mid, low + 1), high - 1)
        value = score(mid)
        if value < threshold:
            high, high_score = mid, value
        else:
            low, low_score = mid, value
        halve = 2 * (high - low) > width
    return high


def drops_on(program: EngagementProgram, days: DayMetrics, on: date) -> date | None:
    """The first day after `on` on which, with no new activity, the level is lower than on
    `on`; None if it never falls (it is the lowest, or the score does not decay below it)."""
    return settled(program, days, on)[2]
