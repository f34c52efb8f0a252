"""SQL for reading redemptions, reward stock and coupon pools.

Redemptions are written by the pipeline's save with the member's row lock held; a reward's
stock row is locked by the load of a redemption that takes from it, and a free pool code is
taken `FOR UPDATE SKIP LOCKED` (`member_sets`), so stock and codes hold under concurrency.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import (
    DateTime,
    Text,
    bindparam,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert

from service.decide.state import Redemption
from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import coupon_codes, redemptions, reward_stock

__all__ = [
    "fetch",
    "find_expired_holds",
    "page",
    "seed_pool",
    "stock_issued",
]


_r = redemptions.c
_member = _r.member_id == bindparam("member_id")
_held = _r.status == literal_column("'held'")  # inline, so the partial index on holds applies

_BY_ID = compile_query(
    select(redemptions).where(_member, _r.redemption_id == bindparam("redemption_id"))
)
_BY_ID_LOCKED = compile_query(
    select(redemptions)
    .where(_member, _r.redemption_id == bindparam("redemption_id"))
    .with_for_update()
)
_FIND_EXPIRED = compile_query(
    select(_r.member_id)
    .where(_held, _r.hold_expires_at <= bindparam("now"))
    .order_by(_r.hold_expires_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
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
_ISSUED = compile_query(select(_s.reward_id, _s.issued))

_codes = bindparam("codes", type_=ARRAY(Text))
_SEED = compile_query(
    insert(coupon_codes)
    .from_select(
        ["reward_id", "code"],
        select(bindparam("reward_id", type_=Text), func.unnest(_codes)),
    )
    .on_conflict_do_nothing()
)


def _redemption(row: Any) -> Redemption:
    """A redemptions row as the decision step's value."""
    fields = dict(row)
    fields.pop("member_id", None)
    return msgspec.convert(fields, Redemption)


async def fetch(
    conn: Connection, member_id: str, redemption_id: str, *, for_update: bool = False
) -> Redemption | None:
    """One redemption (row-locked with `for_update`), or None."""
    query = _BY_ID_LOCKED if for_update else _BY_ID
    row = await conn.fetchrow(query, {"member_id": member_id, "redemption_id": redemption_id})
    return None if row is None else _redemption(row)


async def find_expired_holds(conn: Connection, now: datetime, limit: int) -> list[str]:
    """Members with timed-out holds (rows another transaction holds are skipped)."""
    rows = await conn.fetch(_FIND_EXPIRED, {"now": now, "limit": limit})
    return list(dict.fromkeys(row["member_id"] for row in rows))


async def page(
    conn: Connection, member_id: str, before: tuple[datetime, str] | None, limit: int
) -> list[Redemption]:
    """Up to `limit` redemptions, newest first, older than `before` (created_at, id)."""
    if before is None:
        rows = await conn.fetch(_FIRST_PAGE, {"member_id": member_id, "limit": limit})
    else:
        params = {"member_id": member_id, "before_at": before[0], "before_id": before[1]}
        rows = await conn.fetch(_PAGE, {**params, "limit": limit})
    return [_redemption(row) for row in rows]


async def stock_issued(conn: Connection) -> dict[str, int]:
    """Units handed out per stocked reward."""
    return {row["reward_id"]: row["issued"] for row in await conn.fetch(_ISSUED)}


async def seed_pool(conn: Connection, reward_id: str, codes: Sequence[str]) -> None:
    """Add a reward's pool codes that are not stored yet (issued ones are left alone)."""
    await conn.execute(_SEED, {"reward_id": reward_id, "codes": list(codes)})
