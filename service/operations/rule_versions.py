"""Rule versions kept readable: list every stored version with its activations, read one
version's files, diff two versions, and roll back to an earlier one.

A version is named by its full sha256 or by a prefix of at least 8 hex digits that only it
starts with. Rolling back is a new publication of that version's files through the same path
as any other (checked again by today's loader, refused as a whole if they no longer load), so
it is activated on every replica and kept in the history of activations with who did it.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

import msgspec

from service.engine import RulesetInvalid, load_ruleset_from_files
from service.engine.ruleset_diff import FileChange, RuleChanges, file_changes, rule_changes
from service.errors import Conflict, InvalidInput, NotFound
from service.operations.rules import PublishedRuleset, publish, publish_to
from service.runtime import Runtime
from service.store import rulesets as ruleset_store
from service.store.database import Connection, Database
from service.store.rulesets import StoredVersion, VersionSummary

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MIN_PREFIX",
    "VERSION_PATTERN",
    "Activation",
    "RuleVersion",
    "RuleVersionView",
    "RuleVersions",
    "RulesetDiff",
    "diff",
    "resolve",
    "roll_back",
    "roll_back_on",
    "version_view",
    "versions",
]

MIN_PREFIX = 8
"""Fewest hex digits that name a version (a short version shows 16)."""

VERSION_PATTERN = rf"^[0-9a-fA-F]{{{MIN_PREFIX},64}}$"
"""A version as callers may write it: the full sha256, or a prefix of at least 8 hex digits."""

DEFAULT_LIMIT = 50
"""Versions (and activations) listed when no limit is given."""

MAX_LIMIT = 500
"""Most versions (and activations) one listing shows."""

_VERSION = re.compile(VERSION_PATTERN)


class RuleVersion(msgspec.Struct, kw_only=True):
    """A stored version: who published it when, what it holds, and when it was in force."""

    version: str
    """sha256 (hex) of the files."""
    short_version: str
    created_at: datetime
    """When it was first published (publishing it again, or rolling back to it, keeps this)."""
    published_by: str | None
    """Who first published it: `api:<key name>`, `cli:<user>` or `serve`."""
    files: list[str]
    rules: int | None
    """How many rules it has; null only for a version stored before counts were kept whose
    files today's loader refuses."""
    active: bool
    """Whether it is the version in force now."""
    last_activated_at: datetime | None
    """When it last became the active version (null: not since activations were recorded)."""
    activations: int
    """How often it became the active version."""


class Activation(msgspec.Struct, kw_only=True):
    """One switch of the active version: a publication, a rollback, or the first start."""

    version: str
    short_version: str
    activated_at: datetime
    activated_by: str | None
    """`api:<key name>`, `cli:<user>` or `serve`; null for the activation in force when the
    history began (who made it was not recorded)."""


class RuleVersions(msgspec.Struct, kw_only=True):
    """Stored versions, newest first, and the history of activations, latest first."""

    versions: list[RuleVersion]
    activations: list[Activation]
    more: bool
    """True when more versions (or activations) are stored than were listed."""


class RuleVersionView(msgspec.Struct, kw_only=True):
    """One stored version with the exact text of its files."""

    version: str
    short_version: str
    created_at: datetime
    published_by: str | None
    active: bool
    last_activated_at: datetime | None
    rules: int | None
    files: dict[str, str]
    """Every file by name, with its YAML text as it was published."""


class RulesetDiff(msgspec.Struct, kw_only=True):
    """How version `b` differs from version `a`."""

    a: str
    b: str
    files: list[FileChange]
    """Every file name of either version, by name."""
    rules: RuleChanges | None
    """Rule ids added, removed and changed from `a` to `b`; null when today's loader refuses
    the files of either version."""


def _summary(row: VersionSummary, rules: int | None) -> RuleVersion:
    return RuleVersion(
        version=row.version,
        short_version=row.version[:16],
        created_at=row.created_at,
        published_by=row.published_by,
        files=sorted(row.file_names or ()),
        rules=rules,
        active=row.active,
        last_activated_at=row.last_activated_at,
        activations=row.activations,
    )


