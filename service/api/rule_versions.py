"""Rule version routes for program managers: list the stored versions with their activations,
read one version's files, diff two versions, roll back to one."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from service.api.requests import actor_of, runtime_of
from service.http.access import api_key
from service.http.problems import Problem
from service.operations import rule_versions
from service.operations.rule_versions import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    VERSION_PATTERN,
    RulesetDiff,
    RuleVersions,
    RuleVersionView,
)
from service.operations.rules import PublishedRuleset

__all__ = ["ROUTES"]

_NAMES = "The full version (64 hex digits) or a prefix of at least 8 that only it starts with."

VersionParam = Annotated[
    str, Parameter(pattern=VERSION_PATTERN, max_length=64, description=f"A version. {_NAMES}")
]
FromParam = Annotated[
    str, Parameter(pattern=VERSION_PATTERN, max_length=64, description=f"The old version. {_NAMES}")
]
ToParam = Annotated[
    str, Parameter(pattern=VERSION_PATTERN, max_length=64, description=f"The new version. {_NAMES}")
]
LimitParam = Annotated[
    int,
    Parameter(ge=1, le=MAX_LIMIT, description=f"versions and activations listed (<= {MAX_LIMIT})"),
]

_AMBIGUOUS = ResponseSpec(
    data_container=Problem,
    generate_examples=False,
    media_type="application/problem+json",
    description="The prefix is the start of more than one version (`code` "
    "`ambiguous_version`, naming the field): give more digits",
)


@get(
    "/v1/admin/rules/versions",
    operation_id="listRuleVersions",
    opt=api_key("admin"),
    tags=["rules"],
    summary="Every stored ruleset version, newest first, and the history of activations",
)
async def list_versions(
    request: Request[Any, Any, Any], limit: LimitParam = DEFAULT_LIMIT
) -> RuleVersions:
    """Scope `admin`. Each version with who first published it and when, its files and number
    of rules, whether it is active now, and how often and when last it was activated; then the
    activations (publications, rollbacks, the first start), latest first, with who made each.
    At most `limit` of each; `more` says whether there are older ones."""
    return await rule_versions.versions(runtime_of(request).db, limit)


@get(
    "/v1/admin/rules/versions/{version:str}",
    operation_id="getRuleVersion",
    opt=api_key("admin"),
    tags=["rules"],
    summary="One stored ruleset version with the text of its files",
    responses={409: _AMBIGUOUS},
)
async def get_version(request: Request[Any, Any, Any], version: VersionParam) -> RuleVersionView:
    """Scope `admin`. The files exactly as they were published, by name; 404 naming `version`
    when no stored version starts with it."""
    return await rule_versions.version_view(runtime_of(request).db, version)


@get(
    "/v1/admin/rules/versions/{a:str}/diff/{b:str}",
    operation_id="diffRuleVersions",
    opt=api_key("admin"),
    tags=["rules"],
    summary="How ruleset version b differs from version a: files, then rules",
    responses={409: _AMBIGUOUS},
)
async def diff_versions(request: Request[Any, Any, Any], a: FromParam, b: ToParam) -> RulesetDiff:
    """Scope `admin`. Every file of either version as `added`, `removed`, `changed` or `same`,
    with a unified diff (`a/earn.yaml` -> `b/earn.yaml`) for each that differs; and the rule ids
    added, removed and changed (null when today's loader refuses either version)."""
    return await rule_versions.diff(runtime_of(request).db, a, b)


@post(
    "/v1/admin/rules/versions/{version:str}/rollback",
    operation_id="rollBackRules",
    opt=api_key("admin"),
    tags=["rules"],
    summary="Roll back: publish a stored version's files again, on every replica",
    status_code=201,
    responses={
        200: ResponseSpec(
            data_container=PublishedRuleset,
            generate_examples=False,
            description="That version is already the active one; nothing changed",
        ),
        409: _AMBIGUOUS,
        422: ResponseSpec(
            data_container=Problem,
            generate_examples=False,
            media_type="application/problem+json",
            description="Refused: its files no longer load (`errors` lists every problem as "
            "`file:line:col`); the active version stays",
        ),
    },
)
async def roll_back(
    request: Request[Any, Any, Any], version: VersionParam
) -> Response[PublishedRuleset]:
    """Scope `admin`. The version's files are published again exactly as `POST /v1/admin/rules`
    publishes files: checked by today's loader, activated on this replica at once and on every
    other within seconds, and kept in the history of activations with the key that did it.
    201: it is active now. 200: it was already the active version (a no-op). 422: its files no
    longer load; `errors` lists every problem and the active version stays."""
    by = actor_of(request)  # an admin key's name
    published = await rule_versions.roll_back(runtime_of(request), version, f"api:{by}")
    return Response(published, status_code=201 if published.changed else 200)


ROUTES = [list_versions, get_version, diff_versions, roll_back]
