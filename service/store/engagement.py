"""SQL for engagement levels: the members whose level falls by time alone (the worker's pass)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import member_engagement

__all__ = ["members_drifting"]

_DUE = compile_query(
    select(member_engagement.c.member_id)
    .where(member_engagement.c.drops_at <= bindparam("now"))
    .order_by(member_engagement.c.drops_at, member_engagement.c.member_id)
    .limit(bindparam("limit"))
)


async def members_drifting(conn: Connection, now: datetime, limit: int) -> list[str]:
    """Members whose engagement level falls by `now` with no new event (oldest due first)."""
    rows = await conn.fetch(_DUE, {"now": now, "limit": limit})
    return [row["member_id"] for row in rows]
