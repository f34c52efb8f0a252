"""The dry run: one event evaluated under the active ruleset or a draft, writing nothing.

A draft is every file of a rules folder, loaded and checked exactly as publishing would
(`load_draft`: a bad draft is refused with every problem at `file:line:col`) and never stored,
so a new rule or challenge can be tried on real members before it is published. The member is
a made-up one, a stored one (read in a read-only transaction, as the intake would see them), or
a new one. The answer says which ruleset it used and what the event would earn.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from service.engine import (
    Effect,
    EngagementView,
    Event,
    InvalidEvent,
    MemberCounters,
    MemberSnapshot,
    Ruleset,
    RuleUsage,
    Skip,
    evaluate,
    validate_event_attributes,
)
from service.engine.events import check_occurred_at, validate_member_attributes
from service.errors import InvalidInput, Unprocessable
from service.operations.members import MEMBER_ID_PATTERN
from service.operations.rules import RuleFiles, load_draft
from service.pipeline.intake import Accepted, IntakeOptions
from service.runtime import Runtime
from service.store.database import Database

__all__ = [
    "DryRun",
    "DryRunCounters",
    "DryRunEvent",
    "DryRunMember",
    "DryRunRequest",
    "RulesetUsed",
    "UsageIn",
    "dry_run",
    "dry_run_on",
]

MemberId = Annotated[str, msgspec.Meta(pattern=MEMBER_ID_PATTERN, max_length=128)]
LevelId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
RulesetUsed = Literal["active", "draft"]
"""`active`: the version in force; `draft`: the files sent with the dry run (not published)."""


class DryRunEvent(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The event to try, as a caller would post it."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] = "dry-run"
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    member_id: MemberId
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    attributes: dict[str, Any] = {}
    """Typed as the program declares the event type (e.g. a purchase's `amount`: a decimal)."""


class DryRunEngagement(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The member's engagement: score (0-100), level, and each component's share (0..1)."""

    score: Annotated[float, msgspec.Meta(ge=0, le=100)] = 50.0
    level: LevelId = "moderately_engaged"
    components: dict[
        Annotated[str, msgspec.Meta(max_length=64)], Annotated[float, msgspec.Meta(ge=0, le=1)]
    ] = {}


class DryRunCounters(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The member's running counts."""

    purchases: Annotated[int, msgspec.Meta(ge=0)] = 0
    reviews: Annotated[int, msgspec.Meta(ge=0)] = 0
    referrals: Annotated[int, msgspec.Meta(ge=0)] = 0
    lifetime_points: Annotated[int, msgspec.Meta(ge=0)] = 0
    last_purchase_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    engagement: LevelId | DryRunEngagement = "moderately_engaged"
    """The engagement level alone (score 50), or score, level and components."""


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
    """An event, optionally the member to evaluate it for, and optionally a draft ruleset.

    With `member`, that made-up member; with `member_id`, the stored member (an unknown member
    is a new one); with neither, a new member with the event's `member_id`. With `files`, the
    draft they make (checked as publishing checks them, never stored); without, the active
    ruleset."""

    event: DryRunEvent
    member_id: MemberId | None = None
    member: DryRunMember | None = None
    files: RuleFiles | None = None
    """A draft: every file of the rules folder, as `POST /v1/admin/rules` takes them, e.g.
    `{"program.yaml": "...", "challenges.yaml": "..."}`."""


class DryRun(msgspec.Struct, kw_only=True):
    """What the event would earn under the ruleset used; nothing was written."""

    ruleset: RulesetUsed
    """Which ruleset the event was evaluated under: the `active` one or the `draft` sent."""
    ruleset_version: str
    """The version of that ruleset (a draft's is the version it would have once published)."""
    short_version: str
    points: int
    """Total points the effects award."""
    effects: list[Effect]
    fired: list[str]
    """Rule ids that fired, in firing order."""
    skipped: list[Skip]
    """Every rule that did not fire, with a reason code and a sentence."""


def _member_attributes(ruleset: Ruleset, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A made-up member's attributes, checked as a stored member's are."""
    try:
        checked = validate_member_attributes(ruleset, attributes)
    except InvalidEvent as exc:
        raise Unprocessable(exc.reason, field=f"member.{exc.field_path}") from None
    return {name: value for name, value in checked.items() if value is not None}


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
            engagement=(
                EngagementView(level=c.engagement)
                if isinstance(c.engagement, str)
                else EngagementView(
                    c.engagement.score, c.engagement.level, dict(c.engagement.components)
                )
            ),
        ),
        badges=frozenset(member.badges),
        rule_usage={
            k: RuleUsage(times=u.times, points=u.points) for k, u in member.rule_usage.items()
        },
        budget_remaining=dict(member.budget_remaining),
    )


async def dry_run(
    runtime: Runtime, request: DryRunRequest, *, intake_options: IntakeOptions
) -> DryRun:
    """Evaluate one event under the draft `request.files` (else the active ruleset), for a
    made-up (`member`), stored (`member_id`) or new member, checked as the intake would
    (`intake_options`); writes nothing."""
    _one_member(request)
    if request.files is None:
        ruleset: Ruleset = runtime.rules.current  # one version for the whole dry run
        used: RulesetUsed = "active"
    else:
        ruleset = await load_draft(dict(request.files), runtime.rules.current.version)
        used = "draft"
    return await dry_run_on(
        runtime.db, ruleset, used, intake_options.accepted(runtime.clock.now()), request
    )


def _one_member(request: DryRunRequest) -> None:
    if request.member is not None and request.member_id is not None:
        raise InvalidInput("give either `member` or `member_id`, not both", field="member")


def _event(ruleset: Ruleset, event_in: DryRunEvent, accepted: Accepted) -> Event:
    try:
        check_occurred_at(event_in.occurred_at, accepted.now, accepted.earliest, accepted.skew)
        attributes = validate_event_attributes(
            ruleset, event_in.type, event_in.attributes, internal=True
        )
    except InvalidEvent as exc:
        raise Unprocessable(exc.reason, field=f"event.{exc.field_path}") from None
    return Event(
        id=event_in.id,
        type=event_in.type,
        member_id=event_in.member_id,
        occurred_at=event_in.occurred_at,
        attributes=attributes,
    )


async def _stored_snapshot(
    db: Database, ruleset: Ruleset, event: Event, member_id: str, now: datetime
) -> MemberSnapshot:
    # imported here: the ledger side is only needed for this path
    from service.views.snapshot import member_snapshot

    async with (
        db.connection() as conn,
        conn.raw.transaction(isolation="repeatable_read", readonly=True),
    ):
        stored = msgspec.structs.replace(event, member_id=member_id)
        return await member_snapshot(conn, ruleset, stored, now)


async def dry_run_on(
    db: Database,
    ruleset: Ruleset,
    used: RulesetUsed,
    accepted: Accepted,
    request: DryRunRequest,
) -> DryRun:
    """Evaluate `request.event` under `ruleset` (`used` says which one it is) as of
    `accepted.now`; reads at most the member's rows, in a read-only transaction."""
    _one_member(request)
    event = _event(ruleset, request.event, accepted)
    now = accepted.now
    if request.member is not None:
        snapshot = _made_up_snapshot(ruleset, event.member_id, request.member)
    elif request.member_id is not None:
        snapshot = await _stored_snapshot(db, ruleset, event, request.member_id, now)
    else:
        snapshot = MemberSnapshot(member_id=event.member_id)
    result = evaluate(ruleset, snapshot, event, now)
    return DryRun(
        ruleset=used,
        ruleset_version=result.ruleset_version,
        short_version=ruleset.short_version,
        points=result.points,
        effects=list(result.effects),
        fired=list(result.fired),
        skipped=list(result.skipped),
    )
