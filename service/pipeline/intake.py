"""Event intake: load a set of members, decide every event in one pure step, save, commit.

A set is a batch posted at once, or single posts that arrived together (`grouping`). One
transaction per set: lock its members (sorted: two sets never deadlock), read all their state
in one statement, decide (`service.decide`), write every row in one statement and the shared
leaderboard counters in a second, commit, answer. An event refused by validation or by the
program (a 4xx) is decided out before the write and does not touch the others. A set whose
transaction fails for an unexpected reason is retried event by event, so one poison event
never fails the good ones. The idempotency key is `(member_id, id)`: the same body again
answers the first result (`replay`), another body is a 409.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from service.decide import (
    Decision,
    EventResult,
    Prepared,
    decide,
    lock_plan,
    read_plan,
    referrer_days,
)
from service.decide.idempotency import body_hash
from service.engine import Event, InvalidEvent, Ruleset, validate_event_attributes
from service.engine.events import check_occurred_at
from service.errors import DomainError, NotBooked, Unprocessable
from service.operations.members import MEMBER_ID_PATTERN
from service.runtime import Runtime
from service.settings import Settings
from service.store.database import Connection, DatabaseUnavailable
from service.store.member_sets import load_set, lock_set
from service.store.referrals import is_deadlock
from service.store.set_writes import apply_histogram, save_rows

if TYPE_CHECKING:
    from service.http.metrics import Metrics
    from service.pipeline.grouping import EventGroups

__all__ = [
    "Accepted",
    "EventIn",
    "EventResult",
    "IntakeOptions",
    "Outcome",
    "ingest",
    "ingest_batch",
    "prepare",
    "run_set",
]

logger = logging.getLogger("service.intake")

_ATTEMPTS = 4
"""A set is run again after a deadlock (only a referral found mid-set can cause one) or when
the decision found state it needs that the load did not read (then loaded on the next try)."""

Outcome = EventResult | DomainError


class EventIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An event as a caller posts it."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    """The caller's id for this event; resending it never counts twice."""
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    member_id: Annotated[str, msgspec.Meta(pattern=MEMBER_ID_PATTERN)]
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    """When it happened (with a time zone); may be late or out of order."""
    attributes: dict[str, Any] = {}
    """The event type's attributes, e.g. order_id, amount, currency, items for a purchase."""


class Accepted(msgspec.Struct, frozen=True):
    """The span of `occurred_at` the intake accepts now (`LOYALTY_EVENT_EARLIEST` to
    `LOYALTY_EVENT_MAX_SKEW_SECONDS` past the clock)."""

    now: datetime
    earliest: datetime
    skew: timedelta

    @classmethod
    def at(cls, settings: Settings, now: datetime) -> Accepted:
        """The span the settings accept as of `now`."""
        return IntakeOptions.of(settings).accepted(now)


@dataclass(frozen=True)
class IntakeOptions:
    """What the intake takes from the settings (the span of `occurred_at` it accepts, the
    size of a batch's sets), and the metrics it reports to, if any."""

    earliest: datetime
    max_skew: timedelta
    batch_set_events: int
    metrics: Metrics | None = None

    @classmethod
    def of(cls, settings: Settings, metrics: Metrics | None = None) -> IntakeOptions:
        """The options `settings` say, reporting to `metrics`."""
        return cls(
            earliest=datetime.combine(settings.event_earliest, time(0), tzinfo=UTC),
            max_skew=timedelta(seconds=settings.event_max_skew_seconds),
            batch_set_events=settings.batch_set_events,
            metrics=metrics,
        )

    def accepted(self, now: datetime) -> Accepted:
        """The span accepted as of `now`."""
        return Accepted(now, self.earliest, self.max_skew)


class Checked(msgspec.Struct, frozen=True):
    """An event checked against one ruleset version's event types."""

    prepared: Prepared
    ruleset_version: str
    source: EventIn
    accepted: Accepted


def prepare(ruleset: Ruleset, event_in: EventIn, accepted: Accepted) -> Checked:
    """Check an event's time and its attributes against its type; Unprocessable naming the
    field."""
    try:
        check_occurred_at(event_in.occurred_at, accepted.now, accepted.earliest, accepted.skew)
        attributes = validate_event_attributes(ruleset, event_in.type, event_in.attributes)
    except InvalidEvent as exc:
        raise Unprocessable(exc.reason, field=exc.field_path, code="invalid_event") from None
    event = Event(
        id=event_in.id,
        type=event_in.type,
        member_id=event_in.member_id,
        occurred_at=event_in.occurred_at,
        attributes=attributes,
    )
    body = {
        "type": event.type,
        "member_id": event.member_id,
        "occurred_at": event.occurred_at.timestamp(),
        "attributes": attributes,
    }
    return Checked(Prepared(event, body_hash(body)), ruleset.version, event_in, accepted)


class _Again(Exception):
    """The decision needs state the load did not read: roll back, load it, decide again."""


