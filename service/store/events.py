"""SQL for stored events (idempotency and replays) and purchase orders (refunds)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import events, member_counters, orders

__all__ = ["fetch_order", "insert_event", "insert_order", "save_order"]

_event = insert(events).values(
    member_id=bindparam("member_id"),
    event_id=bindparam("event_id"),
    type=bindparam("type"),
    occurred_at=bindparam("occurred_at"),
    received_at=bindparam("received_at"),
    body_hash=bindparam("body_hash"),
    attributes=bindparam("attributes"),
    ruleset_version=bindparam("ruleset_version"),
    result=bindparam("result"),
)
_count = insert(member_counters).values(
    member_id=bindparam("member_id"),
    event_type=bindparam("type"),
    count=1,
    last_at=bindparam("occurred_at"),
)
# Storing an event also counts it for its member (rules read member.purchases): one round trip.
_INSERT = compile_query(
    _event.add_cte(
        _count.on_conflict_do_update(
            index_elements=[member_counters.c.member_id, member_counters.c.event_type],
            set_={
                "count": member_counters.c.count + 1,
                "last_at": func.greatest(member_counters.c.last_at, _count.excluded.last_at),
            },
        ).cte("counted")
    )
)


async def insert_event(
    conn: Connection,
    *,
    member_id: str,
    event_id: str,
    type: str,
    occurred_at: datetime,
    received_at: datetime,
    body_hash: str,
    attributes: Any,
    ruleset_version: str,
    result: Any,
) -> None:
    """Store an accepted event with the answer it got, and count it in the member's counters."""
    await conn.execute(
        _INSERT,
        {
            "member_id": member_id,
            "event_id": event_id,
            "type": type,
            "occurred_at": occurred_at,
            "received_at": received_at,
            "body_hash": body_hash,
            "attributes": attributes,
            "ruleset_version": ruleset_version,
            "result": result,
        },
    )


_ORDER = compile_query(
    select(orders).where(
        orders.c.member_id == bindparam("member_id"), orders.c.order_id == bindparam("order_id")
    )
)
_order = insert(orders).values(
    member_id=bindparam("member_id"),
    order_id=bindparam("order_id"),
    purchase_event_id=bindparam("purchase_event_id"),
    amount=bindparam("amount"),
    points_earned=bindparam("points_earned"),
    refunded_amount=bindparam("refunded_amount"),
    points_reversed=bindparam("points_reversed"),
)
_SAVE_ORDER = compile_query(
    _order.on_conflict_do_update(
        index_elements=[orders.c.member_id, orders.c.order_id],
        set_={
            "refunded_amount": _order.excluded.refunded_amount,
            "points_reversed": _order.excluded.points_reversed,
        },
    )
)

# A purchase's order, unless the member has one with this id: one round trip for the check and
# the write (RETURNING answers nothing on a conflict).
_INSERT_ORDER = compile_query(
    _order.on_conflict_do_nothing(index_elements=[orders.c.member_id, orders.c.order_id]).returning(
        orders.c.order_id
    )
)


async def insert_order(
    conn: Connection,
    *,
    member_id: str,
    order_id: str,
    purchase_event_id: str,
    amount: Decimal,
    points_earned: int,
) -> bool:
    """Record a new purchase order; False (nothing written) when the member has it already."""
    row = await conn.fetchrow(
        _INSERT_ORDER,
        {
            "member_id": member_id,
            "order_id": order_id,
            "purchase_event_id": purchase_event_id,
            "amount": amount,
            "points_earned": points_earned,
            "refunded_amount": Decimal(0),
            "points_reversed": 0,
        },
    )
    return row is not None


async def fetch_order(conn: Connection, member_id: str, order_id: str) -> Any:
    """The purchase order row, or None."""
    return await conn.fetchrow(_ORDER, {"member_id": member_id, "order_id": order_id})


async def save_order(
    conn: Connection,
    *,
    member_id: str,
    order_id: str,
    purchase_event_id: str,
    amount: Decimal,
    points_earned: int,
    refunded_amount: Decimal,
    points_reversed: int,
) -> None:
    """Record a purchase, or a refund's running totals on it."""
    await conn.execute(
        _SAVE_ORDER,
        {
            "member_id": member_id,
            "order_id": order_id,
            "purchase_event_id": purchase_event_id,
            "amount": amount,
            "points_earned": points_earned,
            "refunded_amount": refunded_amount,
            "points_reversed": points_reversed,
        },
    )
