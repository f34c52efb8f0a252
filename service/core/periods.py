"""Calendar periods (day, ISO week, month, year, lifetime) in a given IANA time zone.

A period key names the period an instant falls in, as seen on the wall clock of a time zone, so a
late event lands in the period of its occurrence. Bounds are half-open: `start <= t < end`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = ["Period", "local_date", "period_bounds", "period_key"]

Period = Literal["day", "week", "month", "year", "lifetime"]
_LIFETIME_START = datetime(1970, 1, 1, tzinfo=UTC)
_LIFETIME_END = datetime(9999, 12, 31, tzinfo=UTC)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: a time zone is required")


@lru_cache(maxsize=4096)
def local_date(at: datetime, tz: str) -> date:
    """The date of the instant `at` on the wall clock of zone `tz` (memoised: a decision asks
    it of the same instants many times)."""
    return at.astimezone(ZoneInfo(tz)).date()


def period_key(period: Period, at: datetime, tz: str) -> str:
    """Name the `period` that the instant `at` falls in, on the wall clock of zone `tz`."""
    _require_aware(at)
    return _period_key(period, at, tz)


@lru_cache(maxsize=4096)
def _period_key(period: Period, at: datetime, tz: str) -> str:
    # Memoised: one decision names the periods of the same instant many times (caps, boards,
    # challenge windows), and the time zone conversion is most of the cost. Equal instants
    # are equal keys whatever their zone, and their wall clock in `tz` is the same.
    local = at.astimezone(ZoneInfo(tz))
    if period == "day":
        return local.date().isoformat()
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if period == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if period == "year":
        return f"{local.year:04d}"
    if period == "lifetime":
        return "lifetime"
    raise ValueError(f"unknown period {period!r}")


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    # In UTC, so that `end - start` is elapsed time (Python subtracts same-zone datetimes by wall
    # clock, which would call a 23-hour spring-forward day 24 hours long).
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _first_and_next_day(period: Period, key: str) -> tuple[date, date]:
    if period == "day":
        first = date.fromisoformat(key)
        return first, first + timedelta(days=1)
    if period == "week":
        year_text, week_text = key.split("-W")
        first = date.fromisocalendar(int(year_text), int(week_text), 1)
        return first, first + timedelta(days=7)
    if period == "month":
        year_text, month_text = key.split("-")
        year, month = int(year_text), int(month_text)
        first = date(year, month, 1)
        return first, date(year + month // 12, month % 12 + 1, 1)
    if period == "year":
        year = int(key)
        return date(year, 1, 1), date(year + 1, 1, 1)
    raise ValueError(f"unknown period {period!r}")


def period_bounds(period: Period, key_or_at: str | datetime, tz: str) -> tuple[datetime, datetime]:
    """Return the half-open `[start, end)` of a period, in UTC, given its key or an instant in it.

    Start and end are local midnights of zone `tz`, so a day may last 23 or 25 hours.
    """
    if period == "lifetime":
        return _LIFETIME_START, _LIFETIME_END
    key = key_or_at if isinstance(key_or_at, str) else period_key(period, key_or_at, tz)
    zone = ZoneInfo(tz)
    try:
        first, following = _first_and_next_day(period, key)
    except ValueError as exc:
        raise ValueError(f"bad {period} key {key!r}: {exc}") from exc
    return _local_midnight(first, zone), _local_midnight(following, zone)
