"""A backtest started from the rules page: a stored version replayed over the last days beside
the versions that booked them; its page shows the progress (polled) and then the report."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Redirect

from service.api.requests import database_url_of, runtime_of
from service.errors import DomainError, NotFound
from service.operations import backtest_jobs, rule_versions
from service.operations.backtest_jobs import BacktestJob, BacktestRequest

from .guard import posted, signed_in
from .render import page
from .rules_page import render_rules

__all__ = ["ROUTES"]

JobId = Annotated[str, Parameter(max_length=64)]


def _whole(text: str, default: int | None, low: int, high: int, name: str) -> int | None:
    if not text.strip():
        return default
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{name} must be a whole number from {low:,} to {high:,}")
    return int(text)


async def _start(request: Request[Any, Any, Any], form: dict[str, str]) -> BacktestJob:
    runtime = runtime_of(request)
    days = _whole(form.get("days", ""), 30, 1, 366, "days") or 30
    members = _whole(form.get("members", ""), None, 1, 10_000_000, "members")
    version = form.get("version", "").strip() or runtime.rules.current.version
    draft = await rule_versions.version_view(runtime.db, version)
    until = runtime.clock.now()
    return await backtest_jobs.start(
        runtime,
        BacktestRequest(
            files=draft.files, since=until - timedelta(days=days), until=until, members=members
        ),
        database_url=database_url_of(request),
    )


@post("/dashboard/rules/backtests", include_in_schema=False, operation_id="dashboardBacktest")
async def start_backtest(request: Request[Any, Any, Any]) -> Response[Any]:
    """Start the backtest the form describes and go to its page."""
    signed, form = await posted(request)
    try:
        job = await _start(request, form)
    except (ValueError, DomainError) as refused:
        detail = refused.detail if isinstance(refused, DomainError) else str(refused)
        return await render_rules(request, signed, backtest_error=f"Not started: {detail}")
    return Redirect(f"/dashboard/rules/backtests/{job.id}", status_code=303)


@get(
    "/dashboard/rules/backtests/{backtest_id:str}",
    include_in_schema=False,
    operation_id="dashboardBacktestPage",
)
async def backtest_page(request: Request[Any, Any, Any], backtest_id: JobId) -> Response[str]:
    """The backtest's progress while it runs (the page polls it), then its report."""
    signed = await signed_in(request)
    context: dict[str, Any] = {"title": "Backtest", "current": "rules", "signed": signed}
    try:
        job = backtest_jobs.job(backtest_id)
    except NotFound as missing:
        return page(
            "backtest.html", {**context, "job": None, "error": missing.detail}, status_code=404
        )
    return page("backtest.html", {**context, "job": job, "error": None})


class ProgressShown(msgspec.Struct, kw_only=True):
    """What the page's script polls: the status and how far the replay is."""

    status: str
    events_done: int
    events_total: int
    seconds_left: float | None


@get(
    "/dashboard/rules/backtests/{backtest_id:str}/progress",
    include_in_schema=False,
    operation_id="dashboardBacktestProgress",
)
async def backtest_progress(request: Request[Any, Any, Any], backtest_id: JobId) -> Response[bytes]:
    """The job's progress as JSON, for the page's script (cookie-signed like every page)."""
    await signed_in(request)
    job = backtest_jobs.job(backtest_id)
    shown = ProgressShown(
        status=job.status,
        events_done=job.progress.events_done,
        events_total=job.progress.events_total,
        seconds_left=job.progress.seconds_left,
    )
    return Response(
        msgspec.json.encode(shown),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [start_backtest, backtest_page, backtest_progress]
