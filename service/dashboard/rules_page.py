"""The rules page: the active version, the history of versions and activations, the diff of two
chosen versions, and the forms for a dry run and a backtest."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import Parameter

from service.api.requests import runtime_of
from service.errors import DomainError
from service.operations import rule_versions
from service.operations import rules as rule_usecases

from .guard import SignedIn, signed_in
from .render import page

__all__ = ["ROUTES", "render_rules"]

Version = Annotated[str | None, Parameter(max_length=64)]

_EXAMPLE_ATTRIBUTES = '{"order_id": "try-1", "amount": "120.00", "currency": "EUR"}'


def dry_run_defaults(request: Request[Any, Any, Any]) -> dict[str, str]:
    """What the dry-run form shows before anything was tried: a purchase, now."""
    now = runtime_of(request).clock.now().replace(microsecond=0)
    return {
        "type": "purchase",
        "member_id": "dry-run-member",
        "occurred_at": now.isoformat().replace("+00:00", "Z"),
        "attributes": _EXAMPLE_ATTRIBUTES,
        "stored": "",
    }


async def _diff(request: Request[Any, Any, Any], a: str | None, b: str | None) -> dict[str, Any]:
    if not a or not b:
        return {"diff": None, "diff_error": None}
    try:
        return {"diff": await rule_versions.diff(runtime_of(request).db, a, b), "diff_error": None}
    except DomainError as refused:
        return {"diff": None, "diff_error": refused.detail}


async def render_rules(
    request: Request[Any, Any, Any],
    signed: SignedIn,
    *,
    a: str | None = None,
    b: str | None = None,
    **extra: Any,
) -> Response[str]:
    """The rules page; `extra` carries a dry run's form and result when one was tried."""
    runtime = runtime_of(request)
    active = await rule_usecases.active(runtime)
    history = await rule_versions.versions(runtime.db, 50)
    context: dict[str, Any] = {
        "title": "Rules",
        "current": "rules",
        "signed": signed,
        "active": active,
        "history": history,
        "a": a or (history.versions[1].version if len(history.versions) > 1 else ""),
        "b": b or active.version,
        "event_types": sorted(runtime.rules.current.event_types),
        "form": dry_run_defaults(request),
        "dry_run": None,
        "dry_run_error": None,
        "backtest_error": None,
        **await _diff(request, a, b),
        **extra,
    }
    return page("rules.html", context)


@get("/dashboard/rules", include_in_schema=False, operation_id="dashboardRules")
async def rules_page(
    request: Request[Any, Any, Any], a: Version = None, b: Version = None
) -> Response[str]:
    """The active ruleset, its history, and the diff of versions `a` and `b` when both are given."""
    return await render_rules(request, await signed_in(request), a=a, b=b)


ROUTES = [rules_page]
