"""Member routes for the game: challenges, badges and the referral code."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from service.api.members import MemberId
from service.api.requests import member_of, runtime_of
from service.http.access import member_or_key, member_token
from service.operations.referrals import ReferralView, referral_view
from service.views.progress_view import BadgesView, ChallengesView, badges_view, challenges_view

__all__ = ["ROUTES"]


@get(
    "/v1/members/{member_id:str}/challenges",
    operation_id="getMemberChallenges",
    opt=member_or_key("members:read"),
    tags=["members"],
    summary="A member's active challenges (progress, time left) and completed ones",
)
async def get_challenges(request: Request[Any, Any, Any], member_id: MemberId) -> ChallengesView:
    """Scope `members:read`, or the member's own token."""
    return await challenges_view(runtime_of(request), member_id)


@get(
    "/v1/me/challenges",
    operation_id="getMyChallenges",
    opt=member_token(),
    tags=["me"],
    summary="The calling member's challenges",
)
async def get_my_challenges(request: Request[Any, Any, Any]) -> ChallengesView:
    """Member token only."""
    return await challenges_view(runtime_of(request), member_of(request))


@get(
    "/v1/members/{member_id:str}/badges",
    operation_id="getMemberBadges",
    opt=member_or_key("members:read"),
    tags=["members"],
    summary="A member's badges, with dates and progress to the next level",
)
async def get_badges(request: Request[Any, Any, Any], member_id: MemberId) -> BadgesView:
    """Scope `members:read`, or the member's own token."""
    return await badges_view(runtime_of(request), member_id)


@get(
    "/v1/me/badges",
    operation_id="getMyBadges",
    opt=member_token(),
    tags=["me"],
    summary="The calling member's badges",
)
async def get_my_badges(request: Request[Any, Any, Any]) -> BadgesView:
    """Member token only."""
    return await badges_view(runtime_of(request), member_of(request))


@get(
    "/v1/members/{member_id:str}/referral",
    operation_id="getMemberReferral",
    opt=member_or_key("members:read"),
    tags=["members"],
    summary="A member's referral code (made on first ask) and their referrals",
)
async def get_referral(request: Request[Any, Any, Any], member_id: MemberId) -> ReferralView:
    """Scope `members:read`, or the member's own token. The code is created on first read."""
    return await referral_view(runtime_of(request), member_id)


@get(
    "/v1/me/referral",
    operation_id="getMyReferral",
    opt=member_token(),
    tags=["me"],
    summary="The calling member's referral",
)
async def get_my_referral(request: Request[Any, Any, Any]) -> ReferralView:
    """Member token only."""
    return await referral_view(runtime_of(request), member_of(request))


ROUTES = [
    get_challenges,
    get_my_challenges,
    get_badges,
    get_my_badges,
    get_referral,
    get_my_referral,
]
