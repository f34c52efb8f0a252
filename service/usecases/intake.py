"""Event intake: one event, one transaction, exactly once per (member, event id).

Lock the member (creating an unknown one), check the event id, read the member's state,
evaluate the rules, book the effects in the ledger, store the event with its answer, commit.
The same id with the same body answers the stored result as a replay; a different body is a 409.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import msgspec

from service.engine import Event, InvalidEvent, evaluate, validate_event_attributes
from service.errors import Conflict, DomainError, Unprocessable
from service.services import Services
from service.store import events as event_store
from service.store import ledger as ledger_store
from service.store import progress as progress_store
from service.store.database import Connection
from service.store.referrals import is_deadlock
from service.usecases.boards import apply_histogram
from service.usecases.booking import EventResult, book_event
from service.usecases.game_state import game_state, link_referral, plan_game_read
from service.usecases.gamify import settle_event
from service.usecases.members import MEMBER_ID_PATTERN
from service.usecases.snapshot import budgeted_rules, build_snapshot, cap_period_keys

__all__ = ["EventIn", "EventResult", "ingest", "ingest_batch"]

_canonical = msgspec.json.Encoder(order="sorted")
_DEADLOCK_RETRIES = 3


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


def _event_of(services: Services, event_in: EventIn) -> tuple[Event, str]:
    ruleset = services.rules.current
    try:
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
    return event, hashlib.sha256(_canonical.encode(body)).hexdigest()


def _replay(row: Any, body_hash: str, event_id: str) -> EventResult:
    if row["body_hash"] != body_hash:
        raise Conflict(
            f"event '{event_id}' was already received with a different body",
            field="id",
            code="event_id_reused",
        )
    result = msgspec.convert(row["result"], EventResult)
    return msgspec.structs.replace(result, replay=True)


async def ingest(services: Services, event_in: EventIn) -> EventResult:
    """Process one event exactly once and answer what it did (or what it did the first time)."""
    event, body_hash = _event_of(services, event_in)
    # The replay check is read with the member's state, under the member's lock: a separate
    # check before the lock would cost every new event a round trip to spare replays a wait.
    async with services.db.connection() as conn:
        for attempt in range(_DEADLOCK_RETRIES):
            try:
                async with conn.raw.transaction():
                    return await _ingest_locked(services, conn, event, body_hash)
            except Exception as exc:
                # Only a referral reward locks a second member (the referrer, after the
                # referee); a cycle of referrals can deadlock, and PostgreSQL aborts one side:
                # run it again.
                if not is_deadlock(exc) or attempt == _DEADLOCK_RETRIES - 1:
                    raise
    raise AssertionError("unreachable")


async def _ingest_locked(
    services: Services, conn: Connection, event: Event, body_hash: str
) -> EventResult:
    ruleset = services.rules.current
    now = services.clock.now()
    profile = await ledger_store.lock_member(conn, event.member_id)
    plan = plan_game_read(ruleset, event, now)
    state = await ledger_store.load_state(
        conn,
        event.member_id,
        cap_period_keys(ruleset, event.occurred_at),
        event_id=event.id,
        game=plan.read,
    )
    if state.event is not None:  # a replay, or a concurrent delivery that committed first
        return _replay(state.event, body_hash, event.id)
    assert state.game is not None
    game = game_state(ruleset, plan, state.game, now)
    budgeted = budgeted_rules(ruleset)
    spent = await progress_store.budget_spent(conn, budgeted) if budgeted else {}
    purchases = state.counters["purchase"].count if "purchase" in state.counters else 0
    game = await link_referral(conn, ruleset, event, purchases, game)
    snapshot = build_snapshot(
        ruleset, event.member_id, profile, state, spent, event.occurred_at, game
    )
    evaluation = evaluate(ruleset, snapshot, event, now)
    result, histogram = await book_event(conn, ruleset, event, state, evaluation, now)
    result = await settle_event(conn, ruleset, event, result, game, now)
    await event_store.insert_event(
        conn,
        member_id=event.member_id,
        event_id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        received_at=now,
        body_hash=body_hash,
        attributes=event.attributes,
        ruleset_version=ruleset.version,
        result=result,
    )
    await apply_histogram(conn, histogram)  # last: its rows are shared by many members
    return result


async def ingest_batch(
    services: Services, events: Sequence[EventIn], concurrency: int
) -> list[EventResult | DomainError]:
    """Process many events, each in its own transaction: one member's events in order,
    different members' concurrently. A refused event does not stop the others."""
    by_member: dict[str, list[int]] = defaultdict(list)
    for index, event_in in enumerate(events):
        by_member[event_in.member_id].append(index)
    outcomes: list[EventResult | DomainError | None] = [None] * len(events)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def run_member(indexes: list[int]) -> None:
        async with gate:
            for index in indexes:
                try:
                    outcomes[index] = await ingest(services, events[index])
                except DomainError as exc:
                    outcomes[index] = exc

    await asyncio.gather(*(run_member(indexes) for indexes in by_member.values()))
    return [outcome for outcome in outcomes if outcome is not None]
