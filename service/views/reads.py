"""Single reads: one event with what it did, one redemption by its id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from service.decide.answers import EventResult
from service.errors import Forbidden, NotFound
from service.runtime import Runtime
from service.store import reads as read_store
from service.store import redemptions as redemption_store
from service.views.redemption_view import Redemption, member_of, redemption_of

__all__ = ["StoredEvent", "event_view", "redemption_view"]


class StoredEvent(msgspec.Struct, kw_only=True):
    """An accepted event as stored, with the answer it got (points, effects, balances after)."""

    event_id: str
    member_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    attributes: dict[str, Any]
    ruleset_version: str | None
    result: EventResult


async def event_view(runtime: Runtime, member_id: str, event_id: str) -> StoredEvent:
    """The member's event and its stored answer; NotFound when there is none."""
    async with runtime.db.connection() as conn:
        row = await read_store.fetch_event(conn, member_id, event_id)
    if row is None:
        raise NotFound(f"member '{member_id}' has no event '{event_id}'", field="event_id")
    fields = msgspec.structs.asdict(row)
    fields["result"] = msgspec.convert(row.result, EventResult, strict=False)
    return StoredEvent(**fields)


async def redemption_view(
    runtime: Runtime, redemption_id: str, member: str | None = None
) -> Redemption:
    """One redemption; with `member` (a member token's), only one of that member's."""
    try:
        member_id = member_of(redemption_id)
    except NotFound:
        if member is not None:
            raise Forbidden(
                "a member token can only reach its own member", code="other_member"
            ) from None
        raise
    if member is not None and member_id != member:
        raise Forbidden("a member token can only reach its own member", code="other_member")
    async with runtime.db.connection() as conn:
        row = await redemption_store.fetch(conn, member_id, redemption_id)
    if row is None:
        raise NotFound(
            f"no redemption '{redemption_id}'", field="redemption_id", code="unknown_redemption"
        )
    return redemption_of(row)
