"""SQL for single reads: one stored event with its answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, select

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import events

__all__ = ["StoredEventRow", "fetch_event"]

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


class StoredEventRow(msgspec.Struct, frozen=True, kw_only=True):
    """A member's stored event with the answer it got (`result`, as stored JSON)."""

    member_id: str
    event_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    attributes: dict[str, Any]
    ruleset_version: str | None
    result: dict[str, Any]


async def fetch_event(conn: Connection, member_id: str, event_id: str) -> StoredEventRow | None:
    """The member's stored event `event_id` with the answer it got, or None."""
    row = await conn.fetchrow(_EVENT, {"member_id": member_id, "event_id": event_id})
    return None if row is None else StoredEventRow(**row)
