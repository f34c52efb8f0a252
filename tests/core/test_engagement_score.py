"""The composite engagement score: decay arithmetic against hand-computed values, levels as
days pass, late events counted on their own day, what would raise the score most."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from service.core.engagement import (
    EngagementComponent,
    EngagementLevel,
    EngagementProgram,
    best_raise,
    drops_on,
    engagement_at,
)

D = date(2026, 6, 1)

PROGRAM = EngagementProgram(
    components=(
        EngagementComponent(
            id="recency",
            kind="recency",
            metrics=("count:purchase", "count:review"),
            weight=50,
            half_life_days=10,
            window_days=365,
        ),
        EngagementComponent(
            id="purchases",
            kind="count",
            metrics=("count:purchase",),
            weight=30,
            half_life_days=20,
            window_days=60,
            target=4,
        ),
        EngagementComponent(
            id="spend",
            kind="amount",
            metrics=("spend",),
            weight=20,
            half_life_days=30,
            window_days=365,
            target=200,
            unit=50,
        ),
    ),
    levels=(
        EngagementLevel("disengaged", "Disengaged", 0),
        EngagementLevel("at_risk", "At risk", 15),
        EngagementLevel("moderately_engaged", "Moderately engaged", 40),
        EngagementLevel("highly_engaged", "Highly engaged", 70),
    ),
)


def _days(*rows: tuple[str, int, str]) -> dict[tuple[str, date], Decimal]:
    """(metric, days before D, amount) rows."""
    out: dict[tuple[str, date], Decimal] = {}
    for metric, ago, amount in rows:
        key = (metric, D - timedelta(days=ago))
        out[key] = out.get(key, Decimal(0)) + Decimal(amount)
    return out


def test_a_member_with_no_activity_scores_zero_and_is_the_lowest_level():
    e = engagement_at(PROGRAM, {}, D)
    assert e.score == 0 and e.level == "disengaged"
    assert [(c.id, c.value, c.share) for c in e.components] == [
        ("recency", -1.0, 0.0),
        ("purchases", 0.0, 0.0),
        ("spend", 0.0, 0.0),
    ]


def test_score_arithmetic_with_decay_by_hand():
    days = _days(
        ("count:purchase", 10, "1"),
        ("spend", 10, "100"),
        ("count:purchase", 30, "2"),
        ("spend", 30, "60"),
        ("count:review", 5, "1"),
    )
    e = engagement_at(PROGRAM, days, D)
    # recency: latest activity (the review) 5 days ago: 0.5 ** (5/10) = 0.70711
    # purchases: 1 * 0.5 ** (10/20) + 2 * 0.5 ** (30/20) = 0.70711 + 0.70711 = 1.41421 of 4
    # spend: 100 * 0.5 ** (10/30) + 60 * 0.5 ** (30/30) = 79.37005 + 30 = 109.37005 of 200
    recency = 0.5**0.5
    purchases = (0.5**0.5 + 2 * 0.5**1.5) / 4
    spend = (100 * 0.5 ** (1 / 3) + 30) / 200
    expected = 50 * recency + 30 * purchases + 20 * spend  # weights sum to 100
    assert e.score == round(expected, 2) == 56.9
    assert e.level == "moderately_engaged"
    parts = {c.id: c for c in e.components}
    assert parts["recency"].value == 5 and parts["recency"].share == round(recency, 4)
    assert parts["purchases"].value == round(0.5**0.5 + 2 * 0.5**1.5, 4)
    assert parts["spend"].value == round(100 * 0.5 ** (1 / 3) + 30, 4)
    assert parts["spend"].points == round(20 * spend, 2)


def test_a_component_is_capped_at_its_target_and_the_window_cuts_old_days():
    days = _days(("count:purchase", 0, "9"), ("count:purchase", 60, "5"))
    e = engagement_at(PROGRAM, days, D)
    assert {c.id: c.share for c in e.components}["purchases"] == 1.0  # 9 of 4: capped
    old = _days(("count:purchase", 60, "5"))  # 60 days ago: outside the 60-day window
    parts = {c.id: c for c in engagement_at(PROGRAM, old, D).components}
    assert parts["purchases"].value == 0.0
    assert parts["recency"].value == 60  # recency's window is a year


def test_levels_fall_as_time_passes_without_activity():
    days = _days(("count:purchase", 0, "4"), ("spend", 0, "200"))
    levels = [engagement_at(PROGRAM, days, D + timedelta(days=n)).level for n in range(0, 120)]
    assert levels[0] == "highly_engaged"  # 50 + 30 + 20 = 100
    first = {lv: levels.index(lv) for lv in dict.fromkeys(levels)}
    assert list(first) == ["highly_engaged", "moderately_engaged", "at_risk", "disengaged"]
    # the day the level first drops is what the worker waits for
    assert drops_on(PROGRAM, days, D) == D + timedelta(days=first["moderately_engaged"])
    at_risk_day = D + timedelta(days=first["at_risk"])
    assert drops_on(PROGRAM, days, at_risk_day - timedelta(days=1)) == at_risk_day
    assert drops_on(PROGRAM, days, D + timedelta(days=first["disengaged"])) is None  # lowest


def test_days_after_the_moment_are_not_counted():
    """A late event's rules see the member as of the event's own day."""
    days = _days(("count:purchase", 0, "1"), ("count:purchase", 20, "1"))
    earlier = engagement_at(PROGRAM, days, D - timedelta(days=20))
    only_then = engagement_at(PROGRAM, _days(("count:purchase", 20, "1")), D - timedelta(days=20))
    assert earlier == only_then


def test_a_late_event_counts_exactly_as_if_it_had_come_on_time():
    on_time = _days(("count:purchase", 12, "1"), ("count:purchase", 3, "1"))
    late: dict[tuple[str, date], Decimal] = {}
    late[("count:purchase", D - timedelta(days=3))] = Decimal(1)
    late[("count:purchase", D - timedelta(days=12))] = Decimal(1)  # added after the younger
    assert engagement_at(PROGRAM, late, D) == engagement_at(PROGRAM, on_time, D)


def test_what_would_raise_the_score_most():
    days = _days(("count:review", 0, "1"))  # recency already full
    best = best_raise(PROGRAM, days, D)
    # one more purchase: 30 * 1/4 = 7.5 points of purchases and 20 * 50/200 = 5 of spend; a
    # review would add nothing (recency is full)
    assert best is not None and best.event_type == "purchase"
    assert best.component == "purchases" and best.points == 12.5
    full = _days(("count:purchase", 0, "4"), ("spend", 0, "200"))
    assert best_raise(PROGRAM, full, D) is None  # nothing left to gain


@pytest.mark.parametrize("ago", [0, 7, 29, 61, 200])
def test_the_score_never_rises_without_activity(ago: int):
    days = _days(("count:purchase", ago, "2"), ("spend", ago, "80"), ("count:review", 3, "1"))
    scores = [engagement_at(PROGRAM, days, D + timedelta(days=n)).score for n in range(90)]
    assert scores == sorted(scores, reverse=True)


def test_the_settled_level_and_its_fall_agree_with_the_score_day_by_day():
    """`settled` (what each event and the worker store) computes the fall from precomputed
    decayed sums; on random members it agrees with `engagement_at` read day by day."""
    import random

    from service.core.engagement import settled

    rng = random.Random(16)
    for _ in range(60):
        rows = []
        for _ in range(rng.randint(0, 12)):
            ago = rng.randint(0, 200)
            rows.append(("count:purchase", ago, "1"))
            rows.append(("spend", ago, str(rng.randint(5, 150))))
            if rng.random() < 0.3:
                rows.append(("count:review", ago, "1"))
        days = _days(*rows)
        score, level, falls = settled(PROGRAM, days, D)
        today = engagement_at(PROGRAM, days, D)
        assert (score, level) == (today.score, today.level)
        levels = [engagement_at(PROGRAM, days, D + timedelta(days=n)).level for n in range(400)]
        lower = next(
            (n for n, lv in enumerate(levels) if PROGRAM.rank(lv) < PROGRAM.rank(level)), None
        )
        assert falls == (None if lower is None else D + timedelta(days=lower)), rows
