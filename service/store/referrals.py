"""SQL for referral codes (a small global lookup) and referrals (keyed by the referee)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import referral_codes, referrals

__all__ = [
    "Referee",
    "StoredReferral",
    "code_of",
    "fetch_referral",
    "insert_code",
    "is_deadlock",
    "referrals_of",
]


_r = referrals.c
_CODE_OF = compile_query(
    select(referral_codes.c.code).where(referral_codes.c.member_id == bindparam("member_id"))
)
_INSERT_CODE = compile_query(
    insert(referral_codes)
    .values(code=bindparam("code"), member_id=bindparam("member_id"))
    .on_conflict_do_nothing()
    .returning(referral_codes.c.code)
)
_FETCH = compile_query(select(referrals).where(_r.member_id == bindparam("member_id")))
_OF = compile_query(
    select(_r.member_id, _r.linked_at, _r.rewarded_at, _r.referrer_points, _r.referrer_reversed)
    .where(_r.referrer_id == bindparam("referrer_id"))
    .order_by(_r.linked_at)
)


async def code_of(conn: Connection, member_id: str) -> str | None:
    """The member's referral code, if made."""
    value = await conn.fetchval(_CODE_OF, {"member_id": member_id})
    return str(value) if value is not None else None


async def insert_code(conn: Connection, code: str, member_id: str) -> bool:
    """Store a code for the member; False if the code or the member already has one."""
    return await conn.fetchval(_INSERT_CODE, {"code": code, "member_id": member_id}) is not None


class StoredReferral(msgspec.Struct, frozen=True, kw_only=True):
    """A referee's link to their referrer (a `referrals` row), and what it paid."""

    member_id: str
    referrer_id: str
    code: str
    linked_at: datetime
    link_event_id: str
    order_id: str | None
    rewarded_at: datetime | None
    referee_points: int
    referrer_points: int
    referrer_reversed: int


class Referee(msgspec.Struct, frozen=True, kw_only=True):
    """One of a referrer's referees: when linked and rewarded, what the referrer got back."""

    member_id: str
    linked_at: datetime
    rewarded_at: datetime | None
    referrer_points: int
    referrer_reversed: int


async def fetch_referral(conn: Connection, referee_id: str) -> StoredReferral | None:
    """The referral of a referee, or None."""
    row = await conn.fetchrow(_FETCH, {"member_id": referee_id})
    return None if row is None else StoredReferral(**row)


async def referrals_of(conn: Connection, referrer_id: str) -> list[Referee]:
    """The referrer's referees, oldest first."""
    return [Referee(**row) for row in await conn.fetch(_OF, {"referrer_id": referrer_id})]


def is_deadlock(exc: BaseException) -> bool:
    """True for PostgreSQL's deadlock abort (the transaction may simply be run again)."""
    return isinstance(exc, asyncpg.exceptions.DeadlockDetectedError)
