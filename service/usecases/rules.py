"""Rule management: publish a ruleset, show the active one, dry-run an event against it.

Publishing loads and checks every file first; a ruleset with problems is refused as a whole
(`RulesetRefused`, every problem at `file:line:col`) and the version in force stays active.
A good ruleset is stored and activated in one transaction whose NOTIFY switches every replica;
this replica switches at once. A dry run evaluates one event and writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from service.engine import (
    Effect,
    Event,
    InvalidEvent,
    MemberCounters,
    MemberSnapshot,
    Ruleset,
    RulesetInvalid,
    RuleUsage,
    Skip,
    evaluate,
    load_ruleset_from_files,
    validate_event_attributes,
)
from service.engine.events import check_attribute_value, check_occurred_at
from service.errors import InvalidInput, NotFound, RulesetRefused, Unprocessable
from service.services import Services
from service.store import rulesets as ruleset_store
from service.store.database import Database
from service.usecases.intake import Accepted
from service.usecases.members import MEMBER_ID_PATTERN

__all__ = [
    "FILE_NAME_PATTERN",
    "MAX_FILES",
    "MAX_FILES_BYTES",
    "ActiveRulesetView",
    "DryRun",
    "DryRunCounters",
    "DryRunEvent",
    "DryRunMember",
    "DryRunRequest",
    "ProgramView",
    "PublishRequest",
    "PublishedRuleset",
    "RuleView",
    "UsageIn",
    "active",
    "dry_run",
    "publish",
    "publish_to",
]

MAX_FILES = 50
"""Most files one ruleset may have."""

MAX_FILES_BYTES = 1_048_576
"""Most bytes (UTF-8) all files of one ruleset may hold together."""

FILE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml$"
"""A rule file name: no folders, ends in `.yaml` (or `.yml`)."""

FileName = Annotated[str, msgspec.Meta(pattern=FILE_NAME_PATTERN, max_length=105)]
MemberId = Annotated[str, msgspec.Meta(pattern=MEMBER_ID_PATTERN, max_length=128)]
Engagement = Literal["highly_engaged", "moderately_engaged", "at_risk", "disengaged"]


# -- publish --------------------------------------------------------------------------------------


class PublishRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A whole ruleset: every file of the rules folder, by name, with its YAML text."""

    files: Annotated[dict[FileName, str], msgspec.Meta(min_length=1, max_length=MAX_FILES)]
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
        raise RulesetRefused(exc.problems, active_version=row and row["version"]) from None
    async with db.transaction() as conn:
        row = await ruleset_store.fetch_active_version(conn)
        changed = row is None or row["version"] != ruleset.version
        if changed:
            await ruleset_store.store_ruleset(
                conn, version=ruleset.version, files=ruleset.files, published_by=published_by
            )
            await ruleset_store.activate(conn, ruleset.version)
            row = await ruleset_store.fetch_active_version(conn)
    return ruleset, PublishedRuleset(
        version=ruleset.version,
        short_version=ruleset.short_version,
        activated_at=row["activated_at"],
        changed=changed,
        rules=len(ruleset.rules),
        files=sorted(ruleset.files),
    )


async def publish(services: Services, files: dict[str, str], published_by: str) -> PublishedRuleset:
    """Publish `files` as the active ruleset; this replica switches at once, others on NOTIFY."""
    ruleset, published = await publish_to(services.db, files, published_by)
    services.rules.use(ruleset)
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


async def active(services: Services) -> ActiveRulesetView:
    """The active ruleset; this replica catches up first if the database is ahead of it."""
    async with services.db.connection() as conn:
        row = await ruleset_store.fetch_active_version(conn)
    if row is None:
        raise NotFound("no ruleset is active: publish one with POST /v1/admin/rules")
    if services.rules.current.version != row["version"]:
        await services.rules.refresh()
    ruleset = services.rules.current
    program = ruleset.program
    return ActiveRulesetView(
        version=ruleset.version,
        short_version=ruleset.short_version,
        activated_at=row["activated_at"],
        program=ProgramView(
            name=program.name, timezone=program.timezone, currency=program.currency
        ),
        files=sorted(ruleset.files),
        rules=[
            RuleView(id=r.id, on=r.on, file=r.file, line=r.line, priority=r.priority)
            for r in ruleset.rules
        ],
    )


# -- dry run --------------------------------------------------------------------------------------


