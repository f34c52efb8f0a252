"""The experiments pages: every experiment the active rules declare with its split, and one
experiment's lift report (each arm against the holdout, with 95% intervals)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import Parameter

from service.api.requests import runtime_of
from service.errors import DomainError, NotFound
from service.views import experiments
from service.views.experiments import DEFAULT_WINDOW, ExperimentReport

from .charts import Chart, Series
from .guard import signed_in
from .render import page

__all__ = ["ROUTES"]

Window = Annotated[int, Parameter(ge=31, le=365)]
ExperimentId = Annotated[str, Parameter(max_length=64)]


def _splits(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    ruleset = runtime_of(request).rules.current
    rules = {r.experiment.id: r.id for r in ruleset.rules if r.experiment is not None}
    return [
        {
            "id": experiment.id,
            "rule": rules.get(experiment.id, ""),
            "split": {arm: bp / 100 for arm, bp in experiment.split().items()},
        }
        for experiment in sorted(ruleset.experiments.values(), key=lambda e: e.id)
    ]


def _charts(report: ExperimentReport) -> list[Chart]:
    """Each arm's purchases and 30-day retention per member (the table under the charts gives
    every measure with its interval)."""
    arms = [a.arm for a in report.arms]
    return [
        Chart(
            id="arm-purchases",
            title="Purchases per member, by arm",
            kind="bar",
            label_heading="Arm",
            labels=arms,
            series=[Series("Purchases", [a.purchases_per_member.mean for a in report.arms])],
            digits=2,
        ),
        Chart(
            id="arm-retention",
            title="Active on day 30 or later, by arm",
            kind="bar",
            label_heading="Arm",
            labels=arms,
            series=[
                Series("Share", [round(a.retention_30_days.mean * 100, 2) for a in report.arms])
            ],
            unit="%",
            digits=2,
        ),
    ]


@get("/dashboard/experiments", include_in_schema=False, operation_id="dashboardExperiments")
async def experiments_page(request: Request[Any, Any, Any]) -> Response[str]:
    """Every experiment of the active rules, with its arms' shares."""
    signed = await signed_in(request)
    context = {
        "title": "Experiments",
        "current": "experiments",
        "signed": signed,
        "experiments": _splits(request),
    }
    return page("experiments.html", context)


@get(
    "/dashboard/experiments/{experiment_id:str}",
    include_in_schema=False,
    operation_id="dashboardExperiment",
)
async def experiment_page(
    request: Request[Any, Any, Any],
    experiment_id: ExperimentId,
    window_days: Window = DEFAULT_WINDOW,
) -> Response[str]:
    """One experiment's lift report over `window_days` after each member's first exposure."""
    signed = await signed_in(request)
    context: dict[str, Any] = {
        "current": "experiments",
        "signed": signed,
        "experiment_id": experiment_id,
        "window_days": window_days,
        "title": f"Experiment {experiment_id}",
    }
    try:
        report = await experiments.report(runtime_of(request), experiment_id, window_days)
    except NotFound as missing:
        return page(
            "experiment.html", {**context, "report": None, "error": missing.detail}, status_code=404
        )
    except DomainError as refused:
        return page(
            "experiment.html", {**context, "report": None, "error": refused.detail}, status_code=400
        )
    shown = {"report": report, "charts": _charts(report), "error": None}
    return page("experiment.html", {**context, **shown})


ROUTES = [experiments_page, experiment_page]
