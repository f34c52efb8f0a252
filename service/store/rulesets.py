"""SQL for published rulesets and the one active version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import active_ruleset, rulesets

__all__ = ["CHANNEL", "activate", "fetch_active", "fetch_active_version", "store_ruleset"]

CHANNEL = "loyalty_ruleset"
"""The NOTIFY channel every replica listens on to switch rulesets."""

_STORE = compile_query(
    insert(rulesets)
    .values(
        version=bindparam("version"),
        files=bindparam("files"),
        published_by=bindparam("published_by"),
    )
    .on_conflict_do_nothing(index_elements=[rulesets.c.version])
)
_ACTIVATE = compile_query(
    insert(active_ruleset)
    .values(singleton=True, version=bindparam("version"))
    .on_conflict_do_update(
        index_elements=[active_ruleset.c.singleton],
        set_={"version": bindparam("version"), "activated_at": func.now()},
    )
)
_NOTIFY = compile_query(select(func.pg_notify(CHANNEL, bindparam("version"))))
_ACTIVE_VERSION = compile_query(select(active_ruleset.c.version, active_ruleset.c.activated_at))
_ACTIVE = compile_query(
    select(rulesets.c.version, rulesets.c.files, active_ruleset.c.activated_at).join(
        active_ruleset, active_ruleset.c.version == rulesets.c.version
    )
)
_LOCK = text("SELECT pg_advisory_xact_lock(7284014)")


async def store_ruleset(
    conn: Connection, *, version: str, files: dict[str, str], published_by: str | None
) -> None:
    """Keep a ruleset's exact files (once per version)."""
    await conn.execute(_STORE, {"version": version, "files": files, "published_by": published_by})


async def activate(conn: Connection, version: str) -> None:
    """Make `version` the active one and tell every replica, when the transaction commits."""
    await conn.raw.execute(str(_LOCK))
    await conn.execute(_ACTIVATE, {"version": version})
    await conn.fetchval(_NOTIFY, {"version": version})


async def fetch_active_version(conn: Connection) -> Any:
    """(version, activated_at) of the active ruleset, or None."""
    return await conn.fetchrow(_ACTIVE_VERSION)


async def fetch_active(conn: Connection) -> Any:
    """(version, files, activated_at) of the active ruleset, or None."""
    return await conn.fetchrow(_ACTIVE)
