"""Periods in the program's time zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.core.clock import FixedClock, SystemClock
from service.core.periods import period_bounds, period_key

BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("day", "2026-11-23"),
        ("week", "2026-W48"),
        ("month", "2026-11"),
        ("year", "2026"),
        ("lifetime", "lifetime"),
    ],
)
def test_period_keys(period: str, expected: str) -> None:
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert period_key(period, at, BERLIN) == expected  # type: ignore[arg-type]


def test_an_instant_late_in_the_utc_day_is_already_tomorrow_in_berlin() -> None:
    at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert period_key("day", at, BERLIN) == "2027-01-01"
    assert period_key("year", at, BERLIN) == "2027"
    assert period_key("day", at, "UTC") == "2026-12-31"


def test_iso_week_crosses_the_year() -> None:
    assert period_key("week", datetime(2027, 1, 1, 12, tzinfo=UTC), BERLIN) == "2026-W53"


def test_spring_forward_day_is_23_hours_long() -> None:
    # 2026-03-29: clocks in Berlin go from 02:00 to 03:00 (last Sunday of March).
    start, end = period_bounds("day", "2026-03-29", BERLIN)
    assert end - start == timedelta(hours=23)
    assert start.astimezone(UTC) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_fall_back_day_is_25_hours_long() -> None:
    # 2026-10-25: clocks in Berlin go from 03:00 back to 02:00 (last Sunday of October).
    start, end = period_bounds("day", "2026-10-25", BERLIN)
    assert end - start == timedelta(hours=25)
    assert start.astimezone(UTC) == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)


def test_the_week_of_the_october_change_is_one_hour_longer() -> None:
    start, end = period_bounds("week", datetime(2026, 10, 25, 12, tzinfo=UTC), BERLIN)
    assert (start, end) == (
        datetime(2026, 10, 18, 22, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
    )
    assert end - start == timedelta(days=7, hours=1)


@pytest.mark.parametrize("period", ["day", "week", "month", "year"])
def test_bounds_contain_the_instant_and_agree_with_the_key(period: str) -> None:
    for hours in range(0, 24 * 400, 37):
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours)
        start, end = period_bounds(period, at, BERLIN)  # type: ignore[arg-type]
        assert start <= at < end
        key = period_key(period, at, BERLIN)  # type: ignore[arg-type]
        assert period_key(period, start, BERLIN) == key  # type: ignore[arg-type]
        assert period_key(period, end - timedelta(microseconds=1), BERLIN) == key  # type: ignore[arg-type]
        assert period_key(period, end, BERLIN) != key  # type: ignore[arg-type]


def test_month_bounds_in_december_roll_into_next_year() -> None:
    start, end = period_bounds("month", "2026-12", BERLIN)
    assert (start, end) == (
        datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
    )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        period_key("day", datetime(2026, 1, 1), BERLIN)


def test_fixed_clock_stands_still_until_advanced() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(minutes=15)) == datetime(2026, 1, 1, 0, 15, tzinfo=UTC)
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    assert clock.now().year == 2027
    assert SystemClock().now().tzinfo is UTC
