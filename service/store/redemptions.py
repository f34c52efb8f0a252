"""SQL for redemptions, reward stock and coupon codes.

Redemption rows are member-owned (read and written with the member's row lock held); stock and
coupon codes are small reference tables kept right under concurrency by conditional updates
(`issued < stock`, `member_id IS NULL ... FOR UPDATE SKIP LOCKED`), never by reading first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Text,
    any_,
    bindparam,
    func,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import coupon_codes, redemptions, reward_stock

__all__ = [
    "claim_pool_code",
    "count_active",
    "expired_holds",
    "fetch",
    "fetch_by_key",
    "find_expired_holds",
    "insert_generated_code",
    "insert_redemption",
    "page",
    "return_code",
    "return_stock",
    "seed_pool",
    "settle",
    "stock_issued",
    "take_stock",
]

_r = redemptions.c
_member = _r.member_id == bindparam("member_id")
_held = _r.status == literal_column("'held'")  # inline, so the partial index on holds applies

_BY_KEY = compile_query(
    select(redemptions).where(_member, _r.idempotency_key == bindparam("idempotency_key"))
)
_BY_ID = compile_query(
    select(redemptions).where(_member, _r.redemption_id == bindparam("redemption_id"))
)
_BY_ID_LOCKED = compile_query(
    select(redemptions)
    .where(_member, _r.redemption_id == bindparam("redemption_id"))
    .with_for_update()
)
_EXPIRED_OF_MEMBER = compile_query(
    select(redemptions)
    .where(_member, _held, _r.hold_expires_at <= bindparam("now"))
    .order_by(_r.hold_expires_at, _r.redemption_id)
    .with_for_update()
)
_FIND_EXPIRED = compile_query(
    select(_r.member_id)
    .where(_held, _r.hold_expires_at <= bindparam("now"))
    .order_by(_r.hold_expires_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_COUNT_ACTIVE = compile_query(
    select(func.count())
    .select_from(redemptions)
    .where(
        _member,
        _r.reward_id == bindparam("reward_id"),
        or_(_r.status == "held", _r.status == "committed"),
    )
)
_INSERT = compile_query(
    insert(redemptions).values(
        member_id=bindparam("member_id"),
        redemption_id=bindparam("redemption_id"),
        idempotency_key=bindparam("idempotency_key"),
        request_hash=bindparam("request_hash"),
        reward_id=bindparam("reward_id"),
        points=bindparam("points"),
        status=bindparam("status"),
        coupon_code=bindparam("coupon_code"),
        created_at=bindparam("created_at"),
        hold_expires_at=bindparam("hold_expires_at"),
        settled_at=bindparam("settled_at"),
        draws=bindparam("draws"),
        reference=bindparam("reference"),
    )
)
_SETTLE = compile_query(
    update(redemptions)
    .where(_member, _r.redemption_id == bindparam("redemption_id"))
    .values(status=bindparam("status"), settled_at=bindparam("settled_at"))
)
_PAGE = compile_query(
    select(redemptions)
    .where(
        _member,
        tuple_(_r.created_at, _r.redemption_id)
        < tuple_(
            bindparam("before_at", type_=DateTime(timezone=True)),
            bindparam("before_id", type_=Text),
        ),
    )
    .order_by(_r.created_at.desc(), _r.redemption_id.desc())
    .limit(bindparam("limit"))
)
_FIRST_PAGE = compile_query(
    select(redemptions)
    .where(_member)
    .order_by(_r.created_at.desc(), _r.redemption_id.desc())
    .limit(bindparam("limit"))
)

_s = reward_stock.c
_ADD_STOCK_ROW = compile_query(
    insert(reward_stock).values(reward_id=bindparam("reward_id")).on_conflict_do_nothing()
)
_TAKE_STOCK = compile_query(
    update(reward_stock)
    .where(_s.reward_id == bindparam("reward_id"), _s.issued < bindparam("stock"))
    .values(issued=_s.issued + 1)
    .returning(_s.issued)
)
_RETURN_STOCK = compile_query(
    update(reward_stock)
    .where(_s.reward_id == bindparam("reward_id"), _s.issued > 0)
    .values(issued=_s.issued - 1)
)
_ISSUED = compile_query(select(_s.reward_id, _s.issued))

_c = coupon_codes.c
_codes = bindparam("codes", type_=ARRAY(Text))
_free_code = (
    select(_c.code)
    .where(
        _c.reward_id == bindparam("reward_id"),
        _c.member_id.is_(None),
        _c.code == any_(_codes),
    )
    .order_by(_c.code)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIM = compile_query(
    update(coupon_codes)
    .where(_c.reward_id == bindparam("reward_id"), _c.code == _free_code)
    .values(
        member_id=bindparam("member_id"),
        redemption_id=bindparam("redemption_id"),
        issued_at=bindparam("issued_at"),
    )
    .returning(_c.code)
)
_SEED = compile_query(
    insert(coupon_codes)
    .from_select(
        ["reward_id", "code"],
        select(bindparam("reward_id", type_=Text), func.unnest(_codes)),
    )
    .on_conflict_do_nothing()
)
_INSERT_CODE = compile_query(
    insert(coupon_codes)
    .values(
        reward_id=bindparam("reward_id"),
        code=bindparam("code"),
        member_id=bindparam("member_id"),
        redemption_id=bindparam("redemption_id"),
        issued_at=bindparam("issued_at"),
    )
    .on_conflict_do_nothing()
    .returning(_c.code)
)
_RETURN_CODE = compile_query(
    update(coupon_codes)
    .where(
        _c.reward_id == bindparam("reward_id"),
        _c.code == bindparam("code"),
        _c.redemption_id == bindparam("issued_to"),
    )
    .values(member_id=null(), redemption_id=null(), issued_at=null())
)


async def fetch_by_key(conn: Connection, member_id: str, idempotency_key: str) -> Any:
    """The member's redemption made with this Idempotency-Key, or None."""
    return await conn.fetchrow(
        _BY_KEY, {"member_id": member_id, "idempotency_key": idempotency_key}
    )


