"""Experiment routes for program managers: a member's arm, and the lift report. A member never
sees their arm: these need the `admin` scope."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import Parameter

from service.api.members import MemberId
from service.api.requests import runtime_of
from service.http.access import api_key
from service.views import experiments
from service.views.experiments import DEFAULT_WINDOW, ExperimentReport, MemberArm

__all__ = ["ROUTES"]

ExperimentParam = Annotated[
    str,
    Parameter(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}(?!\n)$",
        max_length=64,
        description="The experiment id a rule declares",
    ),
]
WindowParam = Annotated[
    int,
    Parameter(ge=31, le=365, description="Days after each member's first exposure (31-365)"),
]


@get(
    "/v1/admin/experiments/{experiment_id:str}/report",
    opt=api_key("admin"),
    tags=["experiments"],
    summary="The lift of an experiment: each arm against the holdout, with 95% intervals",
    operation_id="getExperimentReport",
)
async def get_report(
    request: Request[Any, Any, Any],
    experiment_id: ExperimentParam,
    window_days: WindowParam = DEFAULT_WINDOW,
) -> ExperimentReport:
    """Scope `admin`. Per arm: members exposed and measured (whose window has passed), and over
    `window_days` after each member's first exposure their purchases, purchase amount and events
    per member, the share active on day 30 or later, and the points the experiment's rule gave;
    each variant's difference to the holdout with a 95% confidence interval (Welch's t), and one
    plain sentence per significant difference."""
    return await experiments.report(runtime_of(request), experiment_id, window_days)


@get(
    "/v1/admin/experiments/{experiment_id:str}/members/{member_id:str}",
    opt=api_key("admin"),
    tags=["experiments"],
    summary="The arm a member is in (admins only; members never see it)",
    operation_id="getExperimentArm",
)
async def get_arm(
    request: Request[Any, Any, Any], experiment_id: ExperimentParam, member_id: MemberId
) -> MemberArm:
    """Scope `admin`. The arm the stated hash gives the member, and when they were first
    exposed (null: not yet)."""
    return await experiments.member_arm(runtime_of(request), experiment_id, member_id)


ROUTES = [get_report, get_arm]
