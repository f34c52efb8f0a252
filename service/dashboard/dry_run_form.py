"""A dry run from the rules page: the form's event, evaluated under the active ruleset for a new
or a stored member, shown beside the form; nothing is written."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, post

from service.api.requests import intake_options_of, runtime_of
from service.errors import DomainError
from service.views.dry_run import DryRun, DryRunRequest, dry_run

from .guard import posted
from .rules_page import dry_run_defaults, render_rules

__all__ = ["ROUTES"]

_FIELDS = ("type", "member_id", "occurred_at", "attributes", "stored")


def _request(form: dict[str, str]) -> DryRunRequest:
    """The dry run the form asks for; InvalidInput-like errors as `ValueError` with a sentence."""
    try:
        attributes = msgspec.json.decode(form.get("attributes") or "{}")
    except msgspec.DecodeError:
        raise ValueError("the attributes are not a JSON object") from None
    if not isinstance(attributes, dict):
        raise ValueError("the attributes are not a JSON object")
    member_id = form.get("member_id", "").strip()
    body: dict[str, Any] = {
        "event": {
            "type": form.get("type", "").strip(),
            "member_id": member_id,
            "occurred_at": form.get("occurred_at", "").strip(),
            "attributes": attributes,
        }
    }
    if form.get("stored"):
        body["member_id"] = member_id
    try:
        return msgspec.convert(body, DryRunRequest)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None


async def _result(request: Request[Any, Any, Any], form: dict[str, str]) -> DryRun | str:
    try:
        return await dry_run(
            runtime_of(request), _request(form), intake_options=intake_options_of(request)
        )
    except ValueError as exc:
        return str(exc)
    except DomainError as refused:
        where = f" ({refused.field})" if refused.field else ""
        return f"{refused.detail}{where}"


@post(
    "/dashboard/rules/dry-run",
    include_in_schema=False,
    operation_id="dashboardDryRun",
    opt={"audited": False},  # writes nothing, as the API's dry run
)
async def try_event(request: Request[Any, Any, Any]) -> Response[str]:
    """Evaluate the form's event and show the rules page with the result."""
    signed, form = await posted(request)
    shown = {**dry_run_defaults(request), **{k: form.get(k, "") for k in _FIELDS}}
    outcome = await _result(request, form)
    return await render_rules(
        request,
        signed,
        form=shown,
        dry_run=outcome if isinstance(outcome, DryRun) else None,
        dry_run_error=outcome if isinstance(outcome, str) else None,
    )


ROUTES = [try_event]
