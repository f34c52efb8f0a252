"""Webhook subscriptions for admins: create, list, read, update, pause, resume, delete an
endpoint, rotate its secret; list its deliveries and redeliver dead letters."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec

from service.core.webhooks import KINDS, new_secret
from service.errors import Conflict, NotFound, Unprocessable
from service.operations.webhook_targets import Network, TargetRefused, check_target
from service.runtime import Runtime
from service.store import webhooks as store
from service.store.webhooks import DeliveryStatus, EndpointStatus, StoredEndpoint

__all__ = [
    "DeliveryList",
    "DeliveryView",
    "EndpointChange",
    "EndpointCreated",
    "EndpointIn",
    "EndpointList",
    "EndpointView",
    "Kind",
    "Redelivered",
    "SecretRotated",
    "SecretRotation",
    "create_endpoint",
    "delete_endpoint",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "redeliver",
    "rotate_secret",
    "set_status",
    "update_endpoint",
]

Kind = Literal[
    "points.earned",
    "points.reversed",
    "points.expiring",
    "tier.changed",
    "badge.awarded",
    "challenge.completed",
    "challenge.progressed",
    "streak.milestone",
    "streak.at_risk",
    "reward.redeemed",
    "engagement.changed",
]
assert set(Kind.__args__) == set(KINDS)  # type: ignore[attr-defined]

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048, description="http(s) URL")]
Kinds = Annotated[list[Kind], msgspec.Meta(min_length=1, max_length=len(KINDS))]
Description = Annotated[str, msgspec.Meta(max_length=500)]
ExpiringDays = Annotated[
    int,
    msgspec.Meta(ge=1, le=90, description="`points.expiring` is sent this many days before"),
]
AtRiskHours = Annotated[
    int,
    msgspec.Meta(
        ge=1, le=23, description="`streak.at_risk` is sent this many hours before the day ends"
    ),
]
Status = DeliveryStatus


class EndpointIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new endpoint: where to send, which kinds, and the two timing choices."""

    url: Url
    kinds: Kinds
    description: Description = ""
    expiring_days: ExpiringDays = 7
    at_risk_hours: AtRiskHours = 4


class EndpointChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The fields to change; a field left out (or null) stays as it is."""

    url: Url | None = None
    kinds: Kinds | None = None
    description: Description | None = None
    expiring_days: ExpiringDays | None = None
    at_risk_hours: AtRiskHours | None = None


class EndpointView(msgspec.Struct, frozen=True, kw_only=True):
    """An endpoint as admins see it (never its secret)."""

    endpoint_id: str
    url: str
    description: str
    kinds: list[str]
    expiring_days: int
    at_risk_hours: int
    status: EndpointStatus
    disabled_reason: str | None
    """Why the service disabled it (it failed for longer than the retry period)."""
    failing_since: datetime | None
    previous_secret_until: datetime | None
    """Until then, messages carry a signature with the previous secret too."""
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointView, frozen=True, kw_only=True):
    """A new endpoint with its signing secret, shown this once."""

    secret: str


class EndpointList(msgspec.Struct, frozen=True):
    """Every endpoint, oldest first."""

    endpoints: list[EndpointView]


class SecretRotation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How long the old secret keeps signing beside the new one."""

    overlap_seconds: Annotated[int, msgspec.Meta(ge=0, le=30 * 86400)] = 86400


class SecretRotated(msgspec.Struct, frozen=True, kw_only=True):
    """The new secret (shown this once) and until when the old one still signs."""

    endpoint_id: str
    secret: str
    previous_secret_until: datetime


class DeliveryView(msgspec.Struct, frozen=True, kw_only=True):
    """One message to this endpoint: where it stands."""

    message_id: str
    seq: int
    kind: str
    member_id: str
    status: Status
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    """When it is tried next (pending only)."""
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None


class DeliveryList(msgspec.Struct, frozen=True, kw_only=True):
    """Deliveries, newest first; `next_before` pages on (pass it as `before`)."""

    deliveries: list[DeliveryView]
    next_before: int | None


class Redelivered(msgspec.Struct, frozen=True):
    """How many dead letters were put back in line."""

    redelivered: int


