"""The program's reports for finance and program managers (scope `admin`): liability, breakage,
points, tiers, engagement levels, active members, cohorts, purchases, top members and
experiments. Each reads the daily rollups, never the ledger; days are the program's local days.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import Parameter

from service.api.requests import runtime_of
from service.http.access import api_key
from service.views import program_reports as reports
from service.views.program_reports import (
    ActiveMembers,
    Breakage,
    Cohorts,
    EngagementLevels,
    ExperimentSummaries,
    Liability,
    PointsReport,
    Purchases,
    TierReport,
    TopMembers,
)

__all__ = ["ROUTES"]

Since = Annotated[
    date | None,
    Parameter(description="First local day (default: 89 days before `until`)"),
]
Until = Annotated[date | None, Parameter(description="Last local day (default: today)")]
Months = Annotated[int, Parameter(ge=1, le=36, description="Months, this one included (1-36)")]
Weeks = Annotated[int, Parameter(ge=1, le=52, description="Cohort weeks, this one included")]
Limit = Annotated[int, Parameter(ge=1, le=100, description="Members (1-100)")]

_OPT = api_key("admin")
_TAGS = ["reports"]


@get(
    "/v1/admin/reports/liability",
    opt=_OPT,
    tags=_TAGS,
    summary="Points owed now, their value, and when they expire by month",
    operation_id="getLiabilityReport",
)
async def get_liability(request: Request[Any, Any, Any]) -> Liability:
    """Scope `admin`. Available, pending and held points now and their value in the program's
    currency (`points.value` in program.yaml), the open lots' points by expiry month, and the
    outstanding points at the end of each of the last 90 days."""
    return await reports.liability(runtime_of(request))


@get(
    "/v1/admin/reports/breakage",
    opt=_OPT,
    tags=_TAGS,
    summary="Points expired over points earned per month, and the expiry scheduled ahead",
    operation_id="getBreakageReport",
)
async def get_breakage(request: Request[Any, Any, Any], months: Months = 12) -> Breakage:
    """Scope `admin`. Per month of the last `months`: points earned, expired, and their ratio;
    and the points the open lots' expiry dates schedule for the `months` ahead."""
    return await reports.breakage(runtime_of(request), months)


@get(
    "/v1/admin/reports/points",
    opt=_OPT,
    tags=_TAGS,
    summary="Points earned, spent, expired and reversed per day; per rule and per reward",
    operation_id="getPointsReport",
)
async def get_points(
    request: Request[Any, Any, Any], since: Since = None, until: Until = None
) -> PointsReport:
    """Scope `admin`. Per day of the window (at most 731 days): points earned, spent, expired,
    reversed by refunds, adjusted, and redemptions; over the window, points per rule and per
    reward, most first."""
    return await reports.points(runtime_of(request), since, until)


@get(
    "/v1/admin/reports/tiers",
    opt=_OPT,
    tags=_TAGS,
    summary="Members per tier now, and the tier moves per month",
    operation_id="getTierReport",
)
async def get_tiers(request: Request[Any, Any, Any], months: Months = 12) -> TierReport:
    """Scope `admin`. Members per tier (the ladder's order) and the moves between tiers in each
    of the last `months` months."""
    return await reports.tiers(runtime_of(request), months)


@get(
    "/v1/admin/reports/engagement-levels",
    opt=_OPT,
    tags=_TAGS,
    summary="Members per engagement level per day, now, and the level moves per month",
    operation_id="getEngagementLevelReport",
)
async def get_engagement_levels(
    request: Request[Any, Any, Any], since: Since = None, until: Until = None
) -> EngagementLevels:
    """Scope `admin`. The engagement level distribution at the end of each day of the window,
    now, and the moves between levels per month."""
    return await reports.engagement_levels(runtime_of(request), since, until)


@get(
    "/v1/admin/reports/active-members",
    opt=_OPT,
    tags=_TAGS,
    summary="Active members per day, week and month (DAU, WAU, MAU)",
    operation_id="getActiveMemberReport",
)
async def get_active_members(
    request: Request[Any, Any, Any], since: Since = None, until: Until = None
) -> ActiveMembers:
    """Scope `admin`. Members with at least one accepted event per local day, ISO week and
    month of the window, the last day's DAU, WAU and MAU, and DAU/MAU."""
    return await reports.active_members(runtime_of(request), since, until)


@get(
    "/v1/admin/reports/cohorts",
    opt=_OPT,
    tags=_TAGS,
    summary="Weekly signup cohorts and their retention week by week",
    operation_id="getCohortReport",
)
async def get_cohorts(request: Request[Any, Any, Any], weeks: Weeks = 12) -> Cohorts:
    """Scope `admin`. For each of the last `weeks` weeks, the members first seen active that
    week, and how many of them were active in each week since."""
    return await reports.cohorts(runtime_of(request), weeks)


@get(
    "/v1/admin/reports/purchases",
    opt=_OPT,
    tags=_TAGS,
    summary="Purchases and their average value per day and month, purchases per member",
    operation_id="getPurchaseReport",
)
async def get_purchases(
    request: Request[Any, Any, Any], since: Since = None, until: Until = None
) -> Purchases:
    """Scope `admin`. Purchases and their amount per day of the window; per month, the average
    purchase value and purchases per active member (a lifetime-value proxy over time)."""
    return await reports.purchases(runtime_of(request), since, until)


@get(
    "/v1/admin/reports/top-members",
    opt=_OPT,
    tags=_TAGS,
    summary="The members holding the most available points",
    operation_id="getTopMemberReport",
)
async def get_top_members(request: Request[Any, Any, Any], limit: Limit = 10) -> TopMembers:
    """Scope `admin`. The `limit` members with the most available points (ties: member id)."""
    return await reports.top_members(runtime_of(request), limit)


@get(
    "/v1/admin/reports/experiments",
    opt=_OPT,
    tags=_TAGS,
    summary="Every experiment's exposures and points per arm",
    operation_id="getExperimentSummaryReport",
)
async def get_experiments(request: Request[Any, Any, Any]) -> ExperimentSummaries:
    """Scope `admin`. Per experiment and arm: exposures and the points given (in the holdout:
    withheld). The lift report of one experiment says what they did."""
    return await reports.experiment_summaries(runtime_of(request))


ROUTES = [
    get_liability,
    get_breakage,
    get_points,
    get_tiers,
    get_engagement_levels,
    get_active_members,
    get_cohorts,
    get_purchases,
    get_top_members,
    get_experiments,
]
