"""The member pages: search by id or name, and one member's balances, ledger (with each entry's
explanation), tier, badges, challenges, streaks and engagement, read as the JSON API reads them."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import Parameter

from service.api.requests import runtime_of
from service.errors import DomainError, NotFound
from service.views.member_search import MemberQuery, MemberSummary, search_members
from service.views.member_view import ledger_page, member_view
from service.views.progress_view import badges_view, challenges_view

from .guard import signed_in
from .render import page

__all__ = ["ROUTES"]

SHOWN = 25
"""Members a search lists (by id prefix, then by name prefix)."""

LEDGER_PAGE = 50

Query = Annotated[str | None, Parameter(max_length=128)]
Cursor = Annotated[str | None, Parameter(max_length=32)]
MemberId = Annotated[str, Parameter(max_length=128)]


async def _search(request: Request[Any, Any, Any], q: str) -> list[MemberSummary]:
    runtime = runtime_of(request)
    by_id = await search_members(runtime, MemberQuery(id_prefix=q, limit=SHOWN))
    by_name = await search_members(runtime, MemberQuery(name=q, limit=SHOWN))
    found = {m.member_id: m for m in [*by_id.members, *by_name.members]}
    return sorted(found.values(), key=lambda m: m.member_id)[:SHOWN]


@get("/dashboard/members", include_in_schema=False, operation_id="dashboardMembers")
async def members_page(request: Request[Any, Any, Any], q: Query = None) -> Response[str]:
    """The search form, and the members whose id or display name starts with `q`."""
    signed = await signed_in(request)
    query = (q or "").strip()
    found: list[MemberSummary] | None = None
    error = None
    if query:
        try:
            found = await _search(request, query)
        except DomainError as refused:
            error = refused.detail
    context = {
        "title": "Members",
        "current": "members",
        "signed": signed,
        "q": query,
        "found": found,
        "error": error,
    }
    return page("members.html", context)


async def _member(
    request: Request[Any, Any, Any], member_id: str, cursor: str | None
) -> dict[str, Any]:
    runtime = runtime_of(request)
    return {
        "member": await member_view(runtime, member_id),
        "ledger": await ledger_page(runtime, member_id, LEDGER_PAGE, cursor),
        "challenges": await challenges_view(runtime, member_id),
        "badges": await badges_view(runtime, member_id),
    }


@get("/dashboard/members/{member_id:str}", include_in_schema=False, operation_id="dashboardMember")
async def member_page(
    request: Request[Any, Any, Any], member_id: MemberId, cursor: Cursor = None
) -> Response[str]:
    """One member as of now, with a page of their ledger (newest first)."""
    signed = await signed_in(request)
    context: dict[str, Any] = {"current": "members", "signed": signed, "member_id": member_id}
    try:
        shown = await _member(request, member_id, cursor)
    except NotFound as missing:
        return page(
            "member.html",
            {**context, "title": "No such member", "error": missing.detail},
            status_code=404,
        )
    except DomainError as refused:
        return page(
            "member.html", {**context, "title": "Member", "error": refused.detail}, status_code=400
        )
    title = shown["member"].display_name or member_id
    return page("member.html", {**context, **shown, "title": f"Member {title}", "error": None})


ROUTES = [members_page, member_page]
