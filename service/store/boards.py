"""SQL for leaderboards: member scores, the bucketed score histogram, top N, rank and neighbours.

Board order is (score desc, reached_at, member_id), stored all-ascending as (neg_score, reached_at,
member_id) in `ix_board_scores_order`, so "ahead of me" is one row comparison over one index
range. A rank is the histogram's count of members in higher buckets plus an index count bounded by
the member's own bucket; see service.core.boards.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from service.core.boards import GROUP_SIZE, BucketChange
from service.store.database import Connection
from service.store.sql import Query

__all__ = [
    "BoardRow",
    "MemberStanding",
    "Neighbourhood",
    "apply_bucket_changes",
    "member_standing_row",
    "neighbourhood",
    "replace_histogram",
    "score_counts",
    "top_rows",
]


_APPLY_BUCKETS = Query(
    sql="""
INSERT INTO board_buckets AS h (board_id, period_key, segment, level, bucket, shard, members)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::int[], $6::int[],
                     $7::bigint[])
ON CONFLICT (board_id, period_key, segment, level, bucket, shard) DO UPDATE
SET members = h.members + excluded.members
""",
    names=("board_ids", "period_keys", "segments", "levels", "buckets", "shards", "members"),
)

_TOP = Query(
    sql="""
SELECT s.member_id, s.score, m.display_name, m.hidden
FROM board_scores s JOIN members m ON m.member_id = s.member_id
WHERE s.board_id = $1 AND s.period_key = $2 AND s.segment = $3
ORDER BY s.neg_score, s.reached_at, s.member_id
LIMIT $4
""",
    names=("board_id", "period_key", "segment", "limit"),
)

_MEMBER_ROW = Query(
    sql="""
SELECT m.display_name, m.hidden, seg.segment, s.score, s.neg_score, s.reached_at
FROM members m
CROSS JOIN LATERAL (
  SELECT coalesce($4::text, CASE WHEN $5::text IS NULL THEN '' ELSE m.attributes ->> $5::text END)
    AS segment
) seg
LEFT JOIN board_scores s
  ON s.member_id = m.member_id AND s.board_id = $2 AND s.period_key = $3
 AND s.segment = seg.segment
WHERE m.member_id = $1
""",
    names=("member_id", "board_id", "period_key", "segment", "segment_attr"),
)

_NEIGHBOURHOOD = Query(
    sql="""
WITH g AS (
  SELECT coalesce(sum(members) FILTER (WHERE bucket > $11), 0)::bigint AS above,
         coalesce(sum(members), 0)::bigint AS total
  FROM board_buckets
  WHERE board_id = $1 AND period_key = $2 AND segment = $3 AND level = 1
), b AS (
  SELECT coalesce(sum(members), 0)::bigint AS above
  FROM board_buckets
  WHERE board_id = $1 AND period_key = $2 AND segment = $3 AND level = 0
    AND bucket > $4 AND bucket < $10
)
SELECT g.above + b.above AS above, g.total,
  (SELECT count(*) FROM board_scores s
    WHERE s.board_id = $1 AND s.period_key = $2 AND s.segment = $3 AND s.neg_score > $5
      AND (s.neg_score, s.reached_at, s.member_id) < ($6, $7, $8)) AS inside,
  (SELECT coalesce(json_agg(x), '[]') FROM (
     SELECT s.member_id, s.score, m.display_name, m.hidden
     FROM board_scores s JOIN members m ON m.member_id = s.member_id
     WHERE s.board_id = $1 AND s.period_key = $2 AND s.segment = $3
       AND (s.neg_score, s.reached_at, s.member_id) < ($6, $7, $8)
     ORDER BY s.neg_score DESC, s.reached_at DESC, s.member_id DESC
     LIMIT $9) x) AS above_rows,
  (SELECT coalesce(json_agg(x), '[]') FROM (
     SELECT s.member_id, s.score, m.display_name, m.hidden
     FROM board_scores s JOIN members m ON m.member_id = s.member_id
     WHERE s.board_id = $1 AND s.period_key = $2 AND s.segment = $3
       AND (s.neg_score, s.reached_at, s.member_id) > ($6, $7, $8)
     ORDER BY s.neg_score, s.reached_at, s.member_id
     LIMIT $9) x) AS below_rows
FROM g CROSS JOIN b
""",
    names=(
        "board_id",
        "period_key",
        "segment",
        "bucket",
        "neg_high",
        "neg_score",
        "reached_at",
        "member_id",
        "around",
        "group_end",
        "group",
    ),
)

_SCORE_COUNTS = Query(
    sql="""
