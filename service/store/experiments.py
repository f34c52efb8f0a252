"""SQL for experiments: the splits as first published, and what the lift report reads (each
member's first exposure, their daily metrics in the window after it, the points given)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from service.store.database import Connection

__all__ = ["Exposure", "arm_of_member", "exposed_members", "record_splits", "stored_splits"]

_SPLITS = "SELECT experiment_id, split, started_at FROM experiments WHERE experiment_id = ANY($1)"
_START = """
INSERT INTO experiments (experiment_id, split, started_at, version)
SELECT x.id, x.split, now(), $3 FROM unnest($1::text[], $2::jsonb[]) AS x(id, split)
ON CONFLICT (experiment_id) DO NOTHING
"""

# Per member exposed: the arm and moment of the first exposure, the points the experiment's
# rule gave them, and over the window after it (local days, in the program's time zone): their
# purchases, purchase amount and events, and whether they had an event on day 30 or later.
_MEMBERS = """
WITH firsts AS (
  SELECT DISTINCT ON (x.member_id) x.member_id, x.arm, x.at,
         (x.at AT TIME ZONE $2::text)::date AS day
    FROM experiment_exposures x
   WHERE x.experiment_id = $1
   ORDER BY x.member_id, x.at, x.event_id
)
SELECT f.member_id, f.arm, f.at,
       coalesce(sum(d.value) FILTER (WHERE d.metric = 'count:purchase'), 0)::float8 AS purchases,
       coalesce(sum(d.value) FILTER (WHERE d.metric = 'spend'), 0)::float8 AS amount,
       coalesce(sum(d.value) FILTER (WHERE d.metric LIKE 'count:%'), 0)::float8 AS events,
       coalesce(bool_or(d.metric LIKE 'count:%' AND d.value > 0 AND d.day >= f.day + 30), false)
         AS retained,
       (SELECT coalesce(sum(x.points), 0) FROM experiment_exposures x
         WHERE x.member_id = f.member_id AND x.experiment_id = $1 AND x.given
           AND x.at < f.at + make_interval(days => $3::int))::float8 AS cost
  FROM firsts f
  LEFT JOIN tier_metric_days d
    ON d.member_id = f.member_id AND d.day >= f.day AND d.day < f.day + $3::int
   AND (d.metric LIKE 'count:%' OR d.metric = 'spend')
 GROUP BY f.member_id, f.arm, f.at, f.day
"""

_ARM = """
SELECT arm, at FROM experiment_exposures
 WHERE member_id = $1 AND experiment_id = $2 ORDER BY at, event_id LIMIT 1
"""


async def stored_splits(conn: Connection, ids: list[str]) -> dict[str, tuple[Any, datetime]]:
    """The split and start of the experiments already started among `ids`."""
    rows = await conn.raw.fetch(_SPLITS, ids)
    return {r["experiment_id"]: (r["split"], r["started_at"]) for r in rows}


async def record_splits(
    conn: Connection, splits: Mapping[str, dict[str, int]], version: str
) -> None:
    """Record the experiments not started yet (arm -> basis points), as of this version."""
    if splits:
        await conn.raw.execute(_START, list(splits), list(splits.values()), version)


async def exposed_members(
    conn: Connection, experiment_id: str, timezone: str, window_days: int
) -> list[Any]:
    """Each exposed member's first exposure and what they did in the window after it."""
    return list(await conn.raw.fetch(_MEMBERS, experiment_id, timezone, window_days))


class Exposure(msgspec.Struct, frozen=True, kw_only=True):
    """A member's first exposure to an experiment: the arm, and when."""

    arm: str
    at: datetime


async def arm_of_member(conn: Connection, member_id: str, experiment_id: str) -> Exposure | None:
    """The member's first exposure, or None."""
    row = await conn.raw.fetchrow(_ARM, member_id, experiment_id)
    return None if row is None else Exposure(**row)
