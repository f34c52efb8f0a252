"""Member search for servers: by id prefix, display-name prefix, one member attribute, tier,
engagement level or last activity, a page at a time in member-id order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from service.engine.events import InvalidEvent, validate_member_attributes
from service.errors import InvalidInput
from service.runtime import Runtime
from service.store import member_search as search_store
from service.store.member_search import FoundMember, SearchFilter

__all__ = ["MemberPage", "MemberQuery", "MemberSummary", "search_members"]


class MemberQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The search as the route checked it (None: not filtered on)."""

    id_prefix: str | None = None
    name: str | None = None
    attribute: str | None = None
    value: str | None = None
    tier: str | None = None
    engagement: str | None = None
    """One of the program's engagement levels (`program.yaml`), as last recorded."""
    active_after: datetime | None = None
    active_before: datetime | None = None
    limit: int = 50
    cursor: str | None = None


class MemberSummary(msgspec.Struct, kw_only=True):
    """A member as a search lists it."""

    member_id: str
    display_name: str | None
    tier: str | None
    engagement: str
    """The engagement level as last recorded, by an event or the worker's pass (the member's
    own read computes it as of now)."""
    last_active_at: datetime | None
    events: int
    created_at: datetime


class MemberPage(msgspec.Struct, kw_only=True):
    """Members in member-id order (byte order); pass `next_cursor` as `cursor` for the next."""

    members: list[MemberSummary]
    next_cursor: str | None


def _attribute(runtime: Runtime, q: MemberQuery) -> tuple[str, Any] | None:
    if q.attribute is None and q.value is None:
        return None
    if q.attribute is None or q.value is None:
        missing = "attribute" if q.attribute is None else "value"
        raise InvalidInput(
            f"'attribute' and 'value' go together: {missing} is missing", field=missing
        )
    declared = runtime.rules.current.program.member_attributes
    spec = declared.get(q.attribute)
    value: Any = q.value
    if spec is not None and not spec.type.startswith("string"):
        try:
            value = msgspec.json.decode(q.value)
        except msgspec.DecodeError:
            raise InvalidInput(
                f"'{q.value}' is not a {spec.type} (attribute {q.attribute})", field="value"
            ) from None
    try:
        checked = validate_member_attributes(runtime.rules.current, {q.attribute: value})
    except InvalidEvent as exc:
        field = "value" if spec is not None else "attribute"
        raise InvalidInput(f"{exc.field_path}: {exc.reason}", field=field) from None
    return q.attribute, checked[q.attribute]


async def search_members(runtime: Runtime, q: MemberQuery) -> MemberPage:
    """A page of members matching every filter given, erased members never among them."""
    program = runtime.rules.current.program
    tiers = program.tiers
    if q.tier is not None and tiers is not None and tiers.level(q.tier) is None:
        known = ", ".join(lv.id for lv in tiers.levels)
        raise InvalidInput(f"no tier '{q.tier}' in the program (one of {known})", field="tier")
    levels = [lv.id for lv in program.engagement.levels]
    if q.engagement is not None and q.engagement not in levels:
        known = ", ".join(levels)
        raise InvalidInput(
            f"no engagement level '{q.engagement}' in the program (one of {known})",
            field="engagement",
        )
    f = SearchFilter(
        id_prefix=q.id_prefix,
        name_prefix=q.name,
        attribute=_attribute(runtime, q),
        tier=q.tier,
        active_since=q.active_after,
        inactive_since=q.active_before,
        engagement=q.engagement,
        lowest_level=levels[0],
        after=q.cursor,
    )
    async with runtime.db.connection() as conn:
        rows = await search_store.search_members(conn, f, q.limit + 1)
    out = [_summary(row, row.engagement or levels[0]) for row in rows[: q.limit]]
    more = len(rows) > q.limit
    return MemberPage(members=out, next_cursor=out[-1].member_id if more else None)


def _summary(row: FoundMember, level: str) -> MemberSummary:
    return MemberSummary(
        member_id=row.member_id,
        display_name=row.display_name,
        tier=row.tier,
        engagement=level,
        last_active_at=row.last_active_at,
        events=row.events,
        created_at=row.created_at,
    )