SELECT score, count(*) AS members FROM board_scores
WHERE board_id = $1 AND period_key = $2 AND segment = $3
GROUP BY score
""",
    names=("board_id", "period_key", "segment"),
)

_CLEAR_HISTOGRAM = Query(
    sql="DELETE FROM board_buckets WHERE board_id = $1 AND period_key = $2 AND segment = $3",
    names=("board_id", "period_key", "segment"),
)


class MemberStanding(msgspec.Struct, frozen=True, kw_only=True):
    """A member's name and visibility, the segment looked in, and their score there (None:
    not on the board) with its order key (`neg_score`, `reached_at`)."""

    display_name: str | None
    hidden: bool
    segment: str
    score: int | None
    neg_score: int | None
    reached_at: datetime | None


class BoardRow(msgspec.Struct, frozen=True):
    """A member on a board, with what a board shows of them."""

    member_id: str
    score: int
    display_name: str | None
    hidden: bool


class Neighbourhood(msgspec.Struct, frozen=True):
    """Counts for a rank and the members just above (nearest first) and below."""

    in_higher_buckets: int
    ahead_in_bucket: int
    total: int
    above: list[BoardRow]
    below: list[BoardRow]


async def apply_bucket_changes(conn: Connection, changes: Sequence[BucketChange]) -> None:
    """Add the changes to the histogram counters, in the given (sorted) order."""
    await conn.execute(
        _APPLY_BUCKETS,
        {
            "board_ids": [c.board_id for c in changes],
            "period_keys": [c.period_key for c in changes],
            "segments": [c.segment for c in changes],
            "levels": [c.level for c in changes],
            "buckets": [c.bucket for c in changes],
            "shards": [c.shard for c in changes],
            "members": [c.members for c in changes],
        },
    )


async def top_rows(
    conn: Connection, board_id: str, period_key: str, segment: str, limit: int
) -> list[BoardRow]:
    """The first `limit` members of a board, in board order."""
    rows = await conn.fetch(
        _TOP, {"board_id": board_id, "period_key": period_key, "segment": segment, "limit": limit}
    )
    return [BoardRow(r["member_id"], r["score"], r["display_name"], r["hidden"]) for r in rows]


async def member_standing_row(
    conn: Connection,
    member_id: str,
    board_id: str,
    period_key: str,
    segment: str | None,
    segment_attr: str | None,
) -> MemberStanding | None:
    """The member's profile bits, the segment used (the given one, else the member's attribute
    value), and their score row on it (score None when not on the board); None: no member."""
    row = await conn.fetchrow(
        _MEMBER_ROW,
        {
            "member_id": member_id,
            "board_id": board_id,
            "period_key": period_key,
            "segment": segment,
            "segment_attr": segment_attr,
        },
    )
    return None if row is None else MemberStanding(**row)


async def neighbourhood(
    conn: Connection,
    *,
    board_id: str,
    period_key: str,
    segment: str,
    bucket: int,
    group_end: int,
    bucket_high: int,
    member_id: str,
    neg_score: int,
    reached_at: datetime,
    around: int,
) -> Neighbourhood:
    """Members ahead (groups above, buckets above in the own group, own bucket), the
    board's size, and `around` neighbours each way."""
    row = await conn.fetchrow(
        _NEIGHBOURHOOD,
        {
            "board_id": board_id,
            "period_key": period_key,
            "segment": segment,
            "bucket": bucket,
            "neg_high": -bucket_high,
            "neg_score": neg_score,
            "reached_at": reached_at,
            "member_id": member_id,
            "around": around,
            "group_end": group_end,
            "group": group_end // GROUP_SIZE - 1,
        },
    )
    return Neighbourhood(
        in_higher_buckets=int(row["above"]),
        ahead_in_bucket=int(row["inside"]),
        total=int(row["total"]),
        above=msgspec.convert(row["above_rows"], list[BoardRow]),
        below=msgspec.convert(row["below_rows"], list[BoardRow]),
    )


async def score_counts(
    conn: Connection, board_id: str, period_key: str, segment: str
) -> list[tuple[int, int]]:
    """(score, members with it) for one board, period and segment."""
    rows = await conn.fetch(
        _SCORE_COUNTS, {"board_id": board_id, "period_key": period_key, "segment": segment}
    )
    return [(int(r["score"]), int(r["members"])) for r in rows]


async def replace_histogram(
    conn: Connection, board_id: str, period_key: str, segment: str, changes: Sequence[BucketChange]
) -> None:
    """Replace one board period's histogram by `changes` (run with writers stopped)."""
    await conn.execute(
        _CLEAR_HISTOGRAM, {"board_id": board_id, "period_key": period_key, "segment": segment}
    )
    if changes:
        await apply_bucket_changes(conn, changes)
