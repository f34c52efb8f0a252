"""SQL for the program's daily figures (`program_rollups`): the reports' reads (summed over the
shards), and their direct computation from the ledger, the lots, the orders and the histories
(`loyalty reports verify` compares the two; `loyalty reports rebuild` replaces the rollups with
it, e.g. once after upgrading a database that has history).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec

from service.store.database import Connection

__all__ = [
    "Figure",
    "Total",
    "computed",
    "figures",
    "fold_shards",
    "rebuild",
    "stored",
    "top_balances",
    "totals",
]


class Figure(msgspec.Struct, frozen=True):
    """One figure of one day (summed over shards)."""

    metric: str
    day: date
    key: str
    value: Decimal


class Total(msgspec.Struct, frozen=True):
    """A figure summed over every day up to a moment (a running total)."""

    metric: str
    key: str
    value: Decimal


class TopBalance(msgspec.Struct, frozen=True):
    member_id: str
    display_name: str | None
    available: int
    pending: int
    lifetime_earned: int


_FIGURES = """
SELECT metric, day, key, sum(value) AS value FROM program_rollups
WHERE metric = ANY($1::text[]) AND day >= $2 AND day <= $3
GROUP BY metric, day, key HAVING sum(value) <> 0 ORDER BY day, metric, key
"""

_TOTALS = """
SELECT metric, key, sum(value) AS value FROM program_rollups
WHERE metric = ANY($1::text[]) AND day <= $2
GROUP BY metric, key HAVING sum(value) <> 0 ORDER BY metric, key
"""

_TOP = """
SELECT b.member_id, m.display_name, b.available, b.pending, b.lifetime_earned
FROM balances b JOIN members m ON m.member_id = b.member_id
ORDER BY b.available DESC, b.member_id LIMIT $1
"""


async def figures(conn: Connection, metrics: list[str], since: date, until: date) -> list[Figure]:
    """The figures `metrics` of each day from `since` to `until` (both included)."""
    rows = await conn.raw.fetch(_FIGURES, metrics, since, until)
    return [Figure(r["metric"], r["day"], r["key"], r["value"]) for r in rows]


async def totals(conn: Connection, metrics: list[str], until: date) -> list[Total]:
    """Each of `metrics` per key, summed over every day up to `until` (included)."""
    rows = await conn.raw.fetch(_TOTALS, metrics, until)
    return [Total(r["metric"], r["key"], r["value"]) for r in rows]


async def top_balances(conn: Connection, limit: int) -> list[TopBalance]:
    """The members holding the most available points (ties: member id)."""
    rows = await conn.raw.fetch(_TOP, limit)
    return [TopBalance(**dict(r)) for r in rows]


# The figures computed from the source tables, with $1 the program's time zone. Each branch
# says the same as service.decide.rollups, from what the saves left behind.
_COMPUTED = """
WITH entries AS (
  SELECT e.*, (e.at AT TIME ZONE $1)::date AS day FROM ledger_entries e
), active AS (
  SELECT DISTINCT ev.member_id, (ev.occurred_at AT TIME ZONE $1)::date AS day FROM events ev
), active_weeks AS (
  SELECT DISTINCT member_id, date_trunc('week', day)::date AS week FROM active
), figures AS (
  SELECT balance AS metric, day, '' AS key, points::numeric AS value FROM entries
  UNION ALL
  SELECT CASE kind WHEN 'activate' THEN 'pending' ELSE 'held' END, day, '', -points
  FROM entries WHERE kind IN ('activate', 'hold', 'release')
  UNION ALL SELECT 'earned', day, coalesce(rule_id, ''), points FROM entries WHERE kind = 'earn'
  UNION ALL
  SELECT 'spent', e.day, coalesce(r.reward_id, ''), -e.points FROM entries e
  LEFT JOIN redemptions r ON r.member_id = e.member_id AND r.redemption_id = e.redemption_id
  WHERE e.kind = 'spend'
  UNION ALL
  SELECT DISTINCT ON (e.member_id, e.redemption_id, e.day) 'redemptions', e.day,
    coalesce(r.reward_id, ''), 1 FROM entries e
  LEFT JOIN redemptions r ON r.member_id = e.member_id AND r.redemption_id = e.redemption_id
  WHERE e.kind = 'spend'
  UNION ALL SELECT 'expired', day, '', -points FROM entries WHERE kind = 'expire'
  UNION ALL
  SELECT 'reversed', day, '', -points FROM entries WHERE kind = 'reverse' AND balance <> 'debt'
  UNION ALL
  SELECT 'adjusted', day, '', points FROM entries WHERE kind = 'adjust' AND balance = 'available'
  UNION ALL
  SELECT 'expiring', date_trunc('month', l.expires_at AT TIME ZONE $1)::date, '', l.remaining
  FROM lots l WHERE l.expires_at IS NOT NULL AND l.state <> 'expired' AND l.remaining > 0
  UNION ALL
  SELECT 'purchases', (ev.occurred_at AT TIME ZONE $1)::date, '', 1 FROM orders o
  JOIN events ev ON ev.member_id = o.member_id AND ev.event_id = o.purchase_event_id
  UNION ALL
  SELECT 'purchase_amount', (ev.occurred_at AT TIME ZONE $1)::date, '', o.amount FROM orders o
  JOIN events ev ON ev.member_id = o.member_id AND ev.event_id = o.purchase_event_id
  UNION ALL
  SELECT 'tier_members', DATE '1970-01-01', tier, 1 FROM member_tiers WHERE tier IS NOT NULL
  UNION ALL
  SELECT 'tier_moves', (at AT TIME ZONE $1)::date,
    coalesce(from_tier, '') || '>' || coalesce(to_tier, ''), 1 FROM tier_history
  WHERE from_tier IS DISTINCT FROM to_tier
  UNION ALL
  SELECT 'engagement_members', (at AT TIME ZONE $1)::date, from_level, -1
  FROM engagement_history WHERE from_level IS NOT NULL AND from_level IS DISTINCT FROM to_level
  UNION ALL
  SELECT 'engagement_members', (at AT TIME ZONE $1)::date, to_level, 1
  FROM engagement_history WHERE from_level IS DISTINCT FROM to_level
  UNION ALL
  SELECT 'engagement_moves', (at AT TIME ZONE $1)::date,
    coalesce(from_level, '') || '>' || to_level, 1 FROM engagement_history
  WHERE from_level IS DISTINCT FROM to_level
  UNION ALL
  SELECT 'exposures', (at AT TIME ZONE $1)::date, experiment_id || '/' || arm, 1
  FROM experiment_exposures
  UNION ALL
  SELECT 'exposure_points', (at AT TIME ZONE $1)::date, experiment_id || '/' || arm, points
  FROM experiment_exposures
  UNION ALL SELECT 'active_day', day, '', 1 FROM active
  UNION ALL SELECT 'active_week', week, '', 1 FROM active_weeks
  UNION ALL
  SELECT DISTINCT ON (member_id, date_trunc('month', day)) 'active_month',
    date_trunc('month', day)::date, '', 1 FROM active
  UNION ALL SELECT 'cohort_members', week, '', 1 FROM member_cohorts
  UNION ALL
  SELECT 'cohort_active', w.week, c.week::text, 1 FROM active_weeks w
  JOIN member_cohorts c ON c.member_id = w.member_id WHERE c.week <= w.week
)
SELECT metric, day, key, sum(value) AS value FROM figures
GROUP BY metric, day, key HAVING sum(value) <> 0
"""

_STORED = """
SELECT metric, day, key, sum(value) AS value FROM program_rollups
GROUP BY metric, day, key HAVING sum(value) <> 0
"""

# Fill what the saves would have written for history booked before the rollups existed: the
# members' active days from their events, and each member's cohort from their first event in
# decision order; then the figures, in shard 0. The table lock makes saves wait until commit.
_REBUILD = [
    "LOCK TABLE program_rollups IN EXCLUSIVE MODE",
    """INSERT INTO member_active_days (member_id, day)
    SELECT DISTINCT member_id, (occurred_at AT TIME ZONE $1)::date FROM events
    ON CONFLICT DO NOTHING""",
    """INSERT INTO member_cohorts (member_id, week)
    SELECT DISTINCT ON (member_id) member_id,
      date_trunc('week', (occurred_at AT TIME ZONE $1)::date)::date
    FROM events ORDER BY member_id, seq ON CONFLICT DO NOTHING""",
    "DELETE FROM program_rollups",
    "INSERT INTO program_rollups (metric, day, key, shard, value) "
    "SELECT metric, day, key, 0, value FROM (<computed>) c".replace("<computed>", _COMPUTED),
]


async def computed(conn: Connection, timezone: str) -> list[Figure]:
    """Every figure, computed from the source tables (a scan of the ledger: for checks)."""
    rows = await conn.raw.fetch(_COMPUTED, timezone)
    return [Figure(r["metric"], r["day"], r["key"], r["value"]) for r in rows]


async def stored(conn: Connection) -> list[Figure]:
    """Every figure as the rollups hold it (summed over shards)."""
    rows = await conn.raw.fetch(_STORED)
    return [Figure(r["metric"], r["day"], r["key"], r["value"]) for r in rows]


async def rebuild(conn: Connection, timezone: str) -> int:
    """Replace the rollups with the figures computed from the source tables (in the caller's
    transaction); the number of figure rows written."""
    for sql in _REBUILD[:-1]:
        await conn.raw.execute(sql, *([timezone] if "$1" in sql else []))
    status = await conn.raw.execute(_REBUILD[-1], timezone)
    return int(status.rsplit(" ", 1)[-1])


# A past day's figures need no shards (saves rarely add to them): one row each, so that a
# report reads a sixteenth of the rows. A save that adds to a folded row meanwhile inserts a
# shard row again (folded on the next pass). The fold never waits for a shard row (a row a
# save holds is skipped, and folded next pass), and it adds to shard 0 in the order saves lock
# rows: a save holds rows of its one shard only, so no save can wait for the fold while the
# fold waits for it (locking the rows as the DELETE met them deadlocked with saves of late
# events, which PostgreSQL found only after deadlock_timeout, a second, and aborted one).
_FOLD = """
WITH taken AS MATERIALIZED (
  SELECT metric, day, key, shard FROM program_rollups WHERE day < $1 AND shard <> 0
  FOR UPDATE SKIP LOCKED
), moved AS (
  DELETE FROM program_rollups p USING taken x
  WHERE p.metric = x.metric AND p.day = x.day AND p.key = x.key AND p.shard = x.shard
  RETURNING p.metric, p.day, p.key, p.value
)
INSERT INTO program_rollups AS t (metric, day, key, shard, value)
SELECT metric, day, key, 0, sum(value) FROM moved GROUP BY metric, day, key
ORDER BY metric, day, key
ON CONFLICT (metric, day, key, shard) DO UPDATE SET value = t.value + excluded.value
"""


async def fold_shards(conn: Connection, before: date) -> int:
    """Fold the shards of every day before `before` into shard 0; the rows that remain."""
    status = await conn.raw.execute(_FOLD, before)
    return int(status.rsplit(" ", 1)[-1])
