"""Member routes for servers (API keys) and for the member's own token."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post, put
from litestar.params import JSONBody, Parameter

from service.api.requests import member_of, member_tokens_of, runtime_of
from service.http.access import api_key, member_or_key, member_token
from service.operations import members
from service.operations.members import MEMBER_ID_PATTERN, MemberProfile, ProfileUpdate, TokenIssued
from service.views.member_view import LedgerPage, MemberView, ledger_page, member_view

__all__ = ["ROUTES", "MemberId"]

MemberId = Annotated[
    str,
    Parameter(
        pattern=MEMBER_ID_PATTERN,
        max_length=128,
        description="The caller-chosen member id (1-128 of letters, digits, . _ : @ + -).",
    ),
]


@get(
    "/v1/members/{member_id:str}",
    operation_id="getMember",
    opt=member_or_key("members:read"),
    tags=["members"],
    summary="A member's profile and summaries",
)
async def get_member(request: Request[Any, Any, Any], member_id: MemberId) -> MemberView:
    """Scope `members:read`, or the member's own token. Balances are as of now: points past
    their return window count as available even before the worker books it."""
    return await member_view(runtime_of(request), member_id)


@put(
    "/v1/members/{member_id:str}",
    operation_id="putMember",
    opt=api_key("members:write"),
    tags=["members"],
    summary="Create or update a member's profile",
)
async def put_member(
    request: Request[Any, Any, Any], member_id: MemberId, data: JSONBody[ProfileUpdate]
) -> MemberProfile:
    """Scope `members:write`. Omitted fields keep their value; attributes are merged."""
    return await members.put_profile(runtime_of(request), member_id, data)


@post(
    "/v1/members/{member_id:str}/tokens",
    operation_id="mintMemberToken",
    opt=api_key("members:token"),
    tags=["members"],
    summary="Mint a short-lived member token for the member's app",
    status_code=201,
)
async def mint_token(request: Request[Any, Any, Any], member_id: MemberId) -> TokenIssued:
    """Scope `members:token`. The token names one member and can read only that member."""
    return await members.issue_token(runtime_of(request), member_tokens_of(request), member_id)


@get(
    "/v1/me",
    operation_id="getMe",
    opt=member_token(),
    tags=["me"],
    summary="The calling member's profile",
)
async def get_me(request: Request[Any, Any, Any]) -> MemberView:
    """Member token only: the member the token names."""
    return await member_view(runtime_of(request), member_of(request))


CursorParam = Annotated[
    str | None, Parameter(max_length=32, description="next_cursor of the previous page")
]
LimitParam = Annotated[int, Parameter(ge=1, le=200, description="entries per page (<= 200)")]


@get(
    "/v1/members/{member_id:str}/ledger",
    operation_id="getMemberLedger",
    opt=member_or_key("members:read"),
    tags=["members"],
    summary="A member's ledger, newest first, each entry with its explanation",
)
async def get_ledger(
    request: Request[Any, Any, Any],
    member_id: MemberId,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> LedgerPage:
    """Scope `members:read`, or the member's own token. Cursor pagination."""
    return await ledger_page(runtime_of(request), member_id, limit, cursor)


@get(
    "/v1/me/ledger",
    operation_id="getMyLedger",
    opt=member_token(),
    tags=["me"],
    summary="The calling member's ledger",
)
async def get_my_ledger(
    request: Request[Any, Any, Any], limit: LimitParam = 50, cursor: CursorParam = None
) -> LedgerPage:
    """Member token only."""
    return await ledger_page(runtime_of(request), member_of(request), limit, cursor)


ROUTES = [get_member, put_member, mint_token, get_me, get_ledger, get_my_ledger]
