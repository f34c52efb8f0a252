"""Leaderboards: a board's metric and period, period keys, score buckets, and rank from counts.

A board ranks its members by score (higher first), then by who reached that score first, then by
member id (so that the order is total). Rank is `1 + members ahead`, and the members ahead are
counted from a bucketed score histogram (whole buckets above the member's bucket) plus a bounded
index range scan inside the member's own bucket. The bucket layout is log-linear: exact buckets
for low scores, then 64 buckets per power of two (each at most ~1.6% wide), so a bucket's
population stays small where scores are sparse (the top) and no bucket spans a wide range.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Literal, assert_never

import msgspec

from service.core.metrics import EventCount, PointsEarned
from service.core.periods import period_key

__all__ = [
    "ANONYMOUS",
    "EXACT_BUCKETS",
    "GROUP_SIZE",
    "HISTOGRAM_SHARDS",
    "LIFETIME_KEY",
    "SUB_BUCKETS",
    "Board",
    "BoardMetric",
    "BoardPeriod",
    "BucketChange",
    "bucket_bounds",
    "bucket_changes",
    "bucket_of",
    "display_name",
    "group_of",
    "histogram_rows",
    "histogram_shard",
    "metric_delta",
    "parse_period_key",
    "period_key_for",
]

BoardPeriod = Literal["day", "week", "month", "lifetime"]
"""The periods a board ranks over: calendar ones of the program's wall clock, or its lifetime."""
LIFETIME_KEY = "all"
"""The key of a lifetime board's one period (as stored and as the API takes it)."""

BoardMetric = PointsEarned | EventCount
"""What a board can rank by."""


class Board(msgspec.Struct, frozen=True):
    """A leaderboard of the program; `segment` names the member attribute that splits it into
    one board per value."""

    id: str
    name: str
    metric: BoardMetric
    period: BoardPeriod
    segment: str | None = None


EXACT_BUCKETS = 128
"""Scores below this get one bucket each (many members share small scores)."""
SUB_BUCKETS = 64
"""Buckets per power of two above the exact range: each bucket is at most 1/64 (~1.6%) wide."""
_SUB_BITS = SUB_BUCKETS.bit_length() - 1
_FIRST_OCTAVE = EXACT_BUCKETS.bit_length() - 1  # 128 = 2**7: the first octave split in 64

HISTOGRAM_SHARDS = 8
"""Each bucket's counter is split over this many rows (chosen by member hash), so concurrent
events moving members into the same bucket do not queue on one row lock until commit."""

ANONYMOUS = "Anonymous member"

_WEEK_KEY = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")
_DAY_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def period_key_for(period: BoardPeriod, at: datetime, tz: str) -> str:
    """The key of the board period holding instant `at` on zone `tz`'s wall clock
    (`2026-03-02`, `2026-W10`, `2026-03`, or `all`)."""
    if period == "lifetime":
        return LIFETIME_KEY
    return period_key(period, at, tz)


def parse_period_key(period: BoardPeriod, key: str) -> str | None:
    """`key` if it names a valid period of this kind, else None."""
    if period == "lifetime":
        return key if key == LIFETIME_KEY else None
    try:
        if period == "day":
            if _DAY_KEY.match(key) is None:
                return None
            date.fromisoformat(key)
            return key
        if period == "week":
            week = _WEEK_KEY.match(key)
            if week is None:
                return None
            date.fromisocalendar(int(week[1]), int(week[2]), 1)
            return key
        month = _MONTH_KEY.match(key)
        if month is None or not 1 <= int(month[2]) <= 12:
            return None
        return key
    except ValueError:
        return None


def metric_delta(metric: BoardMetric, event_type: str, points_earned: int) -> int:
    """How much an event adds to a board's metric (0: the board is untouched)."""
    match metric:
        case PointsEarned():
            return max(points_earned, 0)
        case EventCount():
            return 1 if metric.event == event_type else 0
        case _:
            assert_never(metric)


