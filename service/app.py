"""The litestar application: routes, access guard, problem documents, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import secrets
from collections.abc import AsyncIterator, Callable
from importlib.metadata import version
from typing import Any

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from service.active_ruleset import ActiveRuleset
from service.api import (
    adjustments,
    events,
    health,
    leaderboards,
    member_admin,
    members,
    progress,
    redemptions,
)
from service.api import backtests as backtest_routes
from service.api import experiments as experiment_routes
from service.api import keys as key_routes
from service.api import reports as report_routes
from service.api import rule_versions as rule_version_routes
from service.api import rules as rule_routes
from service.api import webhooks as webhook_routes
from service.auth import ApiKeys, MemberTokens
from service.core.clock import Clock, SystemClock
from service.dashboard import dashboard_router
from service.http.access import access_guard
from service.http.app_state import AppState
from service.http.audit import audit_before_send
from service.http.json_body import JsonBodyRequest
from service.http.logs import configure_logging
from service.http.metrics import Metrics
from service.http.middleware import ObservabilityMiddleware
from service.http.problems import EXCEPTION_HANDLERS, document_problems
from service.http.ratelimit import RateLimiter, RateLimitMiddleware
from service.operations.webhook_delivery import run_webhooks
from service.pipeline import intake
from service.pipeline.grouping import EventGroups
from service.pipeline.intake import IntakeOptions
from service.runtime import Runtime
from service.settings import Settings, load_settings
from service.store import secrets as secret_store
from service.store.database import Database
from service.worker import run_worker

__all__ = ["create_app", "create_app_from_env"]

API_VERSION = version("loyalty-service")


async def _token_secrets(settings: Settings, db: Database) -> list[str]:
    if settings.token_secrets:
        return [s.strip() for s in settings.token_secrets.split(",") if s.strip()]
    # Zero-setup default: one generated secret, stored in the database so replicas agree.
    for attempt in range(30):
        try:
            async with db.transaction() as conn:
                value = await secret_store.get_or_create_secret(
                    conn, "member_token_secret", secrets.token_urlsafe(48)
                )
            return [value]
        except Exception:
            if attempt == 29:
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Loyalty and gamification service",
        version=API_VERSION,
        description=(
            "Events in (purchases, refunds, reviews, referrals), points, tiers, challenges, "
            "badges, streaks and leaderboards out. Errors are RFC 9457 problem documents."
        ),
        security=[{"bearer": []}],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API key (lk_...) or a member token (JWT).",
                )
            }
        ),
        use_handler_docstrings=True,
    )


def _lifespan(
    settings: Settings,
    clock: Clock | None,
    publish_rules_dir: bool,
    metrics: Metrics,
    limiter: RateLimiter,
) -> Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]:
    """Start-up and shut-down: the pool, the active ruleset, the app's state (the use cases'
    runtime, credentials, group commit) and the background tasks, stopped in the reverse
    order."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        assert settings.database_url, "resolve the database before building the app"
        db = Database(
            settings.database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            timeout=settings.db_timeout_seconds,
        )
        await db.open()
        try:
            rules = ActiveRuleset(db)
            await rules.start(settings.rules_path if publish_rules_dir else None)
            state = await _app_state(settings, Runtime(db, clock or SystemClock(), rules), metrics)
            app.state.app = state
            groups = state.event_groups
            assert groups is not None
            limiter.start(db)
            stop = asyncio.Event()
            tasks = _background(state, stop)
            # What start-up built (modules, the compiled ruleset, the pool) lives as long as the
            # process: keep it out of the cyclic collector's scans (about 5 % of a busy worker).
            gc.freeze()
            yield
            stop.set()
            for task in tasks:
                await task
            await groups.close()
            await limiter.stop()
            await rules.stop()
        finally:
            await db.close()

    return lifespan


async def _app_state(settings: Settings, runtime: Runtime, metrics: Metrics) -> AppState:
    db = runtime.db
    options = IntakeOptions.of(settings, metrics)
    return AppState(
        settings=settings,
        runtime=runtime,
        api_keys=ApiKeys(db, settings.api_key_cache_seconds),
        member_tokens=MemberTokens(await _token_secrets(settings, db), settings.token_ttl_seconds),
        metrics=metrics,
        intake_options=options,
        event_groups=_event_groups(settings, runtime, options),
    )


def _event_groups(
    settings: Settings, runtime: Runtime, options: IntakeOptions
) -> EventGroups[Any, Any]:
    """Concurrent single events, grouped into sets decided together."""
    return EventGroups(
        functools.partial(intake.run_set, runtime, options),
        window=settings.group_window_ms / 1000,
        max_events=settings.group_max_events,
        leaders=settings.group_leaders,
        max_groups=max(settings.group_leaders, settings.db_pool_max // 2),
    )


def _background(state: AppState, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """The worker and the webhook deliveries, each when its interval is set; until `stop`."""
    settings, runtime = state.settings, state.runtime
    tasks = []
    if settings.worker_interval_seconds > 0:
        tasks.append(
            asyncio.create_task(
                run_worker(runtime, settings.worker_interval_seconds, stop), name="worker"
            )
        )
    if settings.webhook_interval_seconds > 0:
        deliveries = run_webhooks(
            runtime,
            settings.webhook_interval_seconds,
            stop,
            settings=settings,
            metrics=state.metrics,
        )
        tasks.append(asyncio.create_task(deliveries, name="webhooks"))
    return tasks


_API_ROUTES = (
    member_admin.ROUTES,
    members.ROUTES,
    events.ROUTES,
    rule_routes.ROUTES,
    rule_version_routes.ROUTES,
    backtest_routes.ROUTES,
    redemptions.ROUTES,
    adjustments.ROUTES,
    leaderboards.ROUTES,
    progress.ROUTES,
    webhook_routes.ROUTES,
    key_routes.ROUTES,
    experiment_routes.ROUTES,
    report_routes.ROUTES,
)


def create_app(
    settings: Settings, *, clock: Clock | None = None, publish_rules_dir: bool = True
) -> Litestar:
    """Build the app for `settings`; `settings.database_url` must be resolved already.

    With no active ruleset in the database, the rules folder is published at start."""
    metrics = Metrics()
    limiter = RateLimiter.from_settings(settings)
    api_routes = [route for routes in _API_ROUTES for route in routes]
    document_problems(api_routes)
    api = Router(path="/", route_handlers=api_routes, guards=[access_guard])
    app = Litestar(
        route_handlers=[*health.ROUTES, api, dashboard_router()],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[_lifespan(settings, clock, publish_rules_dir, metrics, limiter)],
        openapi_config=_openapi(),
        request_max_body_size=settings.max_body_bytes,
        request_class=JsonBodyRequest,
        before_send=[audit_before_send],
        debug=False,
        logging_config=None,
    )
    app.state.rate_limiter = limiter
    app.asgi_handler = ObservabilityMiddleware(
        RateLimitMiddleware(app.asgi_handler, limiter), metrics
    )
    return app


def create_app_from_env() -> Litestar:
    """Factory for the ASGI server: settings from the environment (the CLI resolved the DB)."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
