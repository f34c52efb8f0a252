"""SQL for published rulesets, the one active version and the history of activations."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import active_ruleset, ruleset_activations, rulesets

__all__ = [
    "CHANNEL",
    "ActiveVersion",
    "StoredActivation",
    "StoredRuleset",
    "StoredVersion",
    "VersionSummary",
    "activate",
    "fetch_activations",
    "fetch_active",
    "fetch_active_version",
    "fetch_version",
    "fetch_versions",
    "keep_rule_count",
    "store_ruleset",
    "versions_starting_with",
]

CHANNEL = "loyalty_ruleset"
"""The NOTIFY channel every replica listens on to switch rulesets."""


class ActiveVersion(msgspec.Struct, frozen=True, kw_only=True):
    """Which version is active, since when."""

    version: str
    activated_at: datetime


class StoredRuleset(ActiveVersion, frozen=True, kw_only=True):
    """The active version with its files (name -> YAML text)."""

    files: dict[str, str]


class VersionSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A stored version as listed (`_SUMMARY`): never its files' text."""

    version: str
    created_at: datetime
    published_by: str | None
    rule_count: int | None
    file_names: list[str] | None
    active: bool
    last_activated_at: datetime | None
    activations: int


class StoredVersion(VersionSummary, frozen=True, kw_only=True):
    """A stored version as listed, with its files (name -> YAML text)."""

    files: dict[str, str]


class StoredActivation(msgspec.Struct, frozen=True, kw_only=True):
    """One activation of a version: when, and by whom."""

    version: str
    activated_at: datetime
    activated_by: str | None


_STORE = compile_query(
    insert(rulesets)
    .values(
        version=bindparam("version"),
        files=bindparam("files"),
        published_by=bindparam("published_by"),
        rule_count=bindparam("rule_count"),
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
_RECORD_ACTIVATION = compile_query(
    insert(ruleset_activations).values(
        version=bindparam("version"), activated_by=bindparam("activated_by")
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

_history = ruleset_activations.alias("history")
_FILE_NAME = func.jsonb_object_keys(rulesets.c.files).column_valued("name")
_SUMMARY = (
    rulesets.c.version,
    rulesets.c.created_at,
    rulesets.c.published_by,
    rulesets.c.rule_count,
    select(func.array_agg(_FILE_NAME)).scalar_subquery().label("file_names"),
    active_ruleset.c.version.is_not(None).label("active"),
    select(func.max(_history.c.activated_at))
    .where(_history.c.version == rulesets.c.version)
    .scalar_subquery()
    .label("last_activated_at"),
    select(func.count())
    .select_from(_history)
    .where(_history.c.version == rulesets.c.version)
    .scalar_subquery()
    .label("activations"),
)
"""A version as listed: who stored it when, its file names and rule count, whether it is active
and how often and when last it was activated (never its files' text)."""
_WITH_ACTIVE = rulesets.outerjoin(active_ruleset, active_ruleset.c.version == rulesets.c.version)
_VERSIONS = compile_query(
    select(*_SUMMARY)
    .select_from(_WITH_ACTIVE)
    .order_by(rulesets.c.created_at.desc(), rulesets.c.version)
    .limit(bindparam("limit"))
)
_VERSION = compile_query(
    select(*_SUMMARY, rulesets.c.files)
    .select_from(_WITH_ACTIVE)
    .where(rulesets.c.version == bindparam("version"))
)
_STARTING_WITH = compile_query(
    select(rulesets.c.version)
    .where(rulesets.c.version.startswith(bindparam("prefix")))
    .order_by(rulesets.c.version)
    .limit(bindparam("limit"))
)
_ACTIVATIONS = compile_query(
    select(
        ruleset_activations.c.version,
        ruleset_activations.c.activated_at,
        ruleset_activations.c.activated_by,
    )
    .order_by(ruleset_activations.c.id.desc())
    .limit(bindparam("limit"))
)
_KEEP_RULE_COUNT = compile_query(
    update(rulesets)
    .where(rulesets.c.version == bindparam("version"), rulesets.c.rule_count.is_(None))
    .values(rule_count=bindparam("rule_count"))
)


async def store_ruleset(
    conn: Connection,
    *,
    version: str,
    files: dict[str, str],
    published_by: str | None,
    rule_count: int,
) -> None:
    """Keep a ruleset's exact files (once per version: the first publisher stays named)."""
    await conn.execute(
        _STORE,
        {
            "version": version,
            "files": files,
            "published_by": published_by,
            "rule_count": rule_count,
        },
    )


async def activate(conn: Connection, version: str, *, activated_by: str | None) -> None:
    """Make `version` the active one, add it to the history of activations, and tell every
    replica, when the transaction commits."""
    await conn.raw.execute(str(_LOCK))
    await conn.execute(_ACTIVATE, {"version": version})
    await conn.execute(_RECORD_ACTIVATION, {"version": version, "activated_by": activated_by})
    await conn.fetchval(_NOTIFY, {"version": version})


async def fetch_active_version(conn: Connection) -> ActiveVersion | None:
    """The active version and when it was activated, or None."""
    row = await conn.fetchrow(_ACTIVE_VERSION)
    return None if row is None else ActiveVersion(**row)


async def fetch_active(conn: Connection) -> StoredRuleset | None:
    """The active version with its files, or None."""
    row = await conn.fetchrow(_ACTIVE)
    return None if row is None else StoredRuleset(**row)


async def fetch_versions(conn: Connection, limit: int) -> list[VersionSummary]:
    """The `limit` newest stored versions (newest first), as `_SUMMARY` describes them."""
    return [VersionSummary(**row) for row in await conn.fetch(_VERSIONS, {"limit": limit})]


async def fetch_version(conn: Connection, version: str) -> StoredVersion | None:
    """One stored version as listed, with its `files` (name -> text); None if unknown."""
    row = await conn.fetchrow(_VERSION, {"version": version})
    return None if row is None else StoredVersion(**row)


async def versions_starting_with(conn: Connection, prefix: str, limit: int = 2) -> list[str]:
    """Stored versions that start with `prefix` (lower-case hex digits only), at most `limit`."""
    rows = await conn.fetch(_STARTING_WITH, {"prefix": prefix, "limit": limit})
    return [row["version"] for row in rows]


async def fetch_activations(conn: Connection, limit: int) -> list[StoredActivation]:
    """The `limit` latest activations, newest first."""
    rows = await conn.fetch(_ACTIVATIONS, {"limit": limit})
    return [StoredActivation(**row) for row in rows]


async def keep_rule_count(conn: Connection, version: str, rule_count: int) -> None:
    """Keep the rule count of a version stored before counts were kept."""
    await conn.execute(_KEEP_RULE_COUNT, {"version": version, "rule_count": rule_count})