class DryRunEvent(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The event to try, as a caller would post it."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] = "dry-run"
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    member_id: MemberId
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    attributes: dict[str, Any] = {}
    """Typed as the program declares the event type (e.g. a purchase's `amount`: a decimal)."""


class DryRunCounters(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The member's running counts."""

    purchases: Annotated[int, msgspec.Meta(ge=0)] = 0
    reviews: Annotated[int, msgspec.Meta(ge=0)] = 0
    referrals: Annotated[int, msgspec.Meta(ge=0)] = 0
    lifetime_points: Annotated[int, msgspec.Meta(ge=0)] = 0
    last_purchase_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    engagement: Engagement = "moderately_engaged"


class UsageIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How often a rule already fired for the member in one period, and the points it gave."""

    times: Annotated[int, msgspec.Meta(ge=0)] = 0
    points: Annotated[int, msgspec.Meta(ge=0)] = 0


class DryRunMember(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A made-up member to try the event on (instead of a stored one)."""

    tier: str | None = None
    tier_multiplier: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    attributes: dict[str, Any] = {}
    """Member attributes the program declares (`member.attributes.<name>` in CEL)."""
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    birthday: date | None = None
    counters: DryRunCounters = msgspec.field(default_factory=DryRunCounters)
    badges: list[str] = []
    rule_usage: dict[str, UsageIn] = {}
    """Cap counters keyed `rule_id:period_key`, e.g. `review-points:2026-03-02` (day caps)."""
    budget_remaining: dict[str, int] = {}
    """Points left in a rule's global budget, by rule id."""


class DryRunRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An event and, optionally, the member to evaluate it for.

    With `member`, that made-up member; with `member_id`, the stored member (an unknown member
    is a new one); with neither, a new member with the event's `member_id`."""

    event: DryRunEvent
    member_id: MemberId | None = None
    member: DryRunMember | None = None


class DryRun(msgspec.Struct, kw_only=True):
    """What the event would earn under the active ruleset; nothing was written."""

    ruleset_version: str
    short_version: str
    points: int
    """Total points the effects award."""
    effects: list[Effect]
    fired: list[str]
    """Rule ids that fired, in firing order."""
    skipped: list[Skip]
    """Every rule that did not fire, with a reason code and a sentence."""


def _member_attributes(ruleset: Ruleset, attributes: Mapping[str, Any]) -> dict[str, Any]:
    declared = ruleset.program.member_attributes
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        path = f"member.attributes.{name}"
        spec = declared.get(name)
        if spec is None:
            known = ", ".join(sorted(declared)) or "none"
            raise Unprocessable(f"undeclared member attribute (declared: {known})", field=path)
        if value is None:
            continue
        try:
            out[name] = check_attribute_value(spec.type, value, path)
        except InvalidEvent as exc:
            raise Unprocessable(exc.reason, field=exc.field_path) from None
    return out


def _made_up_snapshot(ruleset: Ruleset, member_id: str, member: DryRunMember) -> MemberSnapshot:
    if member.timezone is not None:
        try:
            ZoneInfo(member.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Unprocessable(
                f"unknown time zone '{member.timezone}' (use an IANA name such as Europe/Berlin)",
                field="member.timezone",
            ) from None
    c = member.counters
    return MemberSnapshot(
        member_id=member_id,
        tier=member.tier,
        tier_multiplier=member.tier_multiplier,
        attributes=_member_attributes(ruleset, member.attributes),
        timezone=member.timezone,
        birthday=member.birthday,
        counters=MemberCounters(
            purchases=c.purchases,
            reviews=c.reviews,
            referrals=c.referrals,
            lifetime_points=c.lifetime_points,
            last_purchase_at=c.last_purchase_at,
            engagement=c.engagement,
        ),
        badges=frozenset(member.badges),
        rule_usage={
            k: RuleUsage(times=u.times, points=u.points) for k, u in member.rule_usage.items()
        },
        budget_remaining=dict(member.budget_remaining),
    )


async def dry_run(
    services: Services,
    event_in: DryRunEvent,
    member_id: str | None = None,
    member: DryRunMember | None = None,
) -> DryRun:
    """Evaluate one event under the active ruleset, for a made-up (`member`), stored
    (`member_id`) or new member.

    Reads at most the member's rows, in a read-only transaction; writes nothing."""
    if member is not None and member_id is not None:
        raise InvalidInput("give either `member` or `member_id`, not both", field="member")
    ruleset = services.rules.current  # one version for the whole dry run
    accepted = Accepted.of(services)
    try:
        check_occurred_at(event_in.occurred_at, accepted.now, accepted.earliest, accepted.skew)
        attributes = validate_event_attributes(ruleset, event_in.type, event_in.attributes)
    except InvalidEvent as exc:
        raise Unprocessable(exc.reason, field=f"event.{exc.field_path}") from None
    event = Event(
        id=event_in.id,
        type=event_in.type,
        member_id=event_in.member_id,
        occurred_at=event_in.occurred_at,
        attributes=attributes,
    )
    if member is not None:
        snapshot = _made_up_snapshot(ruleset, event.member_id, member)
    elif member_id is not None:
        # imported here: the ledger side is only needed for this path
        from service.usecases.snapshot import member_snapshot

        async with (
            services.db.connection() as conn,
            conn.raw.transaction(isolation="repeatable_read", readonly=True),
        ):
            stored = msgspec.structs.replace(event, member_id=member_id)
            snapshot = await member_snapshot(conn, ruleset, stored, services.clock.now())
    else:
        snapshot = MemberSnapshot(member_id=event.member_id)
    result = evaluate(ruleset, snapshot, event, services.clock.now())
    return DryRun(
        ruleset_version=result.ruleset_version,
        short_version=ruleset.short_version,
        points=result.points,
        effects=list(result.effects),
        fired=list(result.fired),
        skipped=list(result.skipped),
    )
