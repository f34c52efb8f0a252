"""SQL for admin adjustments: the record of each correction and its stored answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import adjustments

__all__ = ["fetch_by_key", "insert_adjustment"]

_a = adjustments.c
_BY_KEY = compile_query(
    select(_a.request_hash, _a.result).where(
        _a.member_id == bindparam("member_id"),
        _a.idempotency_key == bindparam("idempotency_key"),
    )
)
_INSERT = compile_query(
    insert(adjustments).values(
        member_id=bindparam("member_id"),
        adjustment_id=bindparam("adjustment_id"),
        idempotency_key=bindparam("idempotency_key"),
        request_hash=bindparam("request_hash"),
        points=bindparam("points"),
        reason=bindparam("reason"),
        actor=bindparam("actor"),
        created_at=bindparam("created_at"),
        result=bindparam("result"),
    )
)


async def fetch_by_key(conn: Connection, member_id: str, idempotency_key: str) -> Any:
    """(request_hash, result) of the member's adjustment made with this key, or None."""
    return await conn.fetchrow(
        _BY_KEY, {"member_id": member_id, "idempotency_key": idempotency_key}
    )


async def insert_adjustment(
    conn: Connection,
    *,
    member_id: str,
    adjustment_id: str,
    idempotency_key: str | None,
    request_hash: str,
    points: int,
    reason: str,
    actor: str,
    created_at: datetime,
    result: Any,
) -> None:
    """Record an adjustment with the answer it got."""
    await conn.execute(
        _INSERT,
        {
            "member_id": member_id,
            "adjustment_id": adjustment_id,
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
            "points": points,
            "reason": reason,
            "actor": actor,
            "created_at": created_at,
            "result": result,
        },
    )
