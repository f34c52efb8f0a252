"""The overview: the program reports (the same use cases `/v1/admin/reports/...` answers with,
at their default windows) as charts, each with its figures in a table."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get

from service.api.requests import runtime_of
from service.views import program_reports as reports

from . import overview_charts as build
from .guard import signed_in
from .render import page

__all__ = ["ROUTES"]


async def _context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    runtime = runtime_of(request)
    # asyncio.gather is typed for at most six awaitables: two rounds
    liability, breakage, points, tiers, levels = await asyncio.gather(
        reports.liability(runtime),
        reports.breakage(runtime),
        reports.points(runtime),
        reports.tiers(runtime),
        reports.engagement_levels(runtime),
    )
    active, cohorts, top, experiments = await asyncio.gather(
        reports.active_members(runtime),
        reports.cohorts(runtime),
        reports.top_members(runtime),
        reports.experiment_summaries(runtime),
    )
    return {
        "as_of": runtime.clock.now(),
        "timezone": runtime.rules.current.program.timezone,
        "figures": build.now_figures(liability, breakage, active),
        "charts": [
            {
                "title": "Liability and breakage",
                "charts": build.liability_charts(liability, breakage),
            },
            {"title": "Points", "charts": build.points_charts(points)},
            {"title": "Members", "charts": build.member_charts(tiers, levels)},
            {
                "title": "Activity",
                "charts": [*build.activity_charts(active), build.cohort_chart(cohorts)],
            },
        ],
        "tables": [build.top_table(top), build.experiment_table(experiments)],
    }


@get("/dashboard", include_in_schema=False, operation_id="dashboardOverview")
async def overview(request: Request[Any, Any, Any]) -> Response[str]:
    """Liability, breakage, points, tiers, engagement, activity, cohorts, top members."""
    signed = await signed_in(request)
    context = {"title": "Overview", "current": "overview", "signed": signed}
    return page("overview.html", {**context, **await _context(request)})


ROUTES = [overview]
