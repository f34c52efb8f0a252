"""The shared rate-limit counters: one row per (credential hash, window start)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from service.store.database import Connection

__all__ = ["add_hits", "delete_windows_before"]

_ADD_SQL = """
INSERT INTO rate_limit_counts AS c (credential, window_start, hits)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[])
ON CONFLICT (credential, window_start) DO UPDATE SET hits = c.hits + excluded.hits
RETURNING credential, window_start, hits
"""

_DELETE_SQL = "DELETE FROM rate_limit_counts WHERE window_start < $1"


async def add_hits(
    conn: Connection, rows: Sequence[tuple[str, datetime, int]]
) -> list[tuple[str, datetime, int]]:
    """Add each row's hits to its window's counter; return every counter's new total."""
    if not rows:
        return []
    credentials, windows, hits = (list(column) for column in zip(*sorted(rows), strict=True))
    result = await conn.raw.fetch(_ADD_SQL, credentials, windows, hits)
    return [(r["credential"], r["window_start"], int(r["hits"])) for r in result]


async def delete_windows_before(conn: Connection, before: datetime) -> None:
    """Forget counters of windows that started before `before`."""
    await conn.raw.execute(_DELETE_SQL, before)
