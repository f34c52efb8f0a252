"""Backtest routes for program managers: start a backtest of a draft, poll it, read its report."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from service.api.requests import database_url_of, runtime_of
from service.http.access import api_key
from service.http.problems import Problem
from service.operations import backtest_jobs
from service.operations.backtest_jobs import BacktestJob, BacktestRequest

__all__ = ["ROUTES"]


@post(
    "/v1/admin/rules/backtests",
    operation_id="startBacktest",
    opt=api_key("admin"),
    tags=["rules"],
    summary="Start a backtest: the draft replayed over a stored period beside the booked rules",
    status_code=202,
    responses={
        422: ResponseSpec(
            data_container=Problem,
            generate_examples=False,
            media_type="application/problem+json",
            description="The draft `files` are refused exactly as publishing would refuse them "
            "(`errors` lists every problem as `file:line:col`)",
        ),
    },
)
async def start_backtest(
    request: Request[Any, Any, Any], data: JSONBody[BacktestRequest]
) -> Response[BacktestJob]:
    """Scope `admin`. The draft (every file of the rules folder) is checked as a publication
    is, then replayed over the operations decided in `[since, until)` (default: the last 30
    days), beside the versions that booked them; nothing is written. 202 with the job; poll
    `GET /v1/admin/rules/backtests/{backtest_id}` (on the replica that answered: see
    `Location`) for its progress and, once `done`, its report."""
    job = await backtest_jobs.start(
        runtime_of(request), data, database_url=database_url_of(request)
    )
    return Response(
        job, status_code=202, headers={"Location": f"/v1/admin/rules/backtests/{job.id}"}
    )


@get(
    "/v1/admin/rules/backtests/{backtest_id:str}",
    operation_id="getBacktest",
    opt=api_key("admin"),
    tags=["rules"],
    summary="A backtest: its progress, and its report once done",
)
async def get_backtest(backtest_id: str) -> BacktestJob:
    """Scope `admin`. `status` is `running` (with `progress`: events done of all, events/s,
    seconds left), `done` (with `report`) or `failed` (with `error`). 404 for a job this
    replica does not know (another replica's, or from before a restart)."""
    return backtest_jobs.job(backtest_id)


ROUTES = [start_backtest, get_backtest]