async def _counted_rules(db: Database, row: VersionSummary) -> int | None:
    """The rule count of a listed version; one stored before counts were kept is loaded once
    and its count kept (None if today's loader refuses it)."""
    if row.rule_count is not None:
        return row.rule_count
    async with db.connection() as conn:
        stored = await ruleset_store.fetch_version(conn, row.version)
    assert stored is not None, "a listed version is stored"
    try:
        ruleset = await asyncio.to_thread(load_ruleset_from_files, dict(stored.files))
    except RulesetInvalid:
        return None
    async with db.transaction() as conn:
        await ruleset_store.keep_rule_count(conn, row.version, len(ruleset.rules))
    return len(ruleset.rules)


async def versions(db: Database, limit: int = DEFAULT_LIMIT) -> RuleVersions:
    """The `limit` newest stored versions and the `limit` latest activations."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    async with db.connection() as conn:
        rows = await ruleset_store.fetch_versions(conn, limit + 1)
        history = await ruleset_store.fetch_activations(conn, limit + 1)
    listed = [_summary(row, await _counted_rules(db, row)) for row in rows[:limit]]
    return RuleVersions(
        versions=listed,
        activations=[
            Activation(
                version=row.version,
                short_version=row.version[:16],
                activated_at=row.activated_at,
                activated_by=row.activated_by,
            )
            for row in history[:limit]
        ],
        more=len(rows) > limit or len(history) > limit,
    )


async def resolve(conn: Connection, given: str, field: str = "version") -> str:
    """The full stored version `given` names (itself, or a prefix only it starts with).

    Raises `InvalidInput` for what is not 8 to 64 hex digits, `NotFound` when no stored version
    starts with it, `Conflict` when more than one does; each naming `field`."""
    if not _VERSION.fullmatch(given):
        raise InvalidInput(
            f"a version is its 64 hex digits or a prefix of at least {MIN_PREFIX} of them",
            field=field,
        )
    prefix = given.lower()
    found = await ruleset_store.versions_starting_with(conn, prefix, limit=3)
    if not found:
        raise NotFound(f"no stored ruleset version starts with {prefix}", field=field)
    if len(found) > 1:
        shown = ", ".join(v[:16] for v in found[:2]) + (", ..." if len(found) > 2 else "")
        raise Conflict(
            f"{prefix} is the start of more than one version ({shown}); give more digits",
            field=field,
            code="ambiguous_version",
        )
    return found[0]


async def _stored(db: Database, given: str, field: str = "version") -> StoredVersion:
    async with db.connection() as conn:
        version = await resolve(conn, given, field)
        stored = await ruleset_store.fetch_version(conn, version)
    assert stored is not None, "a resolved version is stored"
    return stored


async def version_view(db: Database, given: str) -> RuleVersionView:
    """The version `given` names, with its files."""
    row = await _stored(db, given)
    summary = _summary(row, row.rule_count)
    return RuleVersionView(
        version=summary.version,
        short_version=summary.short_version,
        created_at=summary.created_at,
        published_by=summary.published_by,
        active=summary.active,
        last_activated_at=summary.last_activated_at,
        rules=summary.rules,
        files=dict(sorted(row.files.items())),
    )


def _rule_changes(a: dict[str, str], b: dict[str, str]) -> RuleChanges | None:
    try:
        return rule_changes(load_ruleset_from_files(a), load_ruleset_from_files(b))
    except RulesetInvalid:
        return None


def _diff(a: StoredVersion, b: StoredVersion) -> RulesetDiff:
    files_a, files_b = dict(a.files), dict(b.files)
    return RulesetDiff(
        a=a.version,
        b=b.version,
        files=file_changes(files_a, files_b),
        rules=_rule_changes(files_a, files_b),
    )


async def diff(db: Database, a: str, b: str) -> RulesetDiff:
    """How the version `b` names differs from the one `a` names (files, then rules)."""
    stored_a = await _stored(db, a, "a")
    stored_b = await _stored(db, b, "b")
    # diffing and loading large files take a while: keep the event loop free
    return await asyncio.to_thread(_diff, stored_a, stored_b)


async def roll_back_on(db: Database, given: str, by: str) -> PublishedRuleset:
    """Publish again the files of the version `given` names, as `by` (for the CLI: the
    replicas switch on NOTIFY). Refused like any publication if they no longer load."""
    row = await _stored(db, given)
    _, published = await publish_to(db, dict(row.files), by)
    return published


async def roll_back(runtime: Runtime, given: str, by: str) -> PublishedRuleset:
    """Publish again the files of the version `given` names; this replica switches at once."""
    row = await _stored(runtime.db, given)
    return await publish(runtime, dict(row.files), by)
