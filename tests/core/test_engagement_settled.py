"""`settled` (the level and the day it falls by time alone) equals the computation it replaced,
kept here as the reference: the same score, level and fall day over random programs and
histories (negative and zero amounts, days outside the windows and after the day included)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from service.core.engagement import (
    ComponentKind,
    EngagementComponent,
    EngagementLevel,
    EngagementProgram,
    engagement_at,
    engagement_shares,
    settled,
)

Series = dict[str, list[tuple[int, float]]]


def _reference_series(program: EngagementProgram, days: dict[tuple[str, date], Decimal]) -> Series:
    wanted = set(program.metrics)
    series: Series = {}
    for (metric, day), amount in days.items():
        if metric in wanted and amount:
            series.setdefault(metric, []).append((day.toordinal(), float(amount)))
    return series


def _reference_decaying(
    program: EngagementProgram, series: Series, start: int
) -> Callable[[int], float]:
    weights = sum(c.weight for c in program.components) or 1.0
    parts: list[Callable[[int], float]] = []
    for c in program.components:
        first = start - c.window_days + 1
        rows = sorted(
            (day, amount)
            for metric in c.metrics
            for day, amount in series.get(metric, ())
            if first <= day <= start
        )
        if c.kind == "recency":
            per_day: dict[int, float] = {}
            for day, amount in rows:
                per_day[day] = per_day.get(day, 0.0) + amount
            active = [day for day, amount in per_day.items() if amount > 0]
            latest = max(active) if active else None

            def recency(k: int, c: EngagementComponent = c, latest: int | None = latest) -> float:
                if latest is None or start + k - latest >= c.window_days:
                    return 0.0
                return float(0.5 ** ((start + k - latest) / c.half_life_days))

            parts.append(recency)
            continue
        days_in = [day for day, _ in rows]
        suffix = [0.0] * (len(rows) + 1)
        for i in range(len(rows) - 1, -1, -1):
            day, amount = rows[i]
            suffix[i] = suffix[i + 1] + amount * 0.5 ** ((start - day) / c.half_life_days)

        def summed(
            k: int,
            c: EngagementComponent = c,
            days_in: list[int] = days_in,
            suffix: list[float] = suffix,
        ) -> float:
            i = bisect_left(days_in, start + k - c.window_days + 1)
            total = max(0.0, suffix[i] * 0.5 ** (k / c.half_life_days))
            return min(1.0, total / c.target) if c.target > 0 else 0.0

        parts.append(summed)
    weighted = [
        (100.0 * c.weight / weights, part)
        for c, part in zip(program.components, parts, strict=True)
    ]
    return lambda k: round(sum(w * part(k) for w, part in weighted), 2)


def reference_settled(
    program: EngagementProgram, days: dict[tuple[str, date], Decimal], on: date
) -> tuple[float, str, date | None]:
    """`settled` as it was before it read the days in one pass (commit 93ec583)."""
    start = on.toordinal()
    score = _reference_decaying(program, _reference_series(program, days), start)
    now_score = score(0)
    level = program.level_of(now_score)
    rank = program.rank(level)
    if rank <= 0:
        return now_score, level, None

    def below(k: int) -> bool:
        return program.rank(program.level_of(score(k))) < rank

    lo, hi = 1, program.window_days + 1
    if not below(hi):
        return now_score, level, None
    while lo < hi:
        mid = (lo + hi) // 2
        if below(mid):
            hi = mid
        else:
            lo = mid + 1
    return now_score, level, on + timedelta(days=lo)


METRICS = ("count:purchase", "count:review", "spend", "points_earned")
ON = date(2026, 6, 1)


@st.composite
def programs(draw: st.DrawFn) -> EngagementProgram:
    n = draw(st.integers(1, 4))
    components = []
    for i in range(n):
        kinds: tuple[ComponentKind, ...] = ("recency", "count", "amount")
        kind = draw(st.sampled_from(kinds))
        metrics = tuple(draw(st.lists(st.sampled_from(METRICS), min_size=1, max_size=3)))
        components.append(
            EngagementComponent(
                id=f"c{i}",
                kind=kind,
                metrics=metrics,
                weight=draw(st.sampled_from((0.0, 1.0, 10.0, 15.0, 25.0, 50.0, 33.3))),
                half_life_days=draw(st.sampled_from((1.0, 7.0, 30.0, 45.5, 80.0, 90.0))),
                window_days=draw(st.integers(1, 400)),
                target=draw(st.sampled_from((0.0, 1.0, 3.0, 10.0, 300.0))),
            )
        )
    thresholds = sorted(set(draw(st.lists(st.integers(1, 60), max_size=4))))
    upper = [EngagementLevel(f"l{i + 1}", f"L{i + 1}", float(t)) for i, t in enumerate(thresholds)]
    levels = (EngagementLevel("l0", "L0", 0.0), *upper)
    return EngagementProgram(components=tuple(components), levels=levels)


amounts = st.one_of(
    st.integers(-3, 6).map(Decimal),
    st.decimals(min_value=-50, max_value=500, places=2, allow_nan=False, allow_infinity=False),
)
histories = st.dictionaries(
    st.tuples(st.sampled_from((*METRICS, "count:other")), st.integers(-420, 5)),
    amounts,
    max_size=60,
).map(lambda d: {(m, ON + timedelta(days=ago)): a for (m, ago), a in d.items()})


@settings(max_examples=600, deadline=None)
@given(programs(), histories, st.integers(-3, 3))
def test_settled_equals_the_reference(
    program: EngagementProgram, days: dict[tuple[str, date], Decimal], shift: int
) -> None:
    on = ON + timedelta(days=shift)
    assert settled(program, days, on) == reference_settled(program, days, on)
    e = engagement_at(program, days, on)
    shares = {c.id: c.share for c in e.components}
    assert engagement_shares(program, days, on) == (e.score, e.level, shares)


positive_histories = st.dictionaries(
    st.tuples(st.sampled_from(METRICS), st.integers(-150, 0)),
    st.one_of(
        st.integers(1, 6).map(Decimal),
        st.decimals(min_value="0.01", max_value=500, places=2),
    ),
    max_size=40,
).map(lambda d: {(m, ON + timedelta(days=ago)): a for (m, ago), a in d.items()})


@settings(max_examples=800, deadline=None)
@given(programs(), positive_histories, st.lists(st.floats(0.01, 1.5), min_size=1, max_size=4))
def test_settled_equals_the_reference_with_positive_amounts(
    program: EngagementProgram, days: dict[tuple[str, date], Decimal], fractions: list[float]
) -> None:
    """Positive amounts: the score only falls with time, and the fall day is searched for by
    interpolation rather than bisection; it is the same day. The levels' thresholds are drawn
    around the member's score, so that most examples have a level to fall from."""
    now = reference_settled(program, days, ON)[0]
    thresholds = sorted({round(f * now, 2) for f in fractions if round(f * now, 2) > 0})
    upper = [EngagementLevel(f"l{i + 1}", "L", t) for i, t in enumerate(thresholds)]
    program = msgspec.structs.replace(program, levels=(EngagementLevel("l0", "L0", 0.0), *upper))
    assert settled(program, days, ON) == reference_settled(program, days, ON)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.tuples(
            st.sampled_from(("count:purchase", "count:review", "spend")), st.integers(-200, 0)
        ),
        st.integers(1, 80).map(Decimal),
        max_size=80,
    )
)
def test_settled_equals_the_reference_for_active_members(
    days_ago: dict[tuple[str, int], Decimal],
) -> None:
    """Positive amounts only, the demo program's shape: members who reach the upper levels."""
    program = EngagementProgram(
        components=(
            EngagementComponent(
                id="recency",
                kind="recency",
                metrics=("count:purchase", "count:review"),
                weight=50,
                half_life_days=80,
                window_days=365,
            ),
            EngagementComponent(
                id="frequency",
                kind="count",
                metrics=("count:purchase", "count:review"),
                weight=25,
                half_life_days=30,
                window_days=180,
                target=10,
            ),
            EngagementComponent(
                id="spend",
                kind="amount",
                metrics=("spend",),
                weight=15,
                half_life_days=60,
                window_days=365,
                target=300,
            ),
            EngagementComponent(
                id="reviews",
                kind="count",
                metrics=("count:review",),
                weight=10,
                half_life_days=90,
                window_days=365,
                target=3,
            ),
        ),
        levels=(
            EngagementLevel("disengaged", "D", 0),
            EngagementLevel("at_risk", "A", 12),
            EngagementLevel("moderately_engaged", "M", 35),
            EngagementLevel("highly_engaged", "H", 70),
        ),
    )
    days = {(m, ON + timedelta(days=ago)): a for (m, ago), a in days_ago.items()}
    assert settled(program, days, ON) == reference_settled(program, days, ON)
