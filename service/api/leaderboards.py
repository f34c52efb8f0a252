"""Leaderboard routes: a board's top, a member's standing, and the calling member's standing."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import Parameter

from service.api.members import MemberId
from service.api.requests import member_of, runtime_of
from service.auth import MemberPrincipal
from service.http.access import key_or_any_member, member_or_key, member_token, principal_of
from service.views import boards
from service.views.boards import BoardPage, Standing
from service.views.catalog import Boards
from service.views.catalog import boards as boards_of

__all__ = ["ROUTES"]

BoardId = Annotated[
    str, Parameter(max_length=64, description="The board's id, as declared in program.yaml.")
]
PeriodParam = Annotated[
    str,
    Parameter(
        max_length=16,
        description=(
            "`current` (the period holding now, in the program's time zone) or a period key: "
            "`2026-03-02` (day), `2026-W10` (ISO week), `2026-03` (month), `all` (all-time)."
        ),
    ),
]
SegmentParam = Annotated[
    str | None,
    Parameter(
        max_length=128,
        description="The segment value (e.g. a region) of a board declared per segment.",
    ),
]
TopLimit = Annotated[int, Parameter(ge=1, le=100, description="entries (<= 100)")]


def _viewer(request: Request[Any, Any, Any]) -> str | None:
    principal = principal_of(request)
    return principal.member_id if isinstance(principal, MemberPrincipal) else None


@get(
    "/v1/leaderboards",
    operation_id="listBoards",
    opt=key_or_any_member("members:read"),
    tags=["leaderboards"],
    summary="The program's leaderboards and their current periods",
    sync_to_thread=False,
)
def list_boards(request: Request[Any, Any, Any]) -> Boards:
    """Scope `members:read`, or any member's token."""
    return boards_of(runtime_of(request))


@get(
    "/v1/leaderboards/{board:str}",
    operation_id="getBoard",
    opt=key_or_any_member("members:read"),
    tags=["leaderboards"],
    summary="The top of a leaderboard",
)
async def get_board(
    request: Request[Any, Any, Any],
    board: BoardId,
    period: PeriodParam = "current",
    segment: SegmentParam = None,
    limit: TopLimit = 10,
) -> BoardPage:
    """Scope `members:read`, or any member token. Hidden members show as `Anonymous member`
    to everyone but themselves."""
    return await boards.top(
        runtime_of(request),
        board,
        period=period,
        segment=segment,
        limit=limit,
        viewer=_viewer(request),
    )


@get(
    "/v1/leaderboards/{board:str}/members/{member_id:str}",
    operation_id="getMemberStanding",
    opt=member_or_key("members:read"),
    tags=["leaderboards"],
    summary="A member's rank, score, neighbours and gap to the next rank",
)
async def get_member_standing(
    request: Request[Any, Any, Any],
    board: BoardId,
    member_id: MemberId,
    period: PeriodParam = "current",
    segment: SegmentParam = None,
) -> Standing:
    """Scope `members:read`, or the member's own token. On a board per segment, the member's
    own segment unless `segment` names another."""
    return await boards.standing(
        runtime_of(request),
        board,
        member_id,
        period=period,
        segment=segment,
        viewer=_viewer(request),
    )


@get(
    "/v1/me/leaderboards/{board:str}",
    operation_id="getMyStanding",
    opt=member_token(),
    tags=["me"],
    summary="The calling member's rank on a leaderboard",
)
async def get_my_standing(
    request: Request[Any, Any, Any],
    board: BoardId,
    period: PeriodParam = "current",
    segment: SegmentParam = None,
) -> Standing:
    """Member token only."""
    me = member_of(request)
    return await boards.standing(
        runtime_of(request), board, me, period=period, segment=segment, viewer=me
    )


ROUTES = [list_boards, get_board, get_member_standing, get_my_standing]
