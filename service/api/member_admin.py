"""Members for servers: search, one event with what it did, the game catalog with the member's
progress, and erasure (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, delete, get
from litestar.params import Parameter

from service.api.members import MemberId
from service.api.requests import actor_of, member_of, runtime_of
from service.http.access import api_key, member_or_key, member_token
from service.operations.erase import Erased, erase_member
from service.views.catalog import GameCatalog, game_catalog
from service.views.member_search import MemberPage, MemberQuery, search_members
from service.views.reads import StoredEvent, event_view

__all__ = ["ROUTES"]

_ID_CHARS = r"^[A-Za-z0-9._:@+\-]{1,128}(?!\n)$"


IdPrefix = Annotated[
    str | None, Parameter(pattern=_ID_CHARS, description="Member ids starting with this.")
]
NamePrefix = Annotated[
    str | None,
    Parameter(
        min_length=1,
        max_length=80,
        description="Display names starting with this (case-insensitive).",
    ),
]
AttributeName = Annotated[
    str | None,
    Parameter(min_length=1, max_length=64, description="A member attribute; give `value` too."),
]
AttributeValue = Annotated[
    str | None,
    Parameter(
        max_length=256,
        description="The attribute's value (as JSON for a non-string attribute: true, 3).",
    ),
]
TierId = Annotated[str | None, Parameter(min_length=1, max_length=64, description="A tier id.")]
EngagementLevel = Annotated[
    str | None,
    Parameter(
        description="An engagement level of the program (`member.engagement.level`), "
        "as last recorded by an event or the worker",
        max_length=64,
    ),
]
ActiveAfter = Annotated[
    datetime | None, Parameter(description="Had an event at or after this moment.")
]
ActiveBefore = Annotated[
    datetime | None,
    Parameter(description="Had no event at or after this moment (never active included)."),
]
PageLimit = Annotated[int, Parameter(ge=1, le=200, description="members per page (<= 200)")]
PageCursor = Annotated[
    str | None, Parameter(pattern=_ID_CHARS, description="next_cursor of the previous page")
]


@get(
    "/v1/members",
    operation_id="searchMembers",
    opt=api_key("members:read"),
    tags=["members"],
    summary="Search members: id prefix, name, attribute, tier, engagement, last active",
)
async def get_members(
    request: Request[Any, Any, Any],
    id_prefix: IdPrefix = None,
    name: NamePrefix = None,
    attribute: AttributeName = None,
    value: AttributeValue = None,
    tier: TierId = None,
    engagement: EngagementLevel = None,
    active_after: ActiveAfter = None,
    active_before: ActiveBefore = None,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> MemberPage:
    """Scope `members:read`. Every filter given must hold; members come in member-id order
    (byte order), a page at a time. Erased members are never found."""
    query = MemberQuery(
        id_prefix=id_prefix,
        name=name,
        attribute=attribute,
        value=value,
        tier=tier,
        engagement=engagement,
        active_after=active_after,
        active_before=active_before,
        limit=limit,
        cursor=cursor,
    )
    return await search_members(runtime_of(request), query)


EventId = Annotated[str, Parameter(min_length=1, max_length=128, description="The event's id.")]


@get(
    "/v1/members/{member_id:str}/events/{event_id:str}",
    operation_id="getMemberEvent",
    opt=member_or_key("members:read"),
    tags=["members"],
    summary="One of a member's events, with the answer it got (what it did)",
)
async def get_member_event(
    request: Request[Any, Any, Any], member_id: MemberId, event_id: EventId
) -> StoredEvent:
    """Scope `members:read`, or the member's own token."""
    return await event_view(runtime_of(request), member_id, event_id)


@get(
    "/v1/members/{member_id:str}/catalog",
    operation_id="getMemberCatalog",
    opt=member_or_key("members:read"),
    tags=["members"],
    summary="Every badge, running challenge and streak, with the member's progress",
)
async def get_member_catalog(request: Request[Any, Any, Any], member_id: MemberId) -> GameCatalog:
    """Scope `members:read`, or the member's own token. Badges not yet earned are listed
    too (`earned: false`), with the count toward each level."""
    return await game_catalog(runtime_of(request), member_id)


@get(
    "/v1/me/catalog",
    operation_id="getMyCatalog",
    opt=member_token(),
    tags=["me"],
    summary="Every badge, running challenge and streak, with the calling member's progress",
)
async def get_my_catalog(request: Request[Any, Any, Any]) -> GameCatalog:
    """Member token only."""
    return await game_catalog(runtime_of(request), member_of(request))


@delete(
    "/v1/members/{member_id:str}",
    operation_id="eraseMember",
    opt=api_key("admin"),
    tags=["admin"],
    summary="Erase a member who asked to be forgotten",
    status_code=200,
)
async def delete_member(request: Request[Any, Any, Any], member_id: MemberId) -> Erased:
    """Scope `admin`. Personal data (display name, birthday, attributes, time zone) is removed,
    the id is replaced by a pseudonym in every table that keeps history, the open points are
    forfeited by a ledger entry that says why, and leaderboards no longer show the member.
    409 `holds_open` while a hold is open. The ledger is kept: it is a financial record."""
    return await erase_member(runtime_of(request), member_id, actor_of(request))


ROUTES = [get_members, get_member_event, get_member_catalog, get_my_catalog, delete_member]
