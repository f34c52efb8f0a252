"""One round trip for a member's gamification state: tier and its metric days, challenge
windows, streaks, the referral link, badge levels and the latest tier moves.

An event reads all of these under the member's lock, and `GET /v1/me` most of them; reading
them in one statement instead of one each saves a round trip per table, which is what an event
costs most (see docs/benchmarks.md). What is not asked for is skipped inside the statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from service.core.challenges import ChallengeProgress
from service.core.tiers import TierMove, TierState
from service.engine import StreakHistory
from service.store.database import Connection

__all__ = [
    "ProgressRead",
    "ProgressRows",
    "parse_progress",
    "progress_args",
    "progress_columns",
    "read_progress",
]

# The progress columns, with `$1` the member and `{p2}`..`{p8}` the other parameters, so that they
# can stand alone (`read_progress`) or follow the ledger state's columns in one statement.
_GAME_COLUMNS = """
  (SELECT json_build_object('tier', t.tier, 'since', t.since, 'held_until', t.held_until)
     FROM member_tiers t WHERE t.member_id = $1 AND {p2}::text IS NOT NULL) AS tier,
  (SELECT coalesce(json_agg(json_build_array(d.day, d.value)), '[]')
     FROM tier_metric_days d
     WHERE {p2}::text IS NOT NULL AND d.member_id = $1 AND d.metric = {p2} AND d.day >= {p3}::date)
     AS metric_days,
  (SELECT coalesce(json_agg(json_build_array(
            c.challenge_id, c.window_key, c.step, c.progress, c.completed_at IS NOT NULL)), '[]')
     FROM challenge_progress c
     WHERE c.member_id = $1 AND c.window_key = ANY({p4}::text[])) AS challenges,
  (SELECT coalesce(json_agg(json_build_array(u.streak_id, u.unit) ORDER BY u.unit), '[]')
     FROM streak_units u
     WHERE {p5}::date IS NOT NULL AND u.member_id = $1 AND u.unit >= {p5}::date) AS streak_units,
  (SELECT coalesce(json_agg(json_build_array(s.streak_id, s.longest, s.run_start, s.rewarded)),
            '[]')
     FROM member_streaks s WHERE {p5}::date IS NOT NULL AND s.member_id = $1) AS streaks,
  (SELECT json_build_object('referrer_id', r.referrer_id, 'rewarded', r.rewarded_at IS NOT NULL)
     FROM referrals r WHERE {p6} AND r.member_id = $1) AS referral,
  (SELECT coalesce(json_object_agg(b.badge_id, b.level), '{{}}')
     FROM member_badges b WHERE {p7} AND b.member_id = $1) AS badge_levels,
  (SELECT coalesce(json_agg(json_build_array(h.from_tier, h.to_tier, h.at, h.reason)
            ORDER BY h.seq DESC), '[]')
     FROM (SELECT * FROM tier_history WHERE {p8}::int > 0 AND member_id = $1
           ORDER BY seq DESC LIMIT {p8}::int) h) AS tier_history,
  (SELECT coalesce(json_agg(json_build_array(d.metric, d.day, d.value::text)), '[]')
     FROM tier_metric_days d
     WHERE {p10}::date IS NOT NULL AND d.member_id = $1 AND d.metric = ANY({p9}::text[])
       AND d.day >= {p10}::date) AS engagement_days
"""


def progress_columns(first: int) -> str:
    """The progress columns for a statement whose `$1` is the member and whose other progress
    parameters (`progress_args`) start at `$first`."""
    return _GAME_COLUMNS.format(**{f"p{k}": f"${first + k - 2}" for k in range(2, 11)})


_GAME_SQL = "SELECT" + progress_columns(2)


class ProgressRead(msgspec.Struct, frozen=True, kw_only=True):
    """What to read; everything left at its default is skipped."""

    tier_metric: str | None = None
    """Read the tier row and this metric's days from `metric_since` on."""
    metric_since: date | None = None
    challenge_keys: Sequence[str] = ()
    """Challenge progress in these window keys."""
    streak_since: date | None = None
    """Read the streaks, with their units from this day on."""
    referral: bool = False
    badge_levels: bool = False
    tier_history: int = 0
    """How many of the latest tier moves to read."""
    engagement_metrics: Sequence[str] = ()
    engagement_since: date | None = None
    """Read the engagement score's daily metrics from this day on."""


class ChallengeRow(msgspec.Struct, frozen=True, array_like=True):
    """A challenge window the member has progress in."""

    challenge_id: str
    window_key: str
    step: int
    progress: int
    completed: bool

    @property
    def state(self) -> ChallengeProgress:
        return ChallengeProgress(self.step, self.progress, self.completed)


class _StreakRow(msgspec.Struct, frozen=True, array_like=True):
    streak_id: str
    longest: int
    run_start: date | None
    rewarded: int


class _MoveRow(msgspec.Struct, frozen=True, array_like=True):
    from_tier: str | None
    to_tier: str | None
    at: datetime
    reason: str


class ReferralRow(msgspec.Struct, frozen=True):
    """Who referred the member, and whether that referral was rewarded already."""

    referrer_id: str
    rewarded: bool


class ProgressRows(msgspec.Struct, frozen=True, kw_only=True):
    """What `read_progress` found (empty where not asked for)."""

    tier: TierState
    metric_days: dict[date, float]
    challenges: list[ChallengeRow]
    streaks: dict[str, StreakHistory]
    referral: ReferralRow | None
    badge_levels: dict[str, int]
    tier_history: list[TierMove]
    engagement_days: dict[tuple[str, date], Decimal] = {}


def progress_args(read: ProgressRead) -> list[Any]:
    """The parameters of `progress_columns`, in order (after the member)."""
    return [
        read.tier_metric,
        read.metric_since,
        list(read.challenge_keys),
        read.streak_since,
        read.referral,
        read.badge_levels,
        read.tier_history,
        list(read.engagement_metrics),
        read.engagement_since,
    ]


async def read_progress(conn: Connection, member_id: str, read: ProgressRead) -> ProgressRows:
    """Read what `read` asks for about one member, in one statement."""
    return parse_progress(await conn.raw.fetchrow(_GAME_SQL, member_id, *progress_args(read)))


def parse_progress(row: Any) -> ProgressRows:
    """The progress state in a row holding `progress_columns`."""
    units: dict[str, list[date]] = {}
    for streak_id, unit in row["streak_units"]:
        units.setdefault(streak_id, []).append(date.fromisoformat(unit))
    streaks = {
        s.streak_id: StreakHistory(
            tuple(units.get(s.streak_id, ())), s.longest, s.run_start, s.rewarded
        )
        for s in msgspec.convert(row["streaks"], list[_StreakRow], strict=False)
    }
    moves = msgspec.convert(row["tier_history"], list[_MoveRow], strict=False)
    return ProgressRows(
        tier=msgspec.convert(row["tier"] or {}, TierState, strict=False),
        metric_days={date.fromisoformat(day): float(value) for day, value in row["metric_days"]},
        challenges=msgspec.convert(row["challenges"], list[ChallengeRow], strict=False),
        streaks=streaks,
        referral=None
        if row["referral"] is None
        else msgspec.convert(row["referral"], ReferralRow, strict=False),
        badge_levels={badge: int(level) for badge, level in row["badge_levels"].items()},
        tier_history=[TierMove(m.from_tier, m.to_tier, m.at, m.reason) for m in moves],
        engagement_days={
            (metric, date.fromisoformat(day)): Decimal(str(value))
            for metric, day, value in row["engagement_days"]
        },
    )
