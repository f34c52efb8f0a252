"""The experiments pages: every experiment the active rules declare with its split, and one
experiment's lift report (each arm against the holdout, with 95% intervals)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import Parameter

from service.api.context import services_of
from service.errors import DomainError, NotFound
from service.usecases import experiments
from service.usecases.experiments import DEFAULT_WINDOW

from .guard import signed_in
from .render import page

__all__ = ["ROUTES"]

Window = Annotated[int, Parameter(ge=31, le=365)]


def _splits(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    ruleset = services_of(request).rules.current
    rules = {r.experiment.id: r.id for r in ruleset.rules if r.experiment is not None}
    return [
        {
            "id": experiment.id,
            "rule": rules.get(experiment.id, ""),
            "split": {arm: bp / 100 for arm, bp in experiment.split().items()},
        }
        for experiment in sorted(ruleset.experiments.values(), key=lambda e: e.id)
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
    request: Request[Any, Any, Any], experiment_id: str, window_days: Window = DEFAULT_WINDOW
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
        report = await experiments.report(services_of(request), experiment_id, window_days)
    except NotFound as missing:
        return page(
            "experiment.html", {**context, "report": None, "error": missing.detail}, status_code=404
        )
    except DomainError as refused:
        return page(
            "experiment.html", {**context, "report": None, "error": refused.detail}, status_code=400
        )
    return page("experiment.html", {**context, "report": report, "error": None})


ROUTES = [experiments_page, experiment_page]