def _view(row: StoredEndpoint) -> EndpointView:
    return EndpointView(
        endpoint_id=row.endpoint_id,
        url=row.url,
        description=row.description,
        kinds=list(row.kinds),
        expiring_days=row.expiring_days,
        at_risk_hours=row.at_risk_hours,
        status=row.status,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        previous_secret_until=row.previous_secret_until,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _checked_url(url: str, allowed_networks: Sequence[Network]) -> None:
    try:
        await check_target(url, allowed_networks)
    except TargetRefused as exc:
        raise Unprocessable(str(exc), field="url", code="webhook_url_refused") from None


def _unique(kinds: list[Kind]) -> list[str]:
    return sorted(set(kinds), key=KINDS.index)


async def create_endpoint(
    runtime: Runtime, data: EndpointIn, *, allowed_networks: Sequence[Network]
) -> EndpointCreated:
    """Store an endpoint (its URL must resolve within `allowed_networks`, if any are set); its
    secret is generated and answered once."""
    await _checked_url(data.url, allowed_networks)
    now = runtime.clock.now()
    secret = new_secret(secrets.token_bytes(32))
    endpoint_id = f"we_{secrets.token_hex(8)}"
    row: dict[str, Any] = {
        "endpoint_id": endpoint_id,
        "url": data.url,
        "description": data.description,
        "kinds": _unique(data.kinds),
        "expiring_days": data.expiring_days,
        "at_risk_hours": data.at_risk_hours,
        "secret": secret,
        "created_at": now,
    }
    async with runtime.db.transaction() as conn:
        await store.insert_endpoint(conn, row)
        stored = await store.endpoint(conn, endpoint_id)
    view = _found(stored, endpoint_id)
    return EndpointCreated(**msgspec.structs.asdict(view), secret=secret)


async def list_endpoints(runtime: Runtime) -> EndpointList:
    """Every endpoint."""
    async with runtime.db.connection() as conn:
        return EndpointList([_view(r) for r in await store.endpoints(conn)])


def _found(row: StoredEndpoint | None, endpoint_id: str) -> EndpointView:
    if row is None:
        raise NotFound(f"no webhook endpoint {endpoint_id!r}", field="endpoint_id")
    return _view(row)


async def get_endpoint(runtime: Runtime, endpoint_id: str) -> EndpointView:
    """One endpoint; NotFound naming `endpoint_id`."""
    async with runtime.db.connection() as conn:
        return _found(await store.endpoint(conn, endpoint_id), endpoint_id)


async def update_endpoint(
    runtime: Runtime,
    endpoint_id: str,
    change: EndpointChange,
    *,
    allowed_networks: Sequence[Network],
) -> EndpointView:
    """Change the given fields (a new URL is checked as a new endpoint's is)."""
    changes: dict[str, Any] = {
        name: getattr(change, name)
        for name in change.__struct_fields__
        if getattr(change, name) is not None
    }
    if "url" in changes:
        await _checked_url(changes["url"], allowed_networks)
    if "kinds" in changes:
        changes["kinds"] = _unique(changes["kinds"])
    async with runtime.db.transaction() as conn:
        row = await store.update_endpoint(conn, endpoint_id, changes, runtime.clock.now())
    return _found(row, endpoint_id)


async def set_status(
    runtime: Runtime, endpoint_id: str, status: Literal["active", "paused"]
) -> EndpointView:
    """Pause (messages wait, still recorded) or resume (also re-enables a disabled one)."""
    async with runtime.db.transaction() as conn:
        row = await store.set_status(conn, endpoint_id, status, runtime.clock.now())
    return _found(row, endpoint_id)


async def delete_endpoint(runtime: Runtime, endpoint_id: str) -> None:
    """Delete an endpoint and what waits for it."""
    async with runtime.db.transaction() as conn:
        if not await store.delete_endpoint(conn, endpoint_id):
            raise NotFound(f"no webhook endpoint {endpoint_id!r}", field="endpoint_id")


async def rotate_secret(
    runtime: Runtime, endpoint_id: str, rotation: SecretRotation
) -> SecretRotated:
    """A new secret signs from now on; the old one too, for `overlap_seconds`."""
    now = runtime.clock.now()
    secret = new_secret(secrets.token_bytes(32))
    until = now + timedelta(seconds=rotation.overlap_seconds)
    async with runtime.db.transaction() as conn:
        row = await store.rotate_secret(conn, endpoint_id, secret, until, now)
    _found(row, endpoint_id)
    return SecretRotated(endpoint_id=endpoint_id, secret=secret, previous_secret_until=until)


async def list_deliveries(
    runtime: Runtime, endpoint_id: str, status: Status | None, before: int | None, limit: int
) -> DeliveryList:
    """An endpoint's deliveries, newest first."""
    async with runtime.db.connection() as conn:
        _found(await store.endpoint(conn, endpoint_id), endpoint_id)
        rows = await store.list_deliveries(conn, endpoint_id, status, before, limit + 1)
    views = [
        DeliveryView(
            message_id=r.message_id,
            seq=r.seq,
            kind=r.kind,
            member_id=r.member_id,
            status=r.status,
            attempts=r.attempts,
            created_at=r.created_at,
            next_attempt_at=r.next_attempt_at if r.status == "pending" else None,
            last_attempt_at=r.last_attempt_at,
            last_status_code=r.last_status_code,
            last_error=r.last_error,
            delivered_at=r.delivered_at,
        )
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return DeliveryList(deliveries=views, next_before=views[-1].seq if more and views else None)


async def redeliver(runtime: Runtime, endpoint_id: str, message_id: str | None) -> Redelivered:
    """Put one dead letter (`message_id`) or all of the endpoint's back in line; a message that
    is not a dead letter is a Conflict naming `message_id`."""
    async with runtime.db.transaction() as conn:
        _found(await store.endpoint(conn, endpoint_id), endpoint_id)
        count = await store.redeliver(conn, endpoint_id, message_id, runtime.clock.now())
        if message_id is not None and count == 0:
            status = await store.delivery_status(conn, endpoint_id, message_id)
            if status is None:
                raise NotFound(f"no delivery {message_id!r} to this endpoint", field="message_id")
            raise Conflict(
                f"delivery {message_id!r} is {status}, not a dead letter", field="message_id"
            )
    return Redelivered(count)
