"""Operator routes: liveness, readiness (the database answers, a ruleset is active) and
Prometheus metrics."""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from litestar import Request, Response, get

from service.active_ruleset import NoActiveRuleset
from service.api.requests import metrics_of, runtime_of
from service.store import webhooks as webhook_store
from service.store.database import DatabaseUnavailable

__all__ = ["ROUTES"]

PROMETHEUS_TEXT = "text/plain; version=0.0.4"
"""The Prometheus text exposition format (litestar adds the charset)."""


class Health(msgspec.Struct, omit_defaults=True):
    """A health answer."""

    status: str
    database: str | None = None
    reason: str | None = None
    """Why the service is not ready, when it is not."""


@get(
    "/health/live",
    operation_id="getLive",
    tags=["operations"],
    summary="The process is up",
    sync_to_thread=False,
)
def live() -> Health:
    """Answers 200 while the process runs."""
    return Health(status="ok")


@get(
    "/health/ready",
    operation_id="getReady",
    tags=["operations"],
    summary="The service can serve: the database answers and a ruleset is active",
    responses={},
)
async def ready(request: Request[Any, Any, Any]) -> Response[Health]:
    """200 when the database answers within the timeout and a ruleset is active, else 503
    with the `reason`."""
    runtime = runtime_of(request)
    if not await runtime.db.ping():
        reason = "the database does not answer"
        return Response(Health("unavailable", "unreachable", reason), status_code=503)
    try:
        _ = runtime.rules.current
    except NoActiveRuleset as exc:
        return Response(Health("unavailable", "ok", str(exc)), status_code=503)
    return Response(Health(status="ok", database="ok"))


@get(
    "/metrics",
    operation_id="getMetrics",
    tags=["operations"],
    summary="Prometheus metrics",
    media_type=PROMETHEUS_TEXT,
)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Request counts and latency histograms by route and status; database pool gauges;
    webhook attempts, and the delivery queue (waiting, dead letters, lag) as stored."""
    runtime = runtime_of(request)
    gauges = metrics_of(request)
    gauges.set_pool(*runtime.db.pool_stats())
    with contextlib.suppress(DatabaseUnavailable):
        async with runtime.db.connection() as conn:
            stats = await webhook_store.delivery_stats(conn, runtime.clock.now())
        gauges.set_webhook_queue(stats.queued, stats.dead, stats.lag)
    return Response(gauges.exposition(), media_type=PROMETHEUS_TEXT)


ROUTES = [live, ready, metrics]
