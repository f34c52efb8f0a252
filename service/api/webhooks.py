"""Webhook subscriptions and their deliveries, for admins (scope `admin`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, patch, post
from litestar.params import JSONBody, Parameter

from service.api.requests import runtime_of, settings_of
from service.http.access import api_key
from service.operations import webhooks
from service.operations.webhooks import (
    DeliveryList,
    EndpointChange,
    EndpointCreated,
    EndpointIn,
    EndpointList,
    EndpointView,
    Redelivered,
    SecretRotated,
    SecretRotation,
    Status,
)

__all__ = ["ROUTES"]

_BASE = "/v1/admin/webhooks/endpoints"
_ONE = _BASE + "/{endpoint_id:str}"
_TAGS = ["webhooks"]
_ADMIN = api_key("admin")

EndpointId = Annotated[
    str, Parameter(max_length=64, pattern=r"^we_[0-9a-f]{16}\Z", description="An endpoint id")
]
MessageId = Annotated[
    str, Parameter(max_length=64, pattern=r"^msg_[0-9a-f]{26}\Z", description="A message id")
]
LimitParam = Annotated[int, Parameter(ge=1, le=500, description="deliveries listed (<= 500)")]
BeforeParam = Annotated[
    int | None,
    Parameter(
        ge=0,
        le=2**63 - 1,  # a seq is a bigint
        description="only deliveries older than this `seq` (the `next_before`)",
    ),
]
StatusParam = Annotated[Status | None, Parameter(description="only deliveries in this status")]


@post(
    _BASE,
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="createWebhookEndpoint",
    summary="Subscribe a URL to kinds of webhook; answers the signing secret once",
    status_code=201,
)
async def create_endpoint(
    request: Request[Any, Any, Any], data: JSONBody[EndpointIn]
) -> EndpointCreated:
    """Scope `admin`. The URL must be http(s) and resolve to public addresses only (422
    `webhook_url_refused` naming `url`, unless LOYALTY_WEBHOOK_ALLOW_NETWORKS allows its
    network). `secret` (`whsec_...`) signs every message and is not shown again."""
    return await webhooks.create_endpoint(
        runtime_of(request), data, allowed_networks=settings_of(request).allowed_networks
    )


@get(
    _BASE,
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="listWebhookEndpoints",
    summary="Every webhook endpoint, with its status (and why it was disabled)",
)
async def list_endpoints(request: Request[Any, Any, Any]) -> EndpointList:
    """Scope `admin`. Oldest first; secrets are never shown."""
    return await webhooks.list_endpoints(runtime_of(request))


@get(
    _ONE,
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="getWebhookEndpoint",
    summary="One webhook endpoint",
)
async def get_endpoint(request: Request[Any, Any, Any], endpoint_id: EndpointId) -> EndpointView:
    """Scope `admin`. 404 naming `endpoint_id` when there is none."""
    return await webhooks.get_endpoint(runtime_of(request), endpoint_id)


@patch(
    _ONE,
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="updateWebhookEndpoint",
    summary="Change an endpoint's URL, kinds, description or timing",
)
async def update_endpoint(
    request: Request[Any, Any, Any], endpoint_id: EndpointId, data: JSONBody[EndpointChange]
) -> EndpointView:
    """Scope `admin`. Fields left out stay; a new URL is checked as on creation. New kinds apply
    to changes committed from now on."""
    return await webhooks.update_endpoint(
        runtime_of(request),
        endpoint_id,
        data,
        allowed_networks=settings_of(request).allowed_networks,
    )


@delete(
    _ONE,
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="deleteWebhookEndpoint",
    summary="Delete an endpoint and every delivery waiting for it",
    status_code=204,
)
async def delete_endpoint(request: Request[Any, Any, Any], endpoint_id: EndpointId) -> None:
    """Scope `admin`. 404 naming `endpoint_id` when there is none."""
    await webhooks.delete_endpoint(runtime_of(request), endpoint_id)


@post(
    _ONE + "/pause",
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="pauseWebhookEndpoint",
    summary="Pause an endpoint: messages are kept for it but not sent",
    status_code=200,
)
async def pause_endpoint(request: Request[Any, Any, Any], endpoint_id: EndpointId) -> EndpointView:
    """Scope `admin`. Resume sends what waited, each member's in order."""
    return await webhooks.set_status(runtime_of(request), endpoint_id, "paused")


@post(
    _ONE + "/resume",
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="resumeWebhookEndpoint",
    summary="Resume a paused endpoint, or re-enable one the service disabled",
    status_code=200,
)
async def resume_endpoint(request: Request[Any, Any, Any], endpoint_id: EndpointId) -> EndpointView:
    """Scope `admin`. Clears `disabled_reason` and the failure clock; dead letters stay dead
    until redelivered."""
    return await webhooks.set_status(runtime_of(request), endpoint_id, "active")


@post(
    _ONE + "/secret",
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="rotateWebhookSecret",
    summary="Rotate the signing secret; the old one keeps signing for an overlap",
    status_code=200,
)
async def rotate_secret(
    request: Request[Any, Any, Any],
    endpoint_id: EndpointId,
    data: JSONBody[SecretRotation | None] = None,
) -> SecretRotated:
    """Scope `admin`. During `overlap_seconds` (default 86400) every message carries two
    signatures (`v1,<new> v1,<old>`), so the receiver can switch secrets at its own pace."""
    return await webhooks.rotate_secret(runtime_of(request), endpoint_id, data or SecretRotation())


@get(
    _ONE + "/deliveries",
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="listWebhookDeliveries",
    summary="An endpoint's deliveries: status, attempts, last answer and when",
)
async def list_deliveries(
    request: Request[Any, Any, Any],
    endpoint_id: EndpointId,
    status: StatusParam = None,
    before: BeforeParam = None,
    limit: LimitParam = 50,
) -> DeliveryList:
    """Scope `admin`. Newest first; `status=dead` lists the dead letters."""
    return await webhooks.list_deliveries(runtime_of(request), endpoint_id, status, before, limit)


@post(
    _ONE + "/deliveries/{message_id:str}/redeliver",
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="redeliverWebhookDelivery",
    summary="Send one dead letter again",
    status_code=200,
)
async def redeliver_one(
    request: Request[Any, Any, Any], endpoint_id: EndpointId, message_id: MessageId
) -> Redelivered:
    """Scope `admin`. It is tried at once and for another retry period, in its member's order;
    409 naming `message_id` when that delivery is not a dead letter."""
    return await webhooks.redeliver(runtime_of(request), endpoint_id, message_id)


@post(
    _ONE + "/dead-letters/redeliver",
    opt=_ADMIN,
    tags=_TAGS,
    operation_id="redeliverWebhookDeadLetters",
    summary="Send every dead letter of an endpoint again",
    status_code=200,
)
async def redeliver_all(request: Request[Any, Any, Any], endpoint_id: EndpointId) -> Redelivered:
    """Scope `admin`. How many were put back in line."""
    return await webhooks.redeliver(runtime_of(request), endpoint_id, None)


ROUTES = [
    create_endpoint,
    list_endpoints,
    get_endpoint,
    update_endpoint,
    delete_endpoint,
    pause_endpoint,
    resume_endpoint,
    rotate_secret,
    list_deliveries,
    redeliver_one,
    redeliver_all,
]