async def fetch(
    conn: Connection, member_id: str, redemption_id: str, *, for_update: bool = False
) -> Any:
    """One redemption (row-locked with `for_update`), or None."""
    query = _BY_ID_LOCKED if for_update else _BY_ID
    return await conn.fetchrow(query, {"member_id": member_id, "redemption_id": redemption_id})


async def expired_holds(conn: Connection, member_id: str, now: datetime) -> list[Any]:
    """The member's holds whose timeout has passed, row-locked, oldest first."""
    return await conn.fetch(_EXPIRED_OF_MEMBER, {"member_id": member_id, "now": now})


async def find_expired_holds(conn: Connection, now: datetime, limit: int) -> list[str]:
    """Members with timed-out holds (rows another transaction holds are skipped)."""
    rows = await conn.fetch(_FIND_EXPIRED, {"now": now, "limit": limit})
    return list(dict.fromkeys(row["member_id"] for row in rows))


async def count_active(conn: Connection, member_id: str, reward_id: str) -> int:
    """The member's held and committed redemptions of a reward."""
    count: int = await conn.fetchval(
        _COUNT_ACTIVE, {"member_id": member_id, "reward_id": reward_id}
    )
    return count


async def insert_redemption(conn: Connection, row: dict[str, Any]) -> None:
    """Store a new redemption (every column of `redemptions` but none defaulted)."""
    await conn.execute(_INSERT, row)


async def settle(
    conn: Connection, member_id: str, redemption_id: str, status: str, at: datetime
) -> None:
    """Move a held redemption to `committed`, `cancelled` or `expired`."""
    await conn.execute(
        _SETTLE,
        {
            "member_id": member_id,
            "redemption_id": redemption_id,
            "status": status,
            "settled_at": at,
        },
    )


async def page(
    conn: Connection, member_id: str, before: tuple[datetime, str] | None, limit: int
) -> list[Any]:
    """Up to `limit` redemptions, newest first, older than `before` (created_at, id)."""
    if before is None:
        return await conn.fetch(_FIRST_PAGE, {"member_id": member_id, "limit": limit})
    params = {"member_id": member_id, "before_at": before[0], "before_id": before[1]}
    return await conn.fetch(_PAGE, {**params, "limit": limit})


async def take_stock(conn: Connection, reward_id: str, stock: int) -> bool:
    """Hand out one unit of a stocked reward; False when all `stock` units are out."""
    await conn.execute(_ADD_STOCK_ROW, {"reward_id": reward_id})
    return await conn.fetchval(_TAKE_STOCK, {"reward_id": reward_id, "stock": stock}) is not None


async def return_stock(conn: Connection, reward_id: str) -> None:
    """Give back one unit of a reward (a cancelled or expired hold)."""
    await conn.execute(_RETURN_STOCK, {"reward_id": reward_id})


async def stock_issued(conn: Connection) -> dict[str, int]:
    """Units handed out per stocked reward."""
    return {row["reward_id"]: row["issued"] for row in await conn.fetch(_ISSUED)}


async def claim_pool_code(
    conn: Connection,
    reward_id: str,
    codes: Sequence[str],
    *,
    member_id: str,
    redemption_id: str,
    at: datetime,
) -> str | None:
    """Issue an unissued code of the pool `codes` to a redemption; None when none is free."""
    code: str | None = await conn.fetchval(
        _CLAIM,
        {
            "reward_id": reward_id,
            "codes": list(codes),
            "member_id": member_id,
            "redemption_id": redemption_id,
            "issued_at": at,
        },
    )
    return code


async def seed_pool(conn: Connection, reward_id: str, codes: Sequence[str]) -> None:
    """Add a reward's pool codes that are not stored yet (issued ones are left alone)."""
    await conn.execute(_SEED, {"reward_id": reward_id, "codes": list(codes)})


async def insert_generated_code(
    conn: Connection,
    reward_id: str,
    code: str,
    *,
    member_id: str,
    redemption_id: str,
    at: datetime,
) -> bool:
    """Record a newly generated code as issued; False if that code already exists."""
    stored = await conn.fetchval(
        _INSERT_CODE,
        {
            "reward_id": reward_id,
            "code": code,
            "member_id": member_id,
            "redemption_id": redemption_id,
            "issued_at": at,
        },
    )
    return stored is not None


async def return_code(conn: Connection, reward_id: str, code: str, redemption_id: str) -> None:
    """Put a code issued to a redemption back in the pool."""
    await conn.execute(
        _RETURN_CODE, {"reward_id": reward_id, "code": code, "issued_to": redemption_id}
    )
