"""Rewards and redemptions: the catalog, redeeming points, settling holds, listing redemptions."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import HeaderParameter, JSONBody, Parameter

from service.api.members import MemberId
from service.api.requests import actor_of, created_or_replayed, member_of, runtime_of
from service.auth import MemberPrincipal
from service.http.access import (
    any_credential,
    api_key,
    key_or_any_member,
    member_or_key,
    member_token,
    principal_of,
)
from service.operations import holds, redeem
from service.operations.redeem import RedeemIn
from service.views import reads, rewards
from service.views.redemption_view import Redemption, RedemptionPage, RedemptionResult
from service.views.rewards import Catalog

__all__ = ["ROUTES", "IdempotencyKey"]

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=True,
        description="Required: the caller's id for this request (1-128 characters); a retry "
        "with the same key and body answers the first result, never spending twice.",
    ),
]
"""Checked by the use case, so that a missing or bad key is a 400 naming `Idempotency-Key`."""
RedemptionId = Annotated[
    str, Parameter(max_length=200, description="A redemption id (rd_<hex>.<member>)")
]
CursorParam = Annotated[
    str | None, Parameter(max_length=200, description="next_cursor of the previous page")
]
LimitParam = Annotated[int, Parameter(ge=1, le=100, description="redemptions per page (<= 100)")]


@get(
    "/v1/rewards",
    operation_id="listRewards",
    opt=any_credential(),
    tags=["rewards"],
    summary="The reward catalog: cost, stock left, per-member limit",
)
async def get_rewards(request: Request[Any, Any, Any]) -> Catalog:
    """Any valid API key (whatever its scopes) or any member token."""
    return await rewards.catalog(runtime_of(request))


@post(
    "/v1/members/{member_id:str}/redemptions",
    operation_id="redeem",
    opt=member_or_key("redemptions:write"),
    tags=["redemptions"],
    summary="Redeem points on a reward or at checkout, at once or as a hold",
    status_code=201,
)
async def post_redemption(
    request: Request[Any, Any, Any],
    member_id: MemberId,
    data: JSONBody[RedeemIn],
    idempotency_key: IdempotencyKey = None,
) -> Response[RedemptionResult]:
    """Scope `redemptions:write`, or the member's own token. Send exactly one of `reward_id` or
    `points`; `hold: true` reserves the points until commit, cancel or the program's hold
    timeout. 201: redeemed (oldest points first). 200: the same Idempotency-Key and body again
    (`replay: true`). 409: the key was used with another body, or the reward is out of stock.
    422: unknown reward (`unknown_reward`), not enough points (`insufficient_points`) or the
    per-member limit reached (`per_member_limit_reached`)."""
    result = await redeem.redeem(
        runtime_of(request), member_id, idempotency_key, data, actor_of(request)
    )
    return created_or_replayed(result)


@post(
    "/v1/redemptions/{redemption_id:str}/commit",
    operation_id="commitRedemption",
    opt=api_key("redemptions:write"),
    tags=["redemptions"],
    summary="Commit a hold: spend the points it reserved",
    status_code=200,
)
async def commit_redemption(
    request: Request[Any, Any, Any], redemption_id: RedemptionId
) -> RedemptionResult:
    """Scope `redemptions:write`. A committed redemption is answered again (`replay: true`);
    409 `hold_expired` after the hold timeout (its points are back), `redemption_cancelled`."""
    return await holds.commit(runtime_of(request), redemption_id, actor_of(request))


@post(
    "/v1/redemptions/{redemption_id:str}/cancel",
    operation_id="cancelRedemption",
    opt=api_key("redemptions:write"),
    tags=["redemptions"],
    summary="Cancel a hold: its points, stock and coupon code go back",
    status_code=200,
)
async def cancel_redemption(
    request: Request[Any, Any, Any], redemption_id: RedemptionId
) -> RedemptionResult:
    """Scope `redemptions:write`. A cancelled or expired hold is answered again
    (`replay: true`); 409 `redemption_committed` for a committed redemption."""
    return await holds.cancel(runtime_of(request), redemption_id, actor_of(request))


@get(
    "/v1/members/{member_id:str}/redemptions",
    operation_id="listMemberRedemptions",
    opt=member_or_key("members:read"),
    tags=["redemptions"],
    summary="A member's redemptions, newest first",
)
async def get_redemptions(
    request: Request[Any, Any, Any],
    member_id: MemberId,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> RedemptionPage:
    """Scope `members:read`, or the member's own token. Cursor pagination."""
    return await rewards.list_redemptions(runtime_of(request), member_id, limit, cursor)


@get(
    "/v1/me/redemptions",
    operation_id="listMyRedemptions",
    opt=member_token(),
    tags=["me"],
    summary="The calling member's redemptions, newest first",
)
async def get_my_redemptions(
    request: Request[Any, Any, Any], limit: LimitParam = 50, cursor: CursorParam = None
) -> RedemptionPage:
    """Member token only."""
    return await rewards.list_redemptions(runtime_of(request), member_of(request), limit, cursor)


@get(
    "/v1/redemptions/{redemption_id:str}",
    operation_id="getRedemption",
    opt=key_or_any_member("members:read"),
    tags=["redemptions"],
    summary="One redemption by its id",
)
async def get_redemption(
    request: Request[Any, Any, Any], redemption_id: RedemptionId
) -> Redemption:
    """Scope `members:read`, or the token of the member it belongs to (another member's
    token: 403)."""
    principal = principal_of(request)
    member = principal.member_id if isinstance(principal, MemberPrincipal) else None
    return await reads.redemption_view(runtime_of(request), redemption_id, member)


ROUTES = [
    get_redemption,
    get_rewards,
    post_redemption,
    commit_redemption,
    cancel_redemption,
    get_redemptions,
    get_my_redemptions,
]
