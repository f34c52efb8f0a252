"""SQL for tiers: the member's tier row, its history, and per-day qualifying metrics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import member_tiers

__all__ = [
    "members_due",
]


_DUE = compile_query(
    select(member_tiers.c.member_id)
    .where(member_tiers.c.held_until <= bindparam("now"))
    .order_by(member_tiers.c.held_until)
    .limit(bindparam("limit"))
)


async def members_due(conn: Connection, now: datetime, limit: int) -> list[str]:
    """Members whose tier lapses by `now` (the worker reviews them)."""
    rows = await conn.fetch(_DUE, {"now": now, "limit": limit})
    return [row["member_id"] for row in rows]
