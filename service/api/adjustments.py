"""Admin corrections of a member's points (scope `admin`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, post
from litestar.params import HeaderParameter, JSONBody

from service.api.requests import actor_of, created_or_replayed, runtime_of
from service.http.access import api_key
from service.operations.adjust import AdjustmentIn, AdjustmentResult, adjust_points

__all__ = ["ROUTES"]

OptionalIdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description="Optional: a retry with the same key and body answers the first result.",
    ),
]


@post(
    "/v1/admin/adjustments",
    operation_id="postAdjustment",
    opt=api_key("admin"),
    tags=["admin"],
    summary="Add or remove a member's points, with the reason why",
    status_code=201,
)
async def post_adjustment(
    request: Request[Any, Any, Any],
    data: JSONBody[AdjustmentIn],
    idempotency_key: OptionalIdempotencyKey = None,
) -> Response[AdjustmentResult]:
    """Scope `admin`. `points` > 0 adds a lot available now; < 0 removes points oldest first
    (422 `insufficient_points` beyond the available balance unless the program allows a negative
    balance). Entries record the API key's name as their actor. With an `Idempotency-Key`, the
    same key and body again answer 200 with the first result (`replay: true`); another body 409."""
    result = await adjust_points(runtime_of(request), data, actor_of(request), idempotency_key)
    return created_or_replayed(result)


ROUTES = [post_adjustment]
