"""SQL for member profiles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import members

__all__ = ["StoredProfile", "ensure_member", "fetch_member", "upsert_profile"]


class StoredProfile(msgspec.Struct, frozen=True, kw_only=True):
    """A member's profile as stored (`_PROFILE`)."""

    member_id: str
    display_name: str | None
    timezone: str | None
    birthday: date | None
    hidden: bool
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


_PROFILE = (
    members.c.member_id,
    members.c.display_name,
    members.c.timezone,
    members.c.birthday,
    members.c.hidden,
    members.c.attributes,
    members.c.created_at,
    members.c.updated_at,
)

_FETCH = compile_query(select(*_PROFILE).where(members.c.member_id == bindparam("member_id")))

_ENSURE = compile_query(
    insert(members)
    .values(member_id=bindparam("member_id"))
    .on_conflict_do_nothing(index_elements=[members.c.member_id])
)

_upsert = insert(members).values(
    member_id=bindparam("member_id"),
    display_name=bindparam("display_name"),
    timezone=bindparam("timezone"),
    birthday=bindparam("birthday"),
    hidden=func.coalesce(bindparam("hidden"), False),
    attributes=bindparam("attributes"),
)
_UPSERT = compile_query(
    _upsert.on_conflict_do_update(
        index_elements=[members.c.member_id],
        set_={
            "display_name": func.coalesce(_upsert.excluded.display_name, members.c.display_name),
            "timezone": func.coalesce(_upsert.excluded.timezone, members.c.timezone),
            "birthday": func.coalesce(_upsert.excluded.birthday, members.c.birthday),
            "hidden": func.coalesce(bindparam("hidden"), members.c.hidden),
            "attributes": members.c.attributes.op("||")(_upsert.excluded.attributes),
            "updated_at": func.now(),
            "version": members.c.version + 1,
        },
    ).returning(*_PROFILE)
)


async def fetch_member(conn: Connection, member_id: str) -> StoredProfile | None:
    """The member's profile, or None."""
    row = await conn.fetchrow(_FETCH, {"member_id": member_id})
    return None if row is None else StoredProfile(**row)


async def ensure_member(conn: Connection, member_id: str) -> None:
    """Create an empty member if none exists."""
    await conn.execute(_ENSURE, {"member_id": member_id})


async def upsert_profile(
    conn: Connection,
    *,
    member_id: str,
    display_name: str | None,
    timezone: str | None,
    birthday: Any,
    hidden: bool | None,
    attributes: dict[str, Any],
) -> StoredProfile:
    """Create or update a profile; omitted fields keep their value, attributes are merged."""
    row = await conn.fetchrow(
        _UPSERT,
        {
            "member_id": member_id,
            "display_name": display_name,
            "timezone": timezone,
            "birthday": birthday,
            "hidden": hidden,
            "attributes": attributes,
        },
    )
    return StoredProfile(**row)
