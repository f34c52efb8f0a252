"""Pure gamification core: tier lapses on rolling windows, streak units across DST, challenge
steps, and the loader's checks of the new sections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from service.core.challenges import ChallengeProgress, advance
from service.core.metrics import PointsEarned, Spend
from service.core.streaks import streak_status, unit_of
from service.core.tiers import TierLevel, TierProgram, TierState, lapse_at, review_tier
from service.engine import Ruleset, RulesetInvalid

LADDER = (TierLevel("base", "Base", 0), TierLevel("gold", "Gold", 100, 1.5))


def test_rolling_tier_lapses_when_the_window_no_longer_holds_it_plus_grace() -> None:
    program = TierProgram(PointsEarned(), LADDER, "Europe/Berlin", rolling_days=30, grace_days=5)
    days = {date(2026, 3, 1): 60.0, date(2026, 3, 10): 60.0}
    # 1 March drops out on 31 March: 60 < 100; plus 5 days' grace, at Berlin midnight (CEST)
    assert lapse_at(program, LADDER[1], days, date(2026, 3, 10)) == datetime(
        2026, 4, 4, 22, 0, tzinfo=UTC
    )
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    up = review_tier(program, TierState(), days, now)
    assert up.state.tier == "gold" and [m.to_tier for m in up.moves] == ["gold"]
    later = review_tier(program, up.state, days, datetime(2026, 4, 5, tzinfo=UTC))
    assert later.state.tier == "base" and "Gold lapsed" in later.moves[0].reason


def test_calendar_tier_is_kept_through_grace_and_requalifying_extends_it() -> None:
    program = TierProgram(Spend(), LADDER, "UTC", grace_days=10)
    gold = TierState("gold", datetime(2026, 5, 1, tzinfo=UTC), datetime(2027, 1, 11, tzinfo=UTC))
    days = {date(2026, 5, 1): 150.0}
    held = review_tier(program, gold, days, datetime(2027, 1, 5, tzinfo=UTC))
    assert held.state == gold and held.moves == ()
    days[date(2027, 1, 6)] = 120.0
    again = review_tier(program, gold, days, datetime(2027, 1, 6, tzinfo=UTC))
    assert again.state.held_until == datetime(2028, 1, 11, tzinfo=UTC) and again.moves == ()


def test_streak_days_are_local_days_across_the_spring_forward_night() -> None:
    # 00:30 Berlin on 29 March (CET) and on 30 March (CEST): consecutive local days
    before = unit_of("day", datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "Europe/Berlin")
    after = unit_of("day", datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "Europe/Berlin")
    assert (before, after) == (date(2026, 3, 29), date(2026, 3, 30))
    status = streak_status([before, after], after, "day", 0)
    assert status.current == 2


def test_freezes_are_per_month_of_the_missed_day() -> None:
    start = date(2026, 3, 27)
    days = [start + timedelta(days=i) for i in (0, 1, 3, 4, 6)]  # misses 29 March and 1 April
    status = streak_status(days, days[-1], "day", 1)
    assert status.current == 5 and status.frozen == (date(2026, 3, 29), date(2026, 4, 1))
    assert status.freezes_used_this_month == 1
    assert streak_status(days, days[-1], "day", 0).current == 1


def test_weekly_streak_units_are_mondays() -> None:
    weeks = [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 23)]
    assert streak_status(weeks, date(2026, 3, 23), "week", 1).current == 3
    assert unit_of("week", datetime(2026, 3, 8, 23, 30, tzinfo=UTC), "Europe/Berlin") == date(
        2026, 3, 9
    )


def test_challenge_steps_complete_in_order_and_once() -> None:
    state, done = advance((2, 1), ChallengeProgress(), 5)
    assert state == ChallengeProgress(1, 0) and not done  # no carry-over into step 2
    state, done = advance((2, 1), state, 1)
    assert state.completed and done
    assert advance((2, 1), state, 1) == (state, False)


def test_loader_checks_the_new_sections(make_ruleset: Callable[..., Ruleset]) -> None:
    with pytest.raises(RulesetInvalid) as refused:
        make_ruleset(
            """
challenges:
  - id: c
    name: C
    every: week
    steps: [{on: purchse, count: 2}]
    reward: {points: 10, badge: nope}
streaks:
  - {id: s, name: S, on: [checkin], milestones: [{length: 7}, {length: 3}]}
rules:
  - {id: r, on: purchase, actions: [{challenge: {id: cc}}]}
"""
        )
    messages = [p.message for p in refused.value.problems]
    assert "unknown event type 'purchse' (did you mean 'purchase'?)" in messages
    assert any(m.startswith("undeclared badge 'nope'") for m in messages)
    assert "milestone lengths must be positive and rising" in messages
    assert "undeclared challenge 'cc'" in messages


def test_progress_beyond_a_shortened_challenge_stays_on_its_last_step() -> None:
    """A ruleset published mid-window with fewer steps must not break the member's events."""
    stored = ChallengeProgress(step=2, progress=3)
    assert stored.within(2) == ChallengeProgress(step=1, progress=3)
    assert stored.within(3) is stored
    state, done = advance([5, 4], stored.within(2), 1)
    assert (state, done) == (ChallengeProgress(1, 4, True), True)
