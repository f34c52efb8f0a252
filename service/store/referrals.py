"""SQL for referral codes (a small global lookup) and referrals (keyed by the referee)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import referral_codes, referrals

__all__ = [
    "add_reversed",
    "code_of",
    "fetch_referral",
    "insert_code",
    "is_deadlock",
    "link",
    "mark_rewarded",
    "member_of_code",
    "referrals_of",
    "rewarded_count",
]

_r = referrals.c
_CODE_OF = compile_query(
    select(referral_codes.c.code).where(referral_codes.c.member_id == bindparam("member_id"))
)
_MEMBER_OF = compile_query(
    select(referral_codes.c.member_id).where(referral_codes.c.code == bindparam("code"))
)
_INSERT_CODE = compile_query(
    insert(referral_codes)
    .values(code=bindparam("code"), member_id=bindparam("member_id"))
    .on_conflict_do_nothing()
    .returning(referral_codes.c.code)
)
_FETCH = compile_query(select(referrals).where(_r.member_id == bindparam("member_id")))
_LINK = compile_query(
    insert(referrals).values(
        member_id=bindparam("member_id"),
        referrer_id=bindparam("referrer_id"),
        code=bindparam("code"),
        linked_at=bindparam("at"),
        link_event_id=bindparam("event_id"),
    )
)
_REWARDED = compile_query(
    update(referrals)
    .where(_r.member_id == bindparam("member_id"))
    .values(
        order_id=bindparam("order_id"),
        rewarded_at=bindparam("at"),
        referee_points=bindparam("referee_points"),
        referrer_points=bindparam("referrer_points"),
    )
)
_REVERSED = compile_query(
    update(referrals)
    .where(_r.member_id == bindparam("member_id"))
    .values(referrer_reversed=_r.referrer_reversed + bindparam("points"))
)
_COUNT = compile_query(
    select(func.count()).where(_r.referrer_id == bindparam("referrer_id"), _r.referrer_points > 0)
)
_OF = compile_query(
    select(_r.member_id, _r.linked_at, _r.rewarded_at, _r.referrer_points, _r.referrer_reversed)
    .where(_r.referrer_id == bindparam("referrer_id"))
    .order_by(_r.linked_at)
)


async def code_of(conn: Connection, member_id: str) -> str | None:
    """The member's referral code, if made."""
    value = await conn.fetchval(_CODE_OF, {"member_id": member_id})
    return str(value) if value is not None else None


async def member_of_code(conn: Connection, code: str) -> str | None:
    """Who owns a code."""
    value = await conn.fetchval(_MEMBER_OF, {"code": code})
    return str(value) if value is not None else None


async def insert_code(conn: Connection, code: str, member_id: str) -> bool:
    """Store a code for the member; False if the code or the member already has one."""
    return await conn.fetchval(_INSERT_CODE, {"code": code, "member_id": member_id}) is not None


async def fetch_referral(conn: Connection, referee_id: str) -> Any:
    """The referral of a referee, or None."""
    return await conn.fetchrow(_FETCH, {"member_id": referee_id})


async def link(
    conn: Connection, referee_id: str, referrer_id: str, code: str, at: datetime, event_id: str
) -> None:
    """Link a referee to their referrer (once: the primary key is the referee)."""
    await conn.execute(
        _LINK,
        {
            "member_id": referee_id,
            "referrer_id": referrer_id,
            "code": code,
            "at": at,
            "event_id": event_id,
        },
    )


async def mark_rewarded(
    conn: Connection,
    referee_id: str,
    order_id: str,
    at: datetime,
    referee_points: int,
    referrer_points: int,
) -> None:
    """Record the rewards given for the referee's qualifying purchase."""
    await conn.execute(
        _REWARDED,
        {
            "member_id": referee_id,
            "order_id": order_id,
            "at": at,
            "referee_points": referee_points,
            "referrer_points": referrer_points,
        },
    )


async def add_reversed(conn: Connection, referee_id: str, points: int) -> None:
    """Count referrer points taken back after a refund."""
    await conn.execute(_REVERSED, {"member_id": referee_id, "points": points})


async def rewarded_count(conn: Connection, referrer_id: str) -> int:
    """How many referees have earned this referrer points (the cap counts them)."""
    return int(await conn.fetchval(_COUNT, {"referrer_id": referrer_id}))


async def referrals_of(conn: Connection, referrer_id: str) -> list[Any]:
    """The referrer's referees, oldest first."""
    return await conn.fetch(_OF, {"referrer_id": referrer_id})


def is_deadlock(exc: BaseException) -> bool:
    """True for PostgreSQL's deadlock abort (the transaction may simply be run again)."""
    return isinstance(exc, asyncpg.exceptions.DeadlockDetectedError)