def bucket_of(score: int) -> int:
    """The histogram bucket of a score; buckets grow with the score (monotonic)."""
    if score < EXACT_BUCKETS:
        return max(score, 0)
    octave = score.bit_length() - 1
    sub = (score >> (octave - _SUB_BITS)) - SUB_BUCKETS
    return EXACT_BUCKETS + (octave - _FIRST_OCTAVE) * SUB_BUCKETS + sub


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """The half-open score range `[low, high)` of a bucket (bucket 0 also holds scores < 0)."""
    if bucket < EXACT_BUCKETS:
        return bucket, bucket + 1
    octave, sub = divmod(bucket - EXACT_BUCKETS, SUB_BUCKETS)
    shift = octave + _FIRST_OCTAVE - _SUB_BITS
    return (SUB_BUCKETS + sub) << shift, (SUB_BUCKETS + sub + 1) << shift


def histogram_shard(member_id: str) -> int:
    """The counter row a member's histogram changes go to (stable per member)."""
    return zlib.crc32(member_id.encode()) % HISTOGRAM_SHARDS


GROUP_SIZE = 32
"""Buckets per group. The histogram has two levels: a counter per bucket (level 0) and one per
group of 32 consecutive buckets (level 1), so a rank sums a few group rows plus at most 31
bucket rows of the member's own group, instead of every bucket above."""


def group_of(bucket: int) -> int:
    """The level-1 group a bucket belongs to."""
    return bucket // GROUP_SIZE


class BucketChange(msgspec.Struct, frozen=True, order=True):
    """Add `members` (+1 or -1) to one histogram counter row (`bucket` is a group at level 1)."""

    board_id: str
    period_key: str
    segment: str
    level: int
    bucket: int
    shard: int
    members: int


def _moves_for(
    board_id: str, key: str, segment: str, shard: int, old: int | None, new: int
) -> list[BucketChange]:
    changes: list[BucketChange] = []
    for level, of in ((0, lambda b: b), (1, group_of)):
        new_slot = of(new)
        if old is not None:
            old_slot = of(old)
            if old_slot == new_slot:
                continue
            changes.append(BucketChange(board_id, key, segment, level, old_slot, shard, -1))
        changes.append(BucketChange(board_id, key, segment, level, new_slot, shard, 1))
    return changes


def bucket_changes(
    member_id: str, moves: Iterable[tuple[str, str, str, int, int]]
) -> list[BucketChange]:
    """Histogram changes for score moves `(board, period key, segment, old score, new score)`,
    where old score 0 means the member was not on the board. Sorted by row key, so that
    concurrent transactions lock counter rows in one order (no deadlocks)."""
    shard = histogram_shard(member_id)
    changes: list[BucketChange] = []
    for board_id, key, segment, old, new in moves:
        old_bucket = bucket_of(old) if old != 0 else None
        # most updates stay in their bucket: no counter row is touched at all
        changes.extend(_moves_for(board_id, key, segment, shard, old_bucket, bucket_of(new)))
    return sorted(changes)


def histogram_rows(
    board_id: str, key: str, segment: str, members_per_bucket: Mapping[int, int]
) -> list[BucketChange]:
    """Both histogram levels for whole-bucket counts (a rebuild; all in shard 0)."""
    groups: dict[int, int] = {}
    for bucket, members in members_per_bucket.items():
        groups[group_of(bucket)] = groups.get(group_of(bucket), 0) + members
    rows = [BucketChange(board_id, key, segment, 0, b, 0, n) for b, n in members_per_bucket.items()]
    rows += [BucketChange(board_id, key, segment, 1, g, 0, n) for g, n in groups.items()]
    return sorted(rows)


def display_name(member_id: str, name: str | None, hidden: bool, is_viewer: bool) -> str:
    """What a board shows for a member: their display name or a neutral `Member #NNNN`;
    `Anonymous member` for a hidden member seen by anyone but themselves."""
    if hidden and not is_viewer:
        return ANONYMOUS
    if name:
        return name
    return f"Member #{zlib.crc32(member_id.encode()) % 9000 + 1000}"
