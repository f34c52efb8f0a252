"""SQL for API keys."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import bindparam, func, insert, select, update

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import api_keys

__all__ = [
    "ActiveKey",
    "StoredKey",
    "fetch_key",
    "insert_key",
    "list_keys",
    "mark_used",
    "revoke_key",
    "revoke_key_id",
]


class ActiveKey(msgspec.Struct, frozen=True, kw_only=True):
    """An active key as a request is checked against it: its secret only as a hash."""

    key_id: str
    name: str
    secret_hash: str
    scopes: list[str]
    last_used_at: datetime | None


class StoredKey(msgspec.Struct, frozen=True, kw_only=True):
    """A key as listed, revoked or not, without its hash."""

    key_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    created_by: str | None
    last_used_at: datetime | None


_INSERT = compile_query(
    insert(api_keys).values(
        key_id=bindparam("key_id"),
        name=bindparam("name"),
        secret_hash=bindparam("secret_hash"),
        scopes=bindparam("scopes"),
        created_by=bindparam("created_by"),
    )
)
_FETCH = compile_query(
    select(
        api_keys.c.key_id,
        api_keys.c.name,
        api_keys.c.secret_hash,
        api_keys.c.scopes,
        api_keys.c.last_used_at,
    ).where(api_keys.c.key_id == bindparam("key_id"), api_keys.c.revoked_at.is_(None))
)
_LIST = compile_query(
    select(
        api_keys.c.key_id,
        api_keys.c.name,
        api_keys.c.scopes,
        api_keys.c.created_at,
        api_keys.c.revoked_at,
        api_keys.c.created_by,
        api_keys.c.last_used_at,
    ).order_by(api_keys.c.created_at, api_keys.c.key_id)
)
_REVOKE = compile_query(
    update(api_keys)
    .where(api_keys.c.name == bindparam("name"), api_keys.c.revoked_at.is_(None))
    .values(revoked_at=func.now())
)
_REVOKE_ID = compile_query(
    update(api_keys)
    .where(api_keys.c.key_id == bindparam("key_id"), api_keys.c.revoked_at.is_(None))
    .values(revoked_at=func.now())
)
_USED = compile_query(
    update(api_keys).where(api_keys.c.key_id == bindparam("key_id")).values(last_used_at=func.now())
)


async def insert_key(
    conn: Connection,
    *,
    key_id: str,
    name: str,
    secret_hash: str,
    scopes: list[str],
    created_by: str | None = None,
) -> None:
    """Store a new key (its secret only as a hash); `created_by` names the key that made it."""
    await conn.execute(
        _INSERT,
        {
            "key_id": key_id,
            "name": name,
            "secret_hash": secret_hash,
            "scopes": scopes,
            "created_by": created_by,
        },
    )


async def fetch_key(conn: Connection, key_id: str) -> ActiveKey | None:
    """The active key with this id, or None."""
    row = await conn.fetchrow(_FETCH, {"key_id": key_id})
    return None if row is None else ActiveKey(**row)


async def list_keys(conn: Connection) -> list[StoredKey]:
    """Every key, oldest first, without hashes."""
    return [StoredKey(**row) for row in await conn.fetch(_LIST)]


async def revoke_key(conn: Connection, name: str) -> bool:
    """Revoke the active key with this name; False if there was none."""
    return (await conn.execute(_REVOKE, {"name": name})).endswith(" 1")


async def revoke_key_id(conn: Connection, key_id: str) -> bool:
    """Revoke the active key with this id; False if there was none."""
    return (await conn.execute(_REVOKE_ID, {"key_id": key_id})).endswith(" 1")


async def mark_used(conn: Connection, key_id: str) -> None:
    """Record that the key was just used."""
    await conn.execute(_USED, {"key_id": key_id})
