"""SQL for the audit log of admin actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, insert, select

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import audit_log

__all__ = ["StoredAction", "append", "page"]

_APPEND = compile_query(
    insert(audit_log).values(
        actor=bindparam("actor"),
        key_id=bindparam("key_id"),
        action=bindparam("action"),
        method=bindparam("method"),
        path=bindparam("path"),
        status=bindparam("status"),
        detail=bindparam("detail"),
    )
)
_PAGE = compile_query(
    select(audit_log)
    .where(audit_log.c.id < bindparam("before"))
    .order_by(audit_log.c.id.desc())
    .limit(bindparam("limit"))
)


async def append(
    conn: Connection,
    *,
    actor: str,
    key_id: str | None,
    action: str,
    method: str,
    path: str,
    status: int,
    detail: dict[str, Any],
) -> None:
    """Record one admin action."""
    await conn.execute(
        _APPEND,
        {
            "actor": actor,
            "key_id": key_id,
            "action": action,
            "method": method,
            "path": path,
            "status": status,
            "detail": detail,
        },
    )


class StoredAction(msgspec.Struct, frozen=True, kw_only=True):
    """One admin action as the audit log keeps it."""

    id: int
    at: datetime
    actor: str
    key_id: str | None
    action: str
    method: str
    path: str
    status: int
    detail: dict[str, Any]


async def page(conn: Connection, before: int, limit: int) -> list[StoredAction]:
    """Actions numbered below `before`, newest first."""
    rows = await conn.fetch(_PAGE, {"before": before, "limit": limit})
    return [StoredAction(**row) for row in rows]
