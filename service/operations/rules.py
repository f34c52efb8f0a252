"""Rule management: publish a ruleset, show the active one, load a draft.

Publishing loads and checks every file first; a ruleset with problems is refused as a whole
(`RulesetRefused`, every problem at `file:line:col`) and the version in force stays active.
A good ruleset is stored and activated in one transaction whose NOTIFY switches every replica;
this replica switches at once. A draft is loaded and checked the same way, and never stored
(the dry run evaluates events against it: `service/views/dry_run.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

import msgspec

from service.engine import Ruleset, RulesetInvalid, load_ruleset_from_files
from service.engine.sizes import MAX_RULESET_BYTES
from service.errors import InvalidInput, NotFound, RulesetRefused
from service.operations.experiment_splits import start_experiments
from service.runtime import Runtime
from service.store import rulesets as ruleset_store
from service.store.database import Database

__all__ = [
    "FILE_NAME_PATTERN",
    "MAX_FILES",
    "MAX_FILES_BYTES",
    "ActiveRulesetView",
    "FileName",
    "ProgramView",
    "PublishRequest",
    "PublishedRuleset",
    "RuleFiles",
    "RuleView",
    "active",
    "load_draft",
    "publish",
    "publish_to",
]

MAX_FILES = 50
"""Most files one ruleset may have."""

MAX_FILES_BYTES = MAX_RULESET_BYTES
"""Most bytes (UTF-8) all files of one ruleset may hold together (the loader's own limit)."""

FILE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml$"
"""A rule file name: no folders, ends in `.yaml` (or `.yml`)."""

FileName = Annotated[str, msgspec.Meta(pattern=FILE_NAME_PATTERN, max_length=105)]

RuleFiles = Annotated[dict[FileName, str], msgspec.Meta(min_length=1, max_length=MAX_FILES)]
"""Every file of a rules folder by name, with its YAML text (a publication, or a draft)."""


# -- publish --------------------------------------------------------------------------------------


class PublishRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A whole ruleset: every file of the rules folder, by name, with its YAML text."""

    files: RuleFiles
    """`program.yaml` and the rule files, e.g. `{"program.yaml": "...", "earn.yaml": "..."}`."""


class PublishedRuleset(msgspec.Struct, kw_only=True):
    """The version now active after a publication."""

    version: str
    """sha256 (hex) of the files: the same files always give the same version."""
    short_version: str
    activated_at: datetime
    changed: bool
    """False when these files were already the active version (nothing was done)."""
    rules: int
    """How many rules the ruleset has."""
    files: list[str]


def _check_size(files: Mapping[str, str]) -> None:
    if len(files) > MAX_FILES:
        raise InvalidInput(f"at most {MAX_FILES} files per ruleset", field="files")
    size = sum(len(name.encode()) + len(text.encode()) for name, text in files.items())
    if size > MAX_FILES_BYTES:
        raise InvalidInput(
            f"the files hold {size} bytes; a ruleset may hold at most {MAX_FILES_BYTES}",
            field="files",
        )


async def _load(files: dict[str, str]) -> Ruleset:
    try:
        # compiling CEL for a large ruleset takes a while: keep the event loop free
        return await asyncio.to_thread(load_ruleset_from_files, dict(files))
    except RulesetInvalid as exc:
        raise RulesetRefused(exc.problems) from None


async def load_draft(files: dict[str, str], active_version: str | None = None) -> Ruleset:
    """Load and check `files` exactly as publishing does, and store nothing.

    Raises `RulesetRefused` with every problem at `file:line:col` (naming `active_version` as the
    version that stays active), or `InvalidInput` for too many files or bytes."""
    _check_size(files)
    try:
        return await _load(files)
    except RulesetRefused as exc:
        raise RulesetRefused(exc.problems, active_version=active_version) from None


async def publish_to(
    db: Database, files: dict[str, str], published_by: str
) -> tuple[Ruleset, PublishedRuleset]:
    """Check `files`, then store and activate them in one transaction (NOTIFY on commit).

    Raises `RulesetRefused` with every problem; nothing is stored then. Publishing the version
    already active is a no-op (`changed` is False)."""
    _check_size(files)
    try:
        ruleset = await _load(files)
    except RulesetRefused as exc:
        async with db.connection() as conn:
            row = await ruleset_store.fetch_active_version(conn)
        raise RulesetRefused(exc.problems, active_version=row.version if row else None) from None
    async with db.transaction() as conn:
        row = await ruleset_store.fetch_active_version(conn)
        changed = row is None or row.version != ruleset.version
        if changed:
            await start_experiments(conn, ruleset)
            await ruleset_store.store_ruleset(
                conn,
                version=ruleset.version,
                files=ruleset.files,
                published_by=published_by,
                rule_count=len(ruleset.rules),
            )
            await ruleset_store.activate(conn, ruleset.version, activated_by=published_by)
            row = await ruleset_store.fetch_active_version(conn)
    assert row is not None, "a ruleset is active"
    return ruleset, PublishedRuleset(
        version=ruleset.version,
        short_version=ruleset.short_version,
        activated_at=row.activated_at,
        changed=changed,
        rules=len(ruleset.rules),
        files=sorted(ruleset.files),
    )


async def publish(runtime: Runtime, files: dict[str, str], published_by: str) -> PublishedRuleset:
    """Publish `files` as the active ruleset; this replica switches at once, others on NOTIFY."""
    ruleset, published = await publish_to(runtime.db, files, published_by)
    runtime.rules.use(ruleset)
    return published


# -- the active ruleset ---------------------------------------------------------------------------


class RuleView(msgspec.Struct, kw_only=True):
    """One rule of the active ruleset and where it is written."""

    id: str
    on: str
    """The event type it reacts to."""
    file: str
    line: int
    priority: int


class ProgramView(msgspec.Struct, kw_only=True):
    """The program the ruleset describes."""

    name: str
    timezone: str
    currency: str


class ActiveRulesetView(msgspec.Struct, kw_only=True):
    """The ruleset this service evaluates events with."""

    version: str
    short_version: str
    activated_at: datetime
    program: ProgramView
    files: list[str]
    rules: list[RuleView]
    """In firing order: highest priority first, then file order."""


async def active(runtime: Runtime) -> ActiveRulesetView:
    """The active ruleset; this replica catches up first if the database is ahead of it."""
    async with runtime.db.connection() as conn:
        row = await ruleset_store.fetch_active_version(conn)
    if row is None:
        raise NotFound("no ruleset is active: publish one with POST /v1/admin/rules")
    if runtime.rules.current.version != row.version:
        await runtime.rules.refresh()
    ruleset = runtime.rules.current
    program = ruleset.program
    return ActiveRulesetView(
        version=ruleset.version,
        short_version=ruleset.short_version,
        activated_at=row.activated_at,
        program=ProgramView(
            name=program.name, timezone=program.timezone, currency=program.currency
        ),
        files=sorted(ruleset.files),
        rules=[
            RuleView(id=r.id, on=r.on, file=r.file, line=r.line, priority=r.priority)
            for r in ruleset.rules
        ],
    )
