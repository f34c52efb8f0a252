"""Rule management routes for program managers: show, publish, and dry-run (a draft too)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from service.api.requests import actor_of, intake_options_of, runtime_of
from service.http.access import api_key
from service.http.problems import Problem
from service.operations import rules
from service.operations.rules import ActiveRulesetView, PublishedRuleset, PublishRequest
from service.views import dry_run
from service.views.dry_run import DryRun, DryRunRequest

__all__ = ["ROUTES"]


@get(
    "/v1/admin/rules",
    operation_id="getRules",
    opt=api_key("admin"),
    tags=["rules"],
    summary="The active ruleset: version, program, files and rules",
)
async def get_rules(request: Request[Any, Any, Any]) -> ActiveRulesetView:
    """Scope `admin`. Rules are listed in firing order, with the file and line of each."""
    return await rules.active(runtime_of(request))


@post(
    "/v1/admin/rules",
    operation_id="publishRules",
    opt=api_key("admin"),
    tags=["rules"],
    summary="Publish a ruleset: checked, stored and activated on every replica",
    status_code=201,
    responses={
        200: ResponseSpec(
            data_container=PublishedRuleset,
            generate_examples=False,
            description="These files are already the active version; nothing changed",
        ),
        422: ResponseSpec(
            data_container=Problem,
            generate_examples=False,
            media_type="application/problem+json",
            description="Refused: `errors` lists every problem as `file:line:col`; "
            "the previous version stays active",
        ),
    },
)
async def publish_rules(
    request: Request[Any, Any, Any], data: JSONBody[PublishRequest]
) -> Response[PublishedRuleset]:
    """Scope `admin`. Send every file of the rules folder (at most 50 files, 1 MB in all).

    201: the new version is active; this replica uses it at once and every other replica within
    seconds. 200: the files are the version already active (a no-op). 422: the ruleset is refused,
    `errors` lists every problem as `file:line:col` and the previous version stays active."""
    by = actor_of(request)  # an admin key's name
    published = await rules.publish(runtime_of(request), dict(data.files), f"api:{by}")
    return Response(published, status_code=201 if published.changed else 200)


@post(
    "/v1/admin/rules/dry-run",
    operation_id="dryRunRules",
    opt={**api_key("admin"), "audited": False},  # it writes nothing, not even the audit log
    tags=["rules"],
    summary="Evaluate one event under the active ruleset or a draft, without writing anything",
    status_code=200,
    responses={
        422: ResponseSpec(
            data_container=Problem,
            generate_examples=False,
            media_type="application/problem+json",
            description="The event does not fit the program (naming the field), or the draft "
            "`files` are refused exactly as publishing would refuse them (`errors` lists every "
            "problem as `file:line:col`)",
        ),
    },
)
async def dry_run_rules(request: Request[Any, Any, Any], data: JSONBody[DryRunRequest]) -> DryRun:
    """Scope `admin`. Returns which ruleset was used (`ruleset`: `active` or `draft`, and its
    version), the effects (points, badges, challenge progress, streaks, ...), the rules that
    fired and every rule skipped with its reason (`wrong_type`, `condition_false`,
    `cap_reached`, ...).

    The ruleset is the draft `files` (every file of the rules folder, as publishing takes them;
    checked like a publication and never stored), else the active one. The member is `member`
    (made up), else the stored member `member_id` as stored now, else a new member."""
    return await dry_run.dry_run(
        runtime_of(request), data, intake_options=intake_options_of(request)
    )


ROUTES = [get_rules, publish_rules, dry_run_rules]