async def _run_once(
    conn: Connection,
    ruleset: Ruleset,
    events: list[Prepared],
    now: datetime,
    extra: dict[str, date | None],
    decided: list[float],
) -> Decision:
    """One transaction: lock, load, decide, save (the caller commits by leaving it); the
    seconds the pure decision took go to `decided[0]`."""
    plain = [p.event for p in events]
    locked = await lock_set(conn, lock_plan(ruleset, plain, extra))
    days = referrer_days(ruleset, plain, locked.links, locked.code_owners)
    for member_id, since in extra.items():
        if since is not None:
            days[member_id] = min(days.get(member_id, since), since)
    plan = read_plan(ruleset, plain, sorted(locked.profiles), now, referrer_days=days)
    state = await load_set(conn, plan, locked)
    started = perf_counter()
    decision = decide(ruleset, state, events, now)
    decided[0] = perf_counter() - started
    if decision.missing is not None:
        missing = decision.missing
        extra[missing.member_id] = min(
            (d for d in (extra.get(missing.member_id), missing.metric_since) if d is not None),
            default=None,
        )
        raise _Again
    await save_rows(conn, decision.rows)
    await apply_histogram(conn, decision.rows)  # last: its rows are shared by many members
    return decision


async def _run(
    runtime: Runtime, metrics: Metrics | None, ruleset: Ruleset, events: list[Prepared]
) -> list[Outcome]:
    now = runtime.clock.now()
    extra: dict[str, date | None] = {}
    decided = [0.0]
    async with runtime.db.connection() as conn:
        for attempt in range(_ATTEMPTS):
            try:
                async with conn.raw.transaction():
                    decision = await _run_once(conn, ruleset, events, now, extra, decided)
                _observe(metrics, len(events), decided[0], decision.outcomes)
                return decision.outcomes
            except _Again:
                continue
            except Exception as exc:
                if not is_deadlock(exc) or attempt == _ATTEMPTS - 1:
                    raise
    raise RuntimeError(f"a set of {len(events)} events could not be decided in {_ATTEMPTS} tries")


def _observe(metrics: Metrics | None, events: int, seconds: float, outcomes: list[Outcome]) -> None:
    if metrics is None:
        return
    failed = [
        failure.rule_id
        for outcome in outcomes
        if isinstance(outcome, EventResult) and not outcome.replay
        for failure in outcome.failed_rules
    ]
    metrics.observe_decided(events, seconds, failed)


def _checked_for(ruleset: Ruleset, item: Checked | DomainError) -> Checked | DomainError:
    """The event checked against `ruleset` (again, if it was checked against another version)."""
    if isinstance(item, DomainError) or item.ruleset_version == ruleset.version:
        return item
    try:
        return prepare(ruleset, item.source, item.accepted)
    except DomainError as refusal:
        return refusal


async def run_set(
    runtime: Runtime,
    options: IntakeOptions,
    items: Sequence[Checked | DomainError],
    source: str = "group",
) -> list[Outcome]:
    """Decide and book a set of checked events (refusals pass through), one answer each;
    `source` (`group` or `batch`) labels the set-size metric."""
    ruleset = runtime.rules.current
    checked = [_checked_for(ruleset, item) for item in items]
    todo = [i for i, item in enumerate(checked) if not isinstance(item, DomainError)]
    outcomes: list[Any] = list(checked)
    if not todo:
        return outcomes
    events = [checked[i].prepared for i in todo]  # type: ignore[union-attr]
    metrics = options.metrics
    if metrics is not None:
        metrics.observe_set(source, len(events))
    try:
        answers = await _run(runtime, metrics, ruleset, events)
    except DatabaseUnavailable:
        raise
    except Exception:
        if len(events) == 1:
            raise
        logger.exception("a set of %d events failed; deciding them one by one", len(events))
        answers = [await _alone(runtime, metrics, ruleset, event) for event in events]
    for i, answer in zip(todo, answers, strict=True):
        outcomes[i] = answer
    return outcomes


async def _alone(
    runtime: Runtime, metrics: Metrics | None, ruleset: Ruleset, event: Prepared
) -> Outcome:
    try:
        return (await _run(runtime, metrics, ruleset, [event]))[0]
    except (DomainError, DatabaseUnavailable) as refusal:
        if isinstance(refusal, DatabaseUnavailable):
            raise
        return refusal
    except Exception:
        logger.exception("event %s of member %s failed", event.event.id, event.event.member_id)
        return NotBooked(
            "this event could not be booked (the service logged why); nothing of it was "
            "written and it may be sent again",
            field="id",
            code="event_not_booked",
        )


async def ingest(
    runtime: Runtime,
    options: IntakeOptions,
    event_in: EventIn,
    *,
    groups: EventGroups[Checked, Outcome] | None = None,
) -> EventResult:
    """Process one event exactly once and answer what it did (or what it did the first time);
    with `groups`, concurrent posts of this process share a set (group commit)."""
    checked = prepare(runtime.rules.current, event_in, options.accepted(runtime.clock.now()))
    outcome: Outcome
    if groups is not None:
        outcome = await groups.submit(checked)
    else:
        outcome = (await run_set(runtime, options, [checked]))[0]
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


async def ingest_batch(
    runtime: Runtime, options: IntakeOptions, events: Sequence[EventIn]
) -> list[Outcome]:
    """Process up to 1,000 events in sets of up to LOYALTY_BATCH_SET_EVENTS, one after the
    other (a member's events in order across them): a result per event, in order."""
    ruleset = runtime.rules.current
    accepted = options.accepted(runtime.clock.now())
    items: list[Checked | DomainError] = []
    for event_in in events:
        try:
            items.append(prepare(ruleset, event_in, accepted))
        except DomainError as refusal:
            items.append(refusal)
    outcomes: list[Outcome] = []
    size = options.batch_set_events
    for start in range(0, len(items), size):
        outcomes += await run_set(runtime, options, items[start : start + size], "batch")
    return outcomes
