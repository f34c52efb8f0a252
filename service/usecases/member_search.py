"""Member search for servers: by id prefix, display-name prefix, one member attribute, tier,
engagement level or last activity, a page at a time in member-id order."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from service.core.engagement import engagement_bucket
from service.engine.events import InvalidEvent, validate_member_attributes
from service.errors import InvalidInput
from service.services import Services
from service.store import member_search as search_store
from service.store.member_search import SearchFilter

__all__ = ["Engagement", "MemberPage", "MemberQuery", "MemberSummary", "search_members"]

Engagement = Literal["highly_engaged", "moderately_engaged", "at_risk", "disengaged"]


class MemberQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The search as the route checked it (None: not filtered on)."""

    id_prefix: str | None = None
    name: str | None = None
    attribute: str | None = None
    value: str | None = None
    tier: str | None = None
    engagement: Engagement | None = None
    active_after: datetime | None = None
    active_before: datetime | None = None
    limit: int = 50
    cursor: str | None = None


class MemberSummary(msgspec.Struct, kw_only=True):
    """A member as a search lists it."""

    member_id: str
    display_name: str | None
    tier: str | None
    engagement: Engagement
    last_active_at: datetime | None
    events: int
    created_at: datetime


class MemberPage(msgspec.Struct, kw_only=True):
    """Members in member-id order (byte order); pass `next_cursor` as `cursor` for the next."""

    members: list[MemberSummary]
    next_cursor: str | None


def _attribute(services: Services, q: MemberQuery) -> tuple[str, Any] | None:
    if q.attribute is None and q.value is None:
        return None
    if q.attribute is None or q.value is None:
        missing = "attribute" if q.attribute is None else "value"
        raise InvalidInput(
            f"'attribute' and 'value' go together: {missing} is missing", field=missing
        )
    declared = services.rules.current.program.member_attributes
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
        checked = validate_member_attributes(services.rules.current, {q.attribute: value})
    except InvalidEvent as exc:
        field = "value" if spec is not None else "attribute"
        raise InvalidInput(f"{exc.field_path}: {exc.reason}", field=field) from None
    return q.attribute, checked[q.attribute]


def _engagement(f: SearchFilter, level: Engagement | None, now: datetime) -> SearchFilter:
    """The engagement buckets of `service.core.engagement` as activity bounds: `days` there
    is whole days since the last event, so "within 14 days" is "after now - 15 days"."""
    replace = msgspec.structs.replace
    if level is None:
        return f
    if level == "highly_engaged":
        return replace(f, active_since=now - timedelta(days=15), min_events=5)
    if level == "at_risk":
        return replace(
            f, active_since=now - timedelta(days=121), inactive_since=now - timedelta(days=46)
        )
    if level == "disengaged":
        return replace(f, inactive_since=now - timedelta(days=121), min_events=1)
    return f  # moderately_engaged: checked on each row (an "or" of two cases)


def _bounded(a: datetime | None, b: datetime | None, newest: bool) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b) if newest else min(a, b)


async def search_members(services: Services, q: MemberQuery) -> MemberPage:
    """A page of members matching every filter given, erased members never among them."""
    now = services.clock.now()
    tiers = services.rules.current.program.tiers
    if q.tier is not None and tiers is not None and tiers.level(q.tier) is None:
        known = ", ".join(lv.id for lv in tiers.levels)
        raise InvalidInput(f"no tier '{q.tier}' in the program (one of {known})", field="tier")
    f = SearchFilter(
        id_prefix=q.id_prefix,
        name_prefix=q.name,
        attribute=_attribute(services, q),
        tier=q.tier,
        after=q.cursor,
    )
    f = _engagement(f, q.engagement, now)
    f = msgspec.structs.replace(
        f,
        active_since=_bounded(f.active_since, q.active_after, newest=True),
        inactive_since=_bounded(f.inactive_since, q.active_before, newest=False),
    )
    out: list[MemberSummary] = []
    more = False
    async with services.db.connection() as conn:
        # moderately_engaged is an "or" checked on each row: read on until a page is full
        while True:
            rows = await search_store.search_members(conn, f, q.limit + 1)
            for row in rows:
                level = engagement_bucket(row["last_active_at"], int(row["events"]), now)
                if q.engagement is not None and level != q.engagement:
                    continue
                if len(out) == q.limit:
                    more = True
                    break
                out.append(_summary(row, level))
            if more or len(rows) <= q.limit:
                break
            f = msgspec.structs.replace(f, after=rows[-1]["member_id"])
    return MemberPage(members=out, next_cursor=out[-1].member_id if more else None)


def _summary(row: Any, level: str) -> MemberSummary:
    return MemberSummary(
        member_id=row["member_id"],
        display_name=row["display_name"],
        tier=row["tier"],
        engagement=level,  # type: ignore[arg-type]
        last_active_at=row["last_active_at"],
        events=int(row["events"]),
        created_at=row["created_at"],
    )
