"""SQL for single reads: one stored event with its answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import events

__all__ = ["fetch_event"]

_EVENT = compile_query(
    select(
        events.c.member_id,
        events.c.event_id,
        events.c.type,
        events.c.occurred_at,
        events.c.received_at,
        events.c.attributes,
        events.c.ruleset_version,
        events.c.result,
    ).where(
        events.c.member_id == bindparam("member_id"), events.c.event_id == bindparam("event_id")
    )
)


async def fetch_event(conn: Connection, member_id: str, event_id: str) -> Any:
    """The member's stored event `event_id` with the answer it got, or None."""
    return await conn.fetchrow(_EVENT, {"member_id": member_id, "event_id": event_id})
